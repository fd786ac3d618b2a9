package dev.keel.identity;

import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * A JWT-SVID that {@link JwtSvidVerifier} accepted: its subject, audience, expiry and every claim
 * of its payload. Holding one means the signature verified under a JWT authority of the subject's
 * trust domain, the audience contained the expected value and the token had not expired when it was
 * verified.
 *
 * <p>Claims are as JSON gives them: objects as unmodifiable {@code Map<String, Object>} (member
 * order kept), arrays as unmodifiable {@code List<Object>}, strings, numbers as
 * {@link java.math.BigDecimal}, booleans, and JSON {@code null} as a present key with a Java
 * {@code null} value.
 *
 * <p>The token is a bearer credential: {@link #toString()} never prints it. Immutable and thread-safe.
 */
public final class JwtSvid {

    private final SpiffeId spiffeId;
    private final List<String> audience;
    private final Instant expiry;
    private final String keyId;
    private final String algorithm;
    private final Map<String, Object> claims;
    private final String token;

    JwtSvid(SpiffeId spiffeId, List<String> audience, Instant expiry, String keyId, String algorithm,
            Map<String, Object> claims, String token) {
        this.spiffeId = spiffeId;
        this.audience = List.copyOf(audience);
        this.expiry = expiry;
        this.keyId = keyId;
        this.algorithm = algorithm;
        this.claims = claims;
        this.token = token;
    }

    /** The {@code sub} claim. */
    public SpiffeId spiffeId() {
        return spiffeId;
    }

    /** The {@code aud} claim as a list (a single string becomes a list of one); unmodifiable, never empty. */
    public List<String> audience() {
        return audience;
    }

    /** The {@code exp} claim, to the second (fractions are truncated). */
    public Instant expiry() {
        return expiry;
    }

    /** The {@code kid} header: the JWT authority that signed the token. */
    public String keyId() {
        return keyId;
    }

    /** The {@code alg} header, e.g. {@code ES256}. */
    public String algorithm() {
        return algorithm;
    }

    /** Every claim of the payload, registered and private; unmodifiable. */
    public Map<String, Object> claims() {
        return claims;
    }

    /** The token in JWS compact serialization, as it was verified. A bearer credential: handle with care. */
    public String token() {
        return token;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof JwtSvid && ((JwtSvid) o).token.equals(token);
    }

    @Override
    public int hashCode() {
        return Objects.hash(token);
    }

    /** The subject, audience, expiry and key ID; never the token. */
    @Override
    public String toString() {
        return "JwtSvid{" + spiffeId + ", aud=" + audience + ", exp=" + expiry + ", kid=" + keyId + ", alg=" + algorithm + "}";
    }
}
