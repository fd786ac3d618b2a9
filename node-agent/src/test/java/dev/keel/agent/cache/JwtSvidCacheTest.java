package dev.keel.agent.cache;

import static org.assertj.core.api.Assertions.assertThat;

import dev.keel.agent.JwtSvidToken;
import dev.keel.identity.SpiffeId;
import dev.keel.testing.FakeClock;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/** The JWT-SVID cache on its own: the size bound. */
class JwtSvidCacheTest {

    final FakeClock clock = FakeClock.now();
    final AtomicInteger mints = new AtomicInteger();

    CompletableFuture<JwtSvidToken> mint(String audience) {
        mints.incrementAndGet();
        return CompletableFuture.completedFuture(new JwtSvidToken(SpiffeId.parse("spiffe://cluster.local/ns/a/sa/x"),
                List.of(audience), "t" + mints.get(), clock.instant().plus(Duration.ofMinutes(5)), ""));
    }

    static JwtSvidCache.Key key(String audience) {
        return new JwtSvidCache.Key("a", SpiffeId.parse("spiffe://cluster.local/ns/a/sa/x"), List.of(audience));
    }

    @Test
    void holdsAtMostItsSizeDroppingTheLeastRecentlyUsed() {
        JwtSvidCache cache = new JwtSvidCache(clock, 3);
        for (String audience : List.of("a", "b", "c")) {
            cache.get(key(audience), () -> mint(audience)).join();
        }
        cache.get(key("a"), () -> mint("a")).join(); // a is now the most recently used
        cache.get(key("d"), () -> mint("d")).join(); // b goes

        assertThat(cache.size()).isEqualTo(3);
        assertThat(mints.get()).isEqualTo(4);
        cache.get(key("a"), () -> mint("a")).join();
        assertThat(mints.get()).isEqualTo(4);
        cache.get(key("b"), () -> mint("b")).join();
        assertThat(mints.get()).isEqualTo(5);
    }
}
