package dev.keel.jwt.internal;

import java.time.Duration;
import java.util.concurrent.CompletableFuture;

/** Where a rule's keys come from: inline, remote, or nowhere (a rule whose key set is broken). Thread-safe. */
public interface KeySource {

    /** The keys now; null when none are usable. */
    CompletableFuture<KeySet> keys();

    /** Called for a {@code kid} not in {@code seen}; the same keys for sources that cannot refresh. */
    CompletableFuture<KeySet> refreshForUnknownKid(KeySet seen);

    /** Why there are no keys, for the refusal's detail. */
    String unavailable();

    static KeySource inline(KeySet keys) {
        return fixed(keys, "inline JWKS");
    }

    static KeySource broken(String why) {
        return fixed(null, why);
    }

    /** The same keys (or none, when {@code keys} is null) on every call; nothing to refresh. */
    private static KeySource fixed(KeySet keys, String unavailable) {
        CompletableFuture<KeySet> done = CompletableFuture.completedFuture(keys);
        return new KeySource() {
            @Override
            public CompletableFuture<KeySet> keys() {
                return done;
            }

            @Override
            public CompletableFuture<KeySet> refreshForUnknownKid(KeySet seen) {
                return done;
            }

            @Override
            public String unavailable() {
                return unavailable;
            }
        };
    }

    static KeySource remote(RemoteJwks jwks, Duration timeout) {
        return new KeySource() {
            @Override
            public CompletableFuture<KeySet> keys() {
                return jwks.keys(timeout);
            }

            @Override
            public CompletableFuture<KeySet> refreshForUnknownKid(KeySet seen) {
                return jwks.refreshForUnknownKid(seen, timeout);
            }

            @Override
            public String unavailable() {
                String error = jwks.lastError();
                return "JWKS " + jwks.uri() + " unavailable" + (error == null ? "" : ": " + error);
            }
        };
    }
}
