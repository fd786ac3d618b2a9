package dev.keel.agent;

import dev.keel.identity.SpiffeId;
import java.time.Instant;
import java.util.List;
import java.util.Objects;

/** A JWT-SVID minted by the CA for a workload on this node. */
public record JwtSvidToken(SpiffeId spiffeId, List<String> audience, String token, Instant expiresAt, String hint) {

    public JwtSvidToken {
        Objects.requireNonNull(spiffeId, "spiffeId");
        audience = List.copyOf(audience);
        Objects.requireNonNull(token, "token");
        Objects.requireNonNull(expiresAt, "expiresAt");
        Objects.requireNonNull(hint, "hint");
    }

    /** Never prints the token: it is a bearer credential. */
    @Override
    public String toString() {
        return "JwtSvidToken[" + spiffeId + ", aud " + audience + ", expiresAt " + expiresAt + "]";
    }
}
