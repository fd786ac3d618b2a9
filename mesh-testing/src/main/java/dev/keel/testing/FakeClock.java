package dev.keel.testing;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.time.temporal.ChronoUnit;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicReference;

/**
 * A {@link Clock} that stands still until a test moves it: {@link #set(Instant)} or
 * {@link #advance(Duration)}. Thread-safe: the code under test may read it from any thread while
 * the test moves it. Clocks made by {@link #withZone(ZoneId)} share the same time.
 */
public final class FakeClock extends Clock {

    private final AtomicReference<Instant> now;
    private final ZoneId zone;

    private FakeClock(AtomicReference<Instant> now, ZoneId zone) {
        this.now = now;
        this.zone = zone;
    }

    /** A clock at {@code instant}, in UTC. */
    public static FakeClock at(Instant instant) {
        return new FakeClock(new AtomicReference<>(Objects.requireNonNull(instant, "instant")), ZoneOffset.UTC);
    }

    /**
     * A clock at the current system time truncated to whole seconds (certificates carry seconds,
     * so "now" then compares cleanly with notBefore and notAfter).
     */
    public static FakeClock now() {
        return at(Instant.now().truncatedTo(ChronoUnit.SECONDS));
    }

    @Override
    public Instant instant() {
        return now.get();
    }

    @Override
    public ZoneId getZone() {
        return zone;
    }

    @Override
    public FakeClock withZone(ZoneId zone) {
        return new FakeClock(now, Objects.requireNonNull(zone, "zone"));
    }

    /** Moves the clock to {@code instant}, forwards or back. */
    public void set(Instant instant) {
        now.set(Objects.requireNonNull(instant, "instant"));
    }

    /**
     * Moves the clock forward by {@code duration} and returns the new time.
     *
     * @throws IllegalArgumentException for a negative duration; use {@link #set(Instant)} to go back
     */
    public Instant advance(Duration duration) {
        Objects.requireNonNull(duration, "duration");
        if (duration.isNegative()) {
            throw new IllegalArgumentException("duration: " + duration + " (expected: >= 0)");
        }
        return now.updateAndGet(t -> t.plus(duration));
    }

    @Override
    public String toString() {
        return "FakeClock{" + now.get() + ", " + zone + "}";
    }
}
