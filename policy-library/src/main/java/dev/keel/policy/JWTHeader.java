package dev.keel.policy;

import java.util.Objects;

/**
 * Istio's {@code JWTHeader} ({@code fromHeaders}): a header carrying the token, and the prefix (such as
 * {@code "Bearer "}) to strip first, or empty. Immutable and thread-safe.
 */
public record JWTHeader(String name, String prefix) {

    public JWTHeader {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(prefix, "prefix");
    }
}
