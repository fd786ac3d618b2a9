package dev.keel.benchmarks;

import dev.keel.identity.KeyType;
import dev.keel.identity.SignatureAlgorithm;
import dev.keel.identity.SigningException;
import dev.keel.identity.SigningKey;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.KeyPair;
import java.security.PrivateKey;
import java.security.Provider;
import java.security.PublicKey;
import java.security.Signature;
import java.security.spec.PKCS8EncodedKeySpec;
import java.security.spec.X509EncodedKeySpec;
import org.conscrypt.Conscrypt;

/**
 * A prototype {@link SigningKey} that signs ECDSA with BoringSSL through Conscrypt's JCA provider,
 * to measure what native signing would give the CA. One {@link Signature} per thread, initialized
 * once (a {@code Signature} resets to its initialized state after {@code sign()}). Thread-safe.
 * Not production code: it lives in the benchmarks only.
 */
final class ConscryptSigningKey implements SigningKey {

    static final Provider PROVIDER = Conscrypt.newProvider();

    private final String id;
    private final PublicKey publicKey;
    private final ThreadLocal<Signature> signers;

    ConscryptSigningKey(String id, KeyPair pair) {
        this.id = id;
        this.publicKey = pair.getPublic();
        if (KeyType.of(publicKey).family() != KeyType.Family.EC) {
            throw new IllegalArgumentException("key: " + KeyType.of(publicKey) + " (expected: EC)");
        }
        PrivateKey nativeKey = toNative(pair.getPrivate());
        String jcaName = KeyType.of(publicKey).defaultSignatureAlgorithm().jcaName();
        this.signers = ThreadLocal.withInitial(() -> {
            try {
                Signature signature = Signature.getInstance(jcaName, PROVIDER);
                signature.initSign(nativeKey);
                return signature;
            } catch (GeneralSecurityException e) {
                throw new IllegalStateException(e);
            }
        });
    }

    static PrivateKey toNative(PrivateKey key) {
        try {
            return KeyFactory.getInstance("EC", PROVIDER).generatePrivate(new PKCS8EncodedKeySpec(key.getEncoded()));
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException(e);
        }
    }

    static PublicKey toNative(PublicKey key) {
        try {
            return KeyFactory.getInstance("EC", PROVIDER).generatePublic(new X509EncodedKeySpec(key.getEncoded()));
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException(e);
        }
    }

    @Override
    public String id() {
        return id;
    }

    @Override
    public PublicKey publicKey() {
        return publicKey;
    }

    @Override
    public byte[] sign(SignatureAlgorithm algorithm, byte[] data) throws SigningException {
        if (algorithm != KeyType.of(publicKey).defaultSignatureAlgorithm()) {
            throw new IllegalArgumentException("algorithm: " + algorithm);
        }
        try {
            Signature signature = signers.get();
            signature.update(data);
            return signature.sign();
        } catch (GeneralSecurityException e) {
            throw new SigningException("key " + id + ": signing failed: " + e.getMessage(), false, e);
        }
    }
}
