package dev.keel.agent.ca;

import static org.assertj.core.api.Assertions.assertThat;

import dev.keel.agent.ca.internal.Schedules;
import java.time.Duration;
import java.time.Instant;
import java.util.random.RandomGenerator;
import org.junit.jupiter.api.Test;

/** Renewal points and retry delays at the extremes of their randomness. */
class SchedulesTest {

    static final Instant ISSUED = Instant.parse("2030-01-01T00:00:00Z");
    static final RandomGenerator LOWEST = () -> 0L; // nextDouble() == 0.0
    static final RandomGenerator HIGHEST = () -> -1L; // nextDouble() just under 1.0

    @Test
    void renewalIsAtTheFractionOfTheLifetimePlusOrMinusTenPercent() {
        Instant notAfter = ISSUED.plus(Duration.ofHours(10));
        Instant backdated = ISSUED.minus(Duration.ofMinutes(1));

        assertThat(Schedules.renewAt(backdated, notAfter, ISSUED, 0.5, LOWEST)).isEqualTo(ISSUED.plus(Duration.ofHours(4)));
        assertThat(Schedules.renewAt(backdated, notAfter, ISSUED, 0.5, HIGHEST))
                .isBetween(ISSUED.plus(Duration.ofMinutes(359)), ISSUED.plus(Duration.ofHours(6)));
        // Never past 95% of the lifetime, however late the fraction.
        assertThat(Schedules.renewAt(backdated, notAfter, ISSUED, 0.99, HIGHEST))
                .isEqualTo(ISSUED.plus(Duration.ofMinutes(570)));
    }

    @Test
    void aShortCertificateBackdatedByTheCaIsNotRenewedInALoop() {
        Instant notBefore = ISSUED.minus(Duration.ofMinutes(1));
        Instant notAfter = ISSUED.plus(Duration.ofSeconds(10));

        assertThat(Schedules.renewAt(notBefore, notAfter, ISSUED, 0.5, LOWEST)).isEqualTo(ISSUED.plusSeconds(4));
    }

    @Test
    void backoffDoublesFromOneSecondToACapOfAMinuteWithFullJitter() {
        assertThat(Schedules.backoff(1, HIGHEST)).isBetween(Duration.ofMillis(990), Duration.ofSeconds(1));
        assertThat(Schedules.backoff(2, HIGHEST)).isBetween(Duration.ofMillis(1990), Duration.ofSeconds(2));
        assertThat(Schedules.backoff(6, HIGHEST)).isBetween(Duration.ofMillis(31990), Duration.ofSeconds(32));
        assertThat(Schedules.backoff(7, HIGHEST)).isBetween(Duration.ofMillis(59990), Duration.ofSeconds(60));
        assertThat(Schedules.backoff(1000, HIGHEST)).isBetween(Duration.ofMillis(59990), Duration.ofSeconds(60));
        assertThat(Schedules.backoff(7, LOWEST)).isEqualTo(Duration.ofMillis(50));
    }

    @Test
    void aRetryComesBeforeTheExpiryOfWhatIsStillValid() {
        Instant now = ISSUED;
        assertThat(Schedules.retryDelay(10, now, now.plusSeconds(20), HIGHEST)).isEqualTo(Duration.ofSeconds(10));
        assertThat(Schedules.retryDelay(10, now, now.plusSeconds(3600), HIGHEST))
                .isBetween(Duration.ofMillis(59990), Duration.ofSeconds(60));
        assertThat(Schedules.retryDelay(10, now, null, HIGHEST)).isBetween(Duration.ofMillis(59990), Duration.ofSeconds(60));
    }
}
