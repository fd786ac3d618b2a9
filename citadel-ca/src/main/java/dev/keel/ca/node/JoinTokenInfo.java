package dev.keel.ca.node;

import dev.keel.identity.SpiffeId;
import java.time.Instant;
import java.util.Objects;
import java.util.Optional;

/**
 * What the store knows about a join token, without its secret.
 *
 * @param tokenId the first 8 hex digits of the token's SHA-256
 * @param nodeId the node identity the token attests
 * @param usedAt when a node consumed it; null while unused
 */
public record JoinTokenInfo(String tokenId, String nodeName, SpiffeId nodeId, Instant createdAt, Instant expiresAt,
        Instant usedAt) {

    /** Where a token is in its life. */
    public enum Status {
        PENDING,
        USED,
        EXPIRED
    }

    public JoinTokenInfo {
        Objects.requireNonNull(tokenId, "tokenId");
        Objects.requireNonNull(nodeName, "nodeName");
        Objects.requireNonNull(nodeId, "nodeId");
        Objects.requireNonNull(createdAt, "createdAt");
        Objects.requireNonNull(expiresAt, "expiresAt");
    }

    public Optional<Instant> used() {
        return Optional.ofNullable(usedAt);
    }

    public Status status(Instant now) {
        if (usedAt != null) {
            return Status.USED;
        }
        return now.isBefore(expiresAt) ? Status.PENDING : Status.EXPIRED;
    }
}
