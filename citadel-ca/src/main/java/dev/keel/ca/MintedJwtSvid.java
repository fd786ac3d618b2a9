package dev.keel.ca;

import dev.keel.identity.SpiffeId;
import java.time.Instant;
import java.util.List;

/**
 * A JWT-SVID the CA has signed. {@link #toString()} does not show the token.
 *
 * @param spiffeId its {@code sub}
 * @param audience its {@code aud}
 * @param token the compact JWS
 * @param expiresAt its {@code exp}
 * @param jwtId its {@code jti}, for the audit log
 */
public record MintedJwtSvid(SpiffeId spiffeId, List<String> audience, String token, Instant expiresAt, String jwtId) {

    public MintedJwtSvid {
        audience = List.copyOf(audience);
    }

    @Override
    public String toString() {
        return "MintedJwtSvid{sub=" + spiffeId + ", aud=" + audience + ", exp=" + expiresAt + ", jti=" + jwtId + "}";
    }
}
