package dev.keel.identity;

import java.security.PublicKey;

/**
 * A key custody handle: it signs, it never hands out key bytes. The file backend, a PKCS#11 HSM
 * and Vault Transit all implement this, so the CA has no special cases for where its key lives.
 *
 * <p>Implementations must be safe for concurrent use by many issuing threads. A backend that cannot
 * reach its key throws {@link SigningException} marked unavailable; it never falls back to another key.
 */
public interface SigningKey {

    /** A stable, non-secret identifier of the key (e.g. {@code file:ca-key.pem}, a PKCS#11 URI). */
    String id();

    /** The public half, used to check issued certificates and to publish in bundles. */
    PublicKey publicKey();

    /** The key's type; derived from {@link #publicKey()}. */
    default KeyType keyType() {
        return KeyType.of(publicKey());
    }

    /**
     * Signs {@code data} (the whole message, not a digest) and returns the signature in the form
     * X.509 uses: DER {@code ECDSA-Sig-Value} for ECDSA, the raw signature for RSA.
     *
     * @throws SigningException if the backend fails; {@link SigningException#unavailable()} tells a
     *     transient outage (refuse with UNAVAILABLE) from a permanent error
     * @throws IllegalArgumentException if {@code algorithm} does not fit this key
     */
    byte[] sign(SignatureAlgorithm algorithm, byte[] data) throws SigningException;
}
