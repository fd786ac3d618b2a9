package dev.keel.agent.ca;

import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.assertj.core.api.Assertions;

/** Waits for something asynchronous to happen, without asserting how long it takes. */
public final class Await {

    /** Generous: only a hang reaches it. */
    public static final long TIMEOUT_SECONDS = 20;

    private Await() {
    }

    public static void until(String what, BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(TIMEOUT_SECONDS);
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                Assertions.fail("timed out waiting until " + what);
            }
            Thread.sleep(5);
        }
    }
}
