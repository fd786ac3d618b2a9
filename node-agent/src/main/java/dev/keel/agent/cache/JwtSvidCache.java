package dev.keel.agent.cache;

import dev.keel.agent.JwtSvidToken;
import dev.keel.agent.ca.CaClient;
import dev.keel.identity.SpiffeId;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.function.Supplier;

/**
 * JWT-SVIDs by (entry, SPIFFE ID, audience set), least recently used first out beyond
 * {@code maxSize}. A token is served from the cache while at least half its lifetime and at least
 * {@link #MIN_REMAINING} remain; otherwise one mint is started and every caller for that key shares
 * it (single flight). If the mint fails while the previous token is still valid, callers get that
 * one. A token is never handed out at or after its expiry. Thread-safe.
 */
final class JwtSvidCache {

    static final Duration MIN_REMAINING = Duration.ofSeconds(30);
    static final int DEFAULT_MAX_SIZE = 4096;

    record Key(String entryId, SpiffeId spiffeId, List<String> audience) {
    }

    private static final class Cached {
        JwtSvidToken token;
        Instant mintedAt;
        CompletableFuture<JwtSvidToken> inFlight;
    }

    private final Clock clock;
    private final int maxSize;
    private final LinkedHashMap<Key, Cached> cache = new LinkedHashMap<>(64, 0.75f, true);

    JwtSvidCache(Clock clock, int maxSize) {
        this.clock = clock;
        this.maxSize = maxSize;
    }

    /**
     * The token for {@code key}: cached if fresh, else from the mint in flight, else from a new call
     * to {@code mint} (which must not block: it starts the CA call and returns).
     */
    CompletableFuture<JwtSvidToken> get(Key key, Supplier<CompletableFuture<JwtSvidToken>> mint) {
        CompletableFuture<JwtSvidToken> shared = new CompletableFuture<>();
        Cached slot;
        JwtSvidToken fallback;
        synchronized (this) {
            Instant now = clock.instant();
            slot = cache.get(key);
            if (slot == null) {
                slot = new Cached();
                cache.put(key, slot);
                evict();
            } else if (slot.token != null && isFresh(slot, now)) {
                return CompletableFuture.completedFuture(slot.token);
            } else if (slot.inFlight != null) {
                return slot.inFlight.copy();
            }
            fallback = slot.token != null && now.isBefore(slot.token.expiresAt()) ? slot.token : null;
            slot.inFlight = shared;
        }
        CompletableFuture<JwtSvidToken> minted;
        try {
            minted = mint.get();
        } catch (RuntimeException e) {
            minted = CompletableFuture.failedFuture(e);
        }
        Cached target = slot;
        minted.whenComplete((token, error) -> {
            synchronized (this) {
                if (target.inFlight == shared) {
                    target.inFlight = null;
                }
                if (error == null) {
                    target.token = token;
                    target.mintedAt = clock.instant();
                } else if (target.token == null && cache.get(key) == target) {
                    cache.remove(key);
                }
            }
            if (error == null) {
                shared.complete(token);
            } else if (fallback != null && clock.instant().isBefore(fallback.expiresAt())) {
                shared.complete(fallback);
            } else {
                shared.completeExceptionally(CaClient.failure(error));
            }
        });
        return shared.copy();
    }

    /** Forgets the tokens of {@code entryId} (entry deleted or its SPIFFE ID changed). */
    synchronized void invalidate(String entryId) {
        cache.keySet().removeIf(key -> key.entryId().equals(entryId));
    }

    synchronized int size() {
        return cache.size();
    }

    private boolean isFresh(Cached slot, Instant now) {
        Duration remaining = Duration.between(now, slot.token.expiresAt());
        Duration lifetime = Duration.between(slot.mintedAt, slot.token.expiresAt());
        return remaining.compareTo(MIN_REMAINING) >= 0 && remaining.multipliedBy(2).compareTo(lifetime) >= 0;
    }

    private void evict() {
        Iterator<Map.Entry<Key, Cached>> eldest = cache.entrySet().iterator();
        while (cache.size() > maxSize && eldest.hasNext()) {
            eldest.next();
            eldest.remove();
        }
    }
}
