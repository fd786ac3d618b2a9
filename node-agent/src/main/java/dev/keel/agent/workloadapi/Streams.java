package dev.keel.agent.workloadapi;

import io.grpc.Status;
import java.time.Clock;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;
import java.util.concurrent.ScheduledExecutorService;

/**
 * What the open streams of one server share: the executor they render and send on, the timer that
 * wakes them when an SVID's validity changes, the clock, and the set of open streams, so closing the
 * server can end each with a status instead of cutting the connection. Thread-safe.
 */
final class Streams {

    static final String SHUTTING_DOWN = "the Workload API server is shutting down";

    private final Executor executor;
    private final ScheduledExecutorService timer;
    private final Clock clock;
    private final Set<SnapshotStream<?>> open = ConcurrentHashMap.newKeySet();
    private volatile boolean closing;

    Streams(Executor executor, ScheduledExecutorService timer, Clock clock) {
        this.executor = executor;
        this.timer = timer;
        this.clock = clock;
    }

    Executor executor() {
        return executor;
    }

    ScheduledExecutorService timer() {
        return timer;
    }

    Clock clock() {
        return clock;
    }

    /** False once the server is closing: the stream must end at once. */
    boolean register(SnapshotStream<?> stream) {
        open.add(stream);
        if (closing) {
            open.remove(stream);
            return false;
        }
        return true;
    }

    void unregister(SnapshotStream<?> stream) {
        open.remove(stream);
    }

    int openCount() {
        return open.size();
    }

    /** Ends every open stream with Unavailable; streams that start from now on end at once. */
    void closeAll() {
        closing = true;
        Status status = Status.UNAVAILABLE.withDescription(SHUTTING_DOWN);
        for (SnapshotStream<?> stream : open) {
            stream.end(status);
        }
    }
}
