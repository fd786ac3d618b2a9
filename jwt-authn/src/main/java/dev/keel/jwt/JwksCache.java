package dev.keel.jwt;

import dev.keel.jwt.internal.RemoteJwks;
import java.net.URI;
import java.time.Clock;
import java.time.Duration;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;

/**
 * The remote JWK Sets of every rule, by URI, kept across policy updates: build one per proxy and hand it to
 * every {@link JwtAuthenticator} built as policies change, so a new policy does not refetch keys.
 *
 * <p>A key set is fetched on first use, fresh for {@code refreshInterval} (10 minutes unless set), then
 * refreshed in the background while still served. A token naming an unknown {@code kid} triggers a fetch, at
 * most one per {@code minRefreshInterval} (30 seconds) per URI, so rotation at the issuer is picked up without
 * a restart and a flood of made-up key IDs cannot turn into a flood of fetches. When fetching fails, the last
 * good set is served until {@code maxStale} (12 hours) after it was fetched; then its tokens are refused.
 *
 * <p>Thread-safe; never blocks.
 */
public final class JwksCache {

    private final JwksFetcher fetcher;
    private final Clock clock;
    private final Duration refreshInterval;
    private final Duration minRefreshInterval;
    private final Duration maxStale;
    private final ConcurrentMap<URI, RemoteJwks> sets = new ConcurrentHashMap<>();

    private JwksCache(Builder builder) {
        this.fetcher = builder.fetcher;
        this.clock = builder.clock;
        this.refreshInterval = builder.refreshInterval;
        this.minRefreshInterval = builder.minRefreshInterval;
        this.maxStale = builder.maxStale;
    }

    /** A cache with the defaults and {@link JwksFetcher#https()}. */
    public static JwksCache create() {
        return builder().build();
    }

    public static Builder builder() {
        return new Builder();
    }

    RemoteJwks forUri(URI uri) {
        return sets.computeIfAbsent(uri, u -> new RemoteJwks(u, fetcher::fetch, clock, refreshInterval,
                minRefreshInterval, maxStale));
    }

    /** Builds a {@link JwksCache}. Not thread-safe. */
    public static final class Builder {

        private JwksFetcher fetcher;
        private Clock clock = Clock.systemUTC();
        private Duration refreshInterval = Duration.ofMinutes(10);
        private Duration minRefreshInterval = Duration.ofSeconds(30);
        private Duration maxStale = Duration.ofHours(12);

        Builder() {
        }

        public Builder fetcher(JwksFetcher fetcher) {
            this.fetcher = Objects.requireNonNull(fetcher, "fetcher");
            return this;
        }

        public Builder clock(Clock clock) {
            this.clock = Objects.requireNonNull(clock, "clock");
            return this;
        }

        public Builder refreshInterval(Duration refreshInterval) {
            this.refreshInterval = positive(refreshInterval, "refreshInterval");
            return this;
        }

        public Builder minRefreshInterval(Duration minRefreshInterval) {
            Objects.requireNonNull(minRefreshInterval, "minRefreshInterval");
            if (minRefreshInterval.isNegative()) {
                throw new IllegalArgumentException("minRefreshInterval: " + minRefreshInterval + " (expected: >= 0)");
            }
            this.minRefreshInterval = minRefreshInterval;
            return this;
        }

        public Builder maxStale(Duration maxStale) {
            this.maxStale = positive(maxStale, "maxStale");
            return this;
        }

        public JwksCache build() {
            if (maxStale.compareTo(refreshInterval) < 0) {
                throw new IllegalArgumentException("maxStale: " + maxStale + " (expected: >= refreshInterval " + refreshInterval + ")");
            }
            return new JwksCache(this.fetcher != null ? this : fetcher(JwksFetcher.https()));
        }

        static Duration positive(Duration value, String name) {
            Objects.requireNonNull(value, name);
            if (value.isNegative() || value.isZero()) {
                throw new IllegalArgumentException(name + ": " + value + " (expected: > 0)");
            }
            return value;
        }
    }
}
