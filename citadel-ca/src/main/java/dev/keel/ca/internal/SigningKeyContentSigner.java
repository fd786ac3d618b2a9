package dev.keel.ca.internal;

import dev.keel.identity.SignatureAlgorithm;
import dev.keel.identity.SigningException;
import dev.keel.identity.SigningKey;
import java.io.ByteArrayOutputStream;
import java.io.OutputStream;
import org.bouncycastle.asn1.ASN1ObjectIdentifier;
import org.bouncycastle.asn1.DERNull;
import org.bouncycastle.asn1.x509.AlgorithmIdentifier;
import org.bouncycastle.operator.ContentSigner;

/**
 * Lets BouncyCastle's certificate builders sign through a {@link SigningKey} handle, so the CA key
 * can live in an HSM or Vault. One instance per signature (it buffers the TBS bytes); not thread-safe.
 */
public final class SigningKeyContentSigner implements ContentSigner {

    private final SigningKey key;
    private final SignatureAlgorithm algorithm;
    private final AlgorithmIdentifier identifier;
    private final ByteArrayOutputStream buffer = new ByteArrayOutputStream(1024);
    private SigningException failure;

    public SigningKeyContentSigner(SigningKey key, SignatureAlgorithm algorithm) {
        this.key = key;
        this.algorithm = algorithm;
        this.identifier = algorithmIdentifier(algorithm);
    }

    /** RFC 5758: ECDSA identifiers have absent parameters; RFC 4055: RSA PKCS#1 ones carry NULL. */
    public static AlgorithmIdentifier algorithmIdentifier(SignatureAlgorithm algorithm) {
        ASN1ObjectIdentifier oid = new ASN1ObjectIdentifier(algorithm.oid());
        return switch (algorithm.family()) {
            case EC -> new AlgorithmIdentifier(oid);
            case RSA -> new AlgorithmIdentifier(oid, DERNull.INSTANCE);
        };
    }

    @Override
    public AlgorithmIdentifier getAlgorithmIdentifier() {
        return identifier;
    }

    @Override
    public OutputStream getOutputStream() {
        return buffer;
    }

    /** BouncyCastle's interface cannot throw checked exceptions; the failure is kept for {@link #signOrThrow}. */
    @Override
    public byte[] getSignature() {
        try {
            return key.sign(algorithm, buffer.toByteArray());
        } catch (SigningException e) {
            failure = e;
            return new byte[0];
        }
    }

    /** Rethrows a failure from the last {@link #getSignature()}, if any. */
    public void throwIfFailed() throws SigningException {
        if (failure != null) {
            throw failure;
        }
    }
}
