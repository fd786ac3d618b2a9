package dev.keel.ca.node;

import dev.keel.identity.SpiffeId;
import java.time.Instant;
import java.util.Objects;

/**
 * A join token just created: the one time its secret exists outside the node that will use it
 * (the store keeps only its SHA-256). {@link #toString()} never shows the token.
 *
 * @param token the secret, 32 random bytes in base64url without padding
 * @param tokenId the first 8 hex digits of the token's SHA-256, how audit lines and listings name it
 * @param nodeName the node the token attests
 * @param nodeId {@code spiffe://<td>/keel/node/<nodeName>}, the identity its node SVID will carry
 * @param expiresAt after this the token is refused
 */
public record CreatedJoinToken(String token, String tokenId, String nodeName, SpiffeId nodeId, Instant expiresAt) {

    public CreatedJoinToken {
        Objects.requireNonNull(token, "token");
        Objects.requireNonNull(tokenId, "tokenId");
        Objects.requireNonNull(nodeName, "nodeName");
        Objects.requireNonNull(nodeId, "nodeId");
        Objects.requireNonNull(expiresAt, "expiresAt");
    }

    @Override
    public String toString() {
        return "CreatedJoinToken{id=" + tokenId + ", node=" + nodeId + ", expires=" + expiresAt + ", token=<redacted>}";
    }
}
