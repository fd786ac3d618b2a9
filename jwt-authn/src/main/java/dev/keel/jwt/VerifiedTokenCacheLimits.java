package dev.keel.jwt;

import java.time.Duration;
import java.util.Objects;

/** The verified-token cache limits of {@link JwtAuthenticator} and {@link JwtSvidAuthenticator}: defaults and checks. */
final class VerifiedTokenCacheLimits {

    static final long DEFAULT_SIZE = 10_000;
    static final Duration DEFAULT_MAX_TTL = Duration.ofMinutes(5);

    private VerifiedTokenCacheLimits() {
    }

    /** How many verified tokens to remember; 0 disables the cache. */
    static long checkSize(long cacheSize) {
        if (cacheSize < 0) {
            throw new IllegalArgumentException("cacheSize: " + cacheSize + " (expected: >= 0)");
        }
        return cacheSize;
    }

    /** How long a verified token is remembered at most, even before its {@code exp}. */
    static Duration checkMaxTtl(Duration maxCacheTtl) {
        Objects.requireNonNull(maxCacheTtl, "maxCacheTtl");
        if (maxCacheTtl.isNegative() || maxCacheTtl.isZero()) {
            throw new IllegalArgumentException("maxCacheTtl: " + maxCacheTtl + " (expected: > 0)");
        }
        return maxCacheTtl;
    }
}
