package dev.keel.policy;

import java.util.Objects;

/**
 * Istio's {@code ClaimToHeader} ({@code outputClaimToHeaders}): after verification, the value of
 * {@code claim} is written to the request header {@code header}. Immutable and thread-safe.
 */
public record ClaimToHeader(String header, String claim) {

    public ClaimToHeader {
        Objects.requireNonNull(header, "header");
        Objects.requireNonNull(claim, "claim");
    }
}
