package dev.keel.ca;

import dev.keel.identity.SpiffeId;
import java.security.PublicKey;
import java.time.Duration;
import java.util.Objects;

/**
 * The parameters of one X.509-SVID issuance, after the caller has been authenticated and
 * authorized for {@code spiffeId}.
 *
 * <p>Limits applied by {@link X509SvidIssuer}: a zero {@code requestedTtl} means the policy's
 * default; a longer one is capped to the policy's maximum; the result never outlives the signing
 * CA's certificate. The key must be EC P-256/P-384 or RSA of 2048 bits or more.
 *
 * @param spiffeId the one identity the certificate will carry, as its only URI SAN
 * @param publicKey the subject's public key, whose possession the CSR has proven
 * @param requestedTtl the lifetime asked for; {@link Duration#ZERO} for the default
 */
public record X509SvidParams(SpiffeId spiffeId, PublicKey publicKey, Duration requestedTtl) {

    public X509SvidParams {
        Objects.requireNonNull(spiffeId, "spiffeId");
        Objects.requireNonNull(publicKey, "publicKey");
        Objects.requireNonNull(requestedTtl, "requestedTtl");
        if (requestedTtl.isNegative()) {
            throw new IllegalArgumentException("requestedTtl: " + requestedTtl + " (expected: >= 0)");
        }
    }
}
