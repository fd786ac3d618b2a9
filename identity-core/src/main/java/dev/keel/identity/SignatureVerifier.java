package dev.keel.identity;

import dev.keel.identity.internal.FastEcdsaVerifier;
import java.security.GeneralSecurityException;
import java.security.PublicKey;
import java.security.Signature;
import java.security.interfaces.ECPublicKey;
import java.util.Objects;

/**
 * Verifies signatures under one public key, fast: ECDSA through BoringSSL when its native library
 * loads, else BouncyCastle's low-level verifier (the JDK 17 EC provider is six to fifteen times
 * slower), RSA through the JDK. Build one per key and reuse it; the key is decoded and its curve
 * point validated once.
 *
 * <p>Immutable and thread-safe.
 */
public final class SignatureVerifier {

    private final PublicKey key;
    private final KeyType keyType;
    private final FastEcdsaVerifier ecdsa;

    private SignatureVerifier(PublicKey key) {
        this.key = key;
        this.keyType = KeyType.of(key);
        this.ecdsa = key instanceof ECPublicKey ? FastEcdsaVerifier.forKey((ECPublicKey) key) : null;
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
        // RFC 7518 section 3.4: ES256 is P-256 with SHA-256, ES384 is P-384 with SHA-384, nothing else.
        if (algorithm.family() == KeyType.Family.EC && keyType.defaultSignatureAlgorithm() != algorithm) {
            return false;
        }
        return verify(algorithm, data, signature, true);
    }

    private boolean verify(SignatureAlgorithm algorithm, byte[] data, byte[] signature, boolean p1363) {
        Objects.requireNonNull(algorithm, "algorithm");
        if (!algorithm.fits(keyType)) {
            return false;
        }
        try {
            if (ecdsa != null) {
                return p1363 ? ecdsa.verifyP1363(algorithm.jcaName(), algorithm.digestName(), data, signature)
                        : ecdsa.verifyDer(algorithm.jcaName(), algorithm.digestName(), data, signature);
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
