package dev.keel.identity;

import dev.keel.identity.internal.FastEcdsaVerifier;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.PublicKey;
import java.security.Signature;
import java.security.interfaces.ECPublicKey;
import java.util.Objects;
import org.bouncycastle.crypto.params.ECPublicKeyParameters;

/**
 * Verifies signatures under one public key, fast: ECDSA through BouncyCastle's low-level verifier
 * (the JDK 17 EC provider is about ten times slower), RSA through the JDK. Build one per key and
 * reuse it; the curve point is decoded and validated once.
 *
 * <p>Immutable and thread-safe.
 */
public final class SignatureVerifier {

    private final PublicKey key;
    private final KeyType keyType;
    private final ECPublicKeyParameters ecKey;

    private SignatureVerifier(PublicKey key) {
        this.key = key;
        this.keyType = KeyType.of(key);
        this.ecKey = key instanceof ECPublicKey ? FastEcdsaVerifier.toParameters((ECPublicKey) key) : null;
    }

    /**
     * A verifier for {@code key}.
     *
     * @throws WeakKeyException if the key is not one Keel accepts
     */
    public static SignatureVerifier of(PublicKey key) {
        return new SignatureVerifier(Objects.requireNonNull(key, "key"));
    }

    public PublicKey publicKey() {
        return key;
    }

    public KeyType keyType() {
        return keyType;
    }

    /** Verifies a signature in X.509's form (DER for ECDSA); false for any mismatch or malformed input. */
    public boolean verify(SignatureAlgorithm algorithm, byte[] data, byte[] signature) {
        return verify(algorithm, data, signature, false);
    }

    /** Verifies a signature in JWS's form (r || s for ECDSA); false for any mismatch or malformed input. */
    public boolean verifyJws(SignatureAlgorithm algorithm, byte[] data, byte[] signature) {
        return verify(algorithm, data, signature, true);
    }

    private boolean verify(SignatureAlgorithm algorithm, byte[] data, byte[] signature, boolean p1363) {
        Objects.requireNonNull(algorithm, "algorithm");
        if (!algorithm.fits(keyType)) {
            return false;
        }
        try {
            if (ecKey != null) {
                byte[] digest = MessageDigest.getInstance(algorithm.digestName()).digest(data);
                return p1363 ? FastEcdsaVerifier.verifyP1363(ecKey, digest, signature)
                        : FastEcdsaVerifier.verifyDer(ecKey, digest, signature);
            }
            Signature verifier = Signature.getInstance(algorithm.jcaName());
            verifier.initVerify(key);
            verifier.update(data);
            return verifier.verify(signature);
        } catch (GeneralSecurityException | RuntimeException e) {
            return false;
        }
    }
}
