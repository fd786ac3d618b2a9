package dev.keel.agent.ca.internal;

import java.time.Duration;
import java.time.Instant;
import java.util.random.RandomGenerator;

/**
 * When to renew a certificate and how long to wait after a failure. Pure functions of their
 * arguments (randomness passed in), shared by the node SVID and the workload SVIDs.
 */
public final class Schedules {

    /** Renewal is spread by up to this fraction of the lifetime either side of the configured point. */
    public static final double JITTER = 0.1;
    /** The first retry waits at most this long; each further failure doubles it ... */
    public static final Duration BACKOFF_BASE = Duration.ofSeconds(1);
    /** ... up to this. */
    public static final Duration BACKOFF_CAP = Duration.ofSeconds(60);
    /** The shortest wait, so that a burst of failures cannot spin. */
    static final Duration MIN_DELAY = Duration.ofMillis(50);

    private static final double MIN_FRACTION = 0.05;
    private static final double MAX_FRACTION = 0.95;

    private Schedules() {
    }

    /**
     * The instant at which a certificate valid until {@code notAfter} should be renewed: at
     * {@code fraction} of its lifetime, plus or minus {@link #JITTER} of it at random, never before
     * 5% nor after 95% of it. The lifetime counts from when the agent received the certificate (or its
     * notBefore, if later), not from a notBefore the CA backdated for clock skew: a CA that backdates a
     * 10-second certificate by a minute must not make the agent renew it in a loop.
     */
    public static Instant renewAt(Instant notBefore, Instant notAfter, Instant receivedAt, double fraction,
            RandomGenerator random) {
        Instant start = notBefore.isAfter(receivedAt) ? notBefore : receivedAt;
        if (!notAfter.isAfter(start)) {
            return notAfter;
        }
        long lifetimeMillis = Duration.between(start, notAfter).toMillis();
        double f = fraction + (random.nextDouble() * 2 - 1) * JITTER;
        f = Math.max(MIN_FRACTION, Math.min(MAX_FRACTION, f));
        return start.plusMillis((long) (lifetimeMillis * f));
    }

    /**
     * Capped exponential backoff with full jitter: after the {@code failures}-th consecutive failure
     * (1 for the first), a uniformly random wait up to {@code min(cap, base * 2^(failures-1))}.
     */
    public static Duration backoff(int failures, RandomGenerator random) {
        int exponent = Math.max(0, Math.min(failures - 1, 20));
        long ceiling = Math.min(BACKOFF_CAP.toMillis(), BACKOFF_BASE.toMillis() << exponent);
        long delay = (long) (random.nextDouble() * ceiling);
        return Duration.ofMillis(Math.max(MIN_DELAY.toMillis(), delay));
    }

    /**
     * The wait before retrying the renewal of a certificate that is still valid until {@code notAfter}
     * (null when there is none): the {@link #backoff}, shortened if needed so that the retry comes
     * before the expiry.
     */
    public static Duration retryDelay(int failures, Instant now, Instant notAfter, RandomGenerator random) {
        Duration delay = backoff(failures, random);
        if (notAfter != null && now.isBefore(notAfter)) {
            Duration remaining = Duration.between(now, notAfter);
            if (delay.compareTo(remaining) >= 0) {
                Duration half = remaining.dividedBy(2);
                delay = half.compareTo(MIN_DELAY) < 0 ? MIN_DELAY : half;
            }
        }
        return delay;
    }
}
