package dev.keel.jwt.internal;

import java.net.URI;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.CompletableFuture;
import java.util.function.BiFunction;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The key set at one URI, fetched on first use and kept: fresh for {@code refreshInterval}, then served while
 * a background refresh runs; on fetch errors the last good set is served until {@code maxStale} after it was
 * fetched, then dropped (fail closed). Fetch attempts, including those for an unknown {@code kid}, start at
 * most once per {@code minRefreshInterval}, and at most one is in flight. Thread-safe; never blocks.
 */
public final class RemoteJwks {

    private static final Logger log = LoggerFactory.getLogger(RemoteJwks.class);

    /** Fetches a URI's document with a timeout. */
    public interface Fetch extends BiFunction<URI, Duration, CompletableFuture<String>> {
    }

    private record Snapshot(KeySet keys, Instant fetchedAt, CompletableFuture<KeySet> done) {
        Snapshot(KeySet keys, Instant fetchedAt) {
            this(keys, fetchedAt, CompletableFuture.completedFuture(keys));
        }
    }

    private final URI uri;
    private final Fetch fetcher;
    private final Clock clock;
    private final Duration refreshInterval;
    private final Duration minRefreshInterval;
    private final Duration maxStale;

    private volatile Snapshot snapshot;
    private CompletableFuture<KeySet> inFlight; // guarded by this
    private Instant lastAttempt; // guarded by this
    private volatile String lastError;

    public RemoteJwks(URI uri, Fetch fetcher, Clock clock, Duration refreshInterval, Duration minRefreshInterval,
            Duration maxStale) {
        this.uri = uri;
        this.fetcher = fetcher;
        this.clock = clock;
        this.refreshInterval = refreshInterval;
        this.minRefreshInterval = minRefreshInterval;
        this.maxStale = maxStale;
    }

    public URI uri() {
        return uri;
    }

    /** The keys to verify with now: null (completed) when there are none usable; completes off-thread when fetching. */
    public CompletableFuture<KeySet> keys(Duration timeout) {
        Snapshot current = snapshot;
        Instant now = clock.instant();
        if (current != null && now.isBefore(current.fetchedAt.plus(refreshInterval))) {
            return current.done;
        }
        if (current != null && now.isBefore(current.fetchedAt.plus(maxStale))) {
            refresh(timeout); // stale while revalidating
            return current.done;
        }
        return refresh(timeout);
    }

    /** Called when a token names a {@code kid} not in {@code seen}: fetches again unless one was tried recently. */
    public CompletableFuture<KeySet> refreshForUnknownKid(KeySet seen, Duration timeout) {
        Snapshot current = snapshot;
        if (current != null && current.keys != seen) {
            return CompletableFuture.completedFuture(usable(current)); // someone already refreshed
        }
        return refresh(timeout);
    }

    /** The last fetch error, for diagnostics; null after a success. */
    public String lastError() {
        return lastError;
    }

    private KeySet usable(Snapshot current) {
        return current != null && clock.instant().isBefore(current.fetchedAt.plus(maxStale)) ? current.keys : null;
    }

    private synchronized CompletableFuture<KeySet> refresh(Duration timeout) {
        if (inFlight != null) {
            return inFlight;
        }
        Instant now = clock.instant();
        if (lastAttempt != null && now.isBefore(lastAttempt.plus(minRefreshInterval))) {
            return CompletableFuture.completedFuture(usable(snapshot));
        }
        lastAttempt = now;
        CompletableFuture<KeySet> future = new CompletableFuture<>();
        inFlight = future;
        CompletableFuture<String> fetch;
        try {
            fetch = fetcher.apply(uri, timeout);
        } catch (RuntimeException e) {
            fetch = CompletableFuture.failedFuture(e);
        }
        fetch.whenComplete((document, error) -> {
            KeySet result;
            if (error == null) {
                try {
                    KeySet keys = KeySet.parse(document);
                    snapshot = new Snapshot(keys, clock.instant());
                    lastError = null;
                    if (!keys.skipped().isEmpty()) {
                        log.warn("JWKS {}: keys skipped: {}", uri, keys.skipped());
                    }
                    result = keys;
                } catch (IllegalArgumentException e) {
                    result = failed(e.getMessage());
                }
            } else {
                Throwable cause = error instanceof java.util.concurrent.CompletionException && error.getCause() != null
                        ? error.getCause() : error;
                result = failed(cause.getClass().getSimpleName() + ": " + cause.getMessage());
            }
            synchronized (this) {
                inFlight = null;
            }
            future.complete(result);
        });
        return future;
    }

    private KeySet failed(String message) {
        lastError = message;
        Snapshot current = snapshot;
        KeySet stale = usable(current);
        log.warn("JWKS {}: fetch failed ({}); {}", uri, message,
                stale != null ? "serving keys fetched at " + current.fetchedAt : "no usable keys");
        return stale;
    }
}
