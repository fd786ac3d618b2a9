package dev.keel.ca;

import java.time.Duration;
import java.util.Objects;

/**
 * Limits every issuance obeys.
 *
 * @param defaultTtl the lifetime of an SVID when the caller asks for none (Istio's default: 24 h)
 * @param maxTtl requests for longer are capped to this (Istio's default maximum: 90 days)
 * @param backdate how far before "now" notBefore is set, so a peer whose clock lags slightly
 *     still accepts a fresh certificate
 */
public record IssuancePolicy(Duration defaultTtl, Duration maxTtl, Duration backdate) {

    /** Requests for more than this are not capped but refused as absurd: they are bugs or probes. */
    public static final Duration ABSURD_TTL = Duration.ofDays(3650);

    public static final IssuancePolicy DEFAULT =
            new IssuancePolicy(Duration.ofHours(24), Duration.ofDays(90), Duration.ofMinutes(1));

    public IssuancePolicy {
        Objects.requireNonNull(defaultTtl, "defaultTtl");
        Objects.requireNonNull(maxTtl, "maxTtl");
        Objects.requireNonNull(backdate, "backdate");
        if (defaultTtl.isNegative() || defaultTtl.isZero()) {
            throw new IllegalArgumentException("defaultTtl: " + defaultTtl + " (expected: > 0)");
        }
        if (maxTtl.compareTo(defaultTtl) < 0) {
            throw new IllegalArgumentException("maxTtl: " + maxTtl + " (expected: >= defaultTtl " + defaultTtl + ")");
        }
        if (maxTtl.compareTo(ABSURD_TTL) > 0) {
            throw new IllegalArgumentException("maxTtl: " + maxTtl + " (expected: <= " + ABSURD_TTL + ")");
        }
        if (backdate.isNegative() || backdate.compareTo(Duration.ofHours(1)) > 0) {
            throw new IllegalArgumentException("backdate: " + backdate + " (expected: 0s to 1h)");
        }
    }

    public IssuancePolicy withDefaultTtl(Duration ttl) {
        return new IssuancePolicy(ttl, maxTtl.compareTo(ttl) < 0 ? ttl : maxTtl, backdate);
    }

    public IssuancePolicy withMaxTtl(Duration ttl) {
        return new IssuancePolicy(defaultTtl.compareTo(ttl) > 0 ? ttl : defaultTtl, ttl, backdate);
    }
}
