package dev.keel.identity;

import java.security.GeneralSecurityException;
import java.security.PublicKey;
import java.security.Signature;
import java.util.Objects;

/** Checks that apply to every {@link SigningKey} backend. */
public final class SigningKeys {

    private static final byte[] PROBE = "keel signing-key probe".getBytes(java.nio.charset.StandardCharsets.US_ASCII);

    private SigningKeys() {
    }

    /**
     * The argument checks every {@link SigningKey#sign} makes first, so all backends refuse the same
     * calls with the same messages.
     *
     * @throws NullPointerException if {@code algorithm} or {@code data} is null
     * @throws IllegalArgumentException if {@code algorithm} does not fit a key of {@code keyType}
     */
    public static void checkSignArguments(KeyType keyType, SignatureAlgorithm algorithm, byte[] data) {
        Objects.requireNonNull(algorithm, "algorithm");
        Objects.requireNonNull(data, "data");
        if (!algorithm.fits(keyType)) {
            throw new IllegalArgumentException("algorithm: " + algorithm + " (expected: one for a " + keyType + " key)");
        }
    }

    /**
     * Signs a probe through {@code key} and verifies it under {@code expected}. The CA runs this
     * once when it loads a key next to its certificate, so a misconfigured HSM slot or Vault key is
     * found at start, not after thousands of unverifiable certificates.
     */
    public static boolean matches(SigningKey key, PublicKey expected) {
        Objects.requireNonNull(key, "key");
        Objects.requireNonNull(expected, "expected");
        SignatureAlgorithm algorithm = key.keyType().defaultSignatureAlgorithm();
        try {
            KeyType expectedType = KeyType.of(expected);
            if (expectedType.family() != key.keyType().family()) {
                return false;
            }
            byte[] signature = key.sign(algorithm, PROBE);
            Signature verifier = Signature.getInstance(algorithm.jcaName());
            verifier.initVerify(expected);
            verifier.update(PROBE);
            return verifier.verify(signature);
        } catch (GeneralSecurityException | SigningException | IllegalArgumentException e) {
            return false;
        }
    }
}
