package dev.keel.jwt;

import dev.keel.jwt.internal.HttpJwksFetcher;
import java.net.URI;
import java.time.Duration;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import javax.net.ssl.SSLContext;

/**
 * Fetches a JWK Set document. The default, {@link #https()}, is safe to point at URIs written by policy
 * authors; replace it only in tests or with something at least as strict.
 *
 * <p>Implementations must be thread-safe and must not block the caller: the future completes on another
 * thread.
 */
@FunctionalInterface
public interface JwksFetcher {

    /** The document at {@code uri}, or a future failed with the reason it could not be fetched. */
    CompletableFuture<String> fetch(URI uri, Duration timeout);

    /** The default fetcher: see {@link Builder} for what it enforces. */
    static JwksFetcher https() {
        return builder().build();
    }

    static Builder builder() {
        return new Builder();
    }

    /**
     * Builds the {@code java.net.http} fetcher. It fetches HTTPS only (plain HTTP when allowed), verifies the
     * server certificate and host name, resolves the host first and refuses link-local, metadata,
     * unspecified and multicast addresses (loopback unless allowed), follows at most {@code maxRedirects}
     * redirects and only to the same host without downgrading the scheme, and reads at most {@code maxBytes}.
     * The JDK's address cache (30 s by default) makes the client connect to the address that was checked.
     */
    final class Builder {

        /** Default cap on a JWK Set document. */
        public static final int DEFAULT_MAX_BYTES = 256 * 1024;

        private SSLContext sslContext;
        private boolean allowHttp;
        private boolean allowLoopback;
        private int maxBytes = DEFAULT_MAX_BYTES;
        private int maxRedirects = 3;

        Builder() {
        }

        /** The TLS context (trust anchors) to fetch with; the JDK default otherwise. */
        public Builder sslContext(SSLContext sslContext) {
            this.sslContext = Objects.requireNonNull(sslContext, "sslContext");
            return this;
        }

        /** Allows {@code http:} URIs (off by default: a key set fetched in clear can be replaced on the way). */
        public Builder allowHttp(boolean allowHttp) {
            this.allowHttp = allowHttp;
            return this;
        }

        /** Allows loopback addresses (off by default: a sidecar's loopback is its workload and its admin port). */
        public Builder allowLoopback(boolean allowLoopback) {
            this.allowLoopback = allowLoopback;
            return this;
        }

        public Builder maxBytes(int maxBytes) {
            if (maxBytes <= 0) {
                throw new IllegalArgumentException("maxBytes: " + maxBytes + " (expected: > 0)");
            }
            this.maxBytes = maxBytes;
            return this;
        }

        public Builder maxRedirects(int maxRedirects) {
            if (maxRedirects < 0) {
                throw new IllegalArgumentException("maxRedirects: " + maxRedirects + " (expected: >= 0)");
            }
            this.maxRedirects = maxRedirects;
            return this;
        }

        public JwksFetcher build() {
            return new HttpJwksFetcher(sslContext, allowHttp, allowLoopback, maxBytes, maxRedirects);
        }
    }
}
