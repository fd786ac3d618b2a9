package dev.keel.testing;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class FakeClockTest {

    private static final Instant T0 = Instant.parse("2030-01-01T00:00:00Z");

    @Test
    void standsStillUntilMoved() {
        FakeClock clock = FakeClock.at(T0);

        assertThat(clock.instant()).isEqualTo(T0);
        assertThat(clock.millis()).isEqualTo(T0.toEpochMilli());
        assertThat(clock.getZone()).isEqualTo(ZoneOffset.UTC);
        assertThat(clock.advance(Duration.ofMinutes(5))).isEqualTo(T0.plusSeconds(300));
        assertThat(clock.instant()).isEqualTo(T0.plusSeconds(300));
        clock.set(T0.minusSeconds(10));
        assertThat(clock.instant()).isEqualTo(T0.minusSeconds(10));
        assertThat(clock.advance(Duration.ZERO)).isEqualTo(T0.minusSeconds(10));
    }

    @Test
    void zonedCopiesShareTheTime() {
        FakeClock clock = FakeClock.at(T0);
        FakeClock paris = clock.withZone(ZoneId.of("Europe/Paris"));

        clock.advance(Duration.ofHours(1));

        assertThat(paris.instant()).isEqualTo(T0.plusSeconds(3600));
        assertThat(paris.getZone()).isEqualTo(ZoneId.of("Europe/Paris"));
    }

    @Test
    void refusesBadArguments() {
        FakeClock clock = FakeClock.at(T0);

        assertThatThrownBy(() -> clock.advance(Duration.ofSeconds(-1))).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("duration: PT-1S (expected: >= 0)");
        assertThatThrownBy(() -> clock.set(null)).isInstanceOf(NullPointerException.class).hasMessage("instant");
        assertThatThrownBy(() -> FakeClock.at(null)).isInstanceOf(NullPointerException.class).hasMessage("instant");
    }

    @Test
    void nowIsTruncatedToSeconds() {
        assertThat(FakeClock.now().instant().getNano()).isZero();
    }

    @Test
    void concurrentAdvancesAreNotLost() throws Exception {
        FakeClock clock = FakeClock.at(T0);
        List<Thread> threads = new ArrayList<>();
        for (int t = 0; t < 8; t++) {
            Thread thread = new Thread(() -> {
                for (int i = 0; i < 1000; i++) {
                    clock.advance(Duration.ofMillis(1));
                }
            });
            threads.add(thread);
            thread.start();
        }
        for (Thread thread : threads) {
            thread.join();
        }

        assertThat(clock.instant()).isEqualTo(T0.plusMillis(8000));
    }
}
