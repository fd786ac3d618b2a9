package dev.keel.agent.workloadapi;

import dev.keel.agent.IdentitySnapshot;
import dev.keel.agent.WorkloadIdentities;
import io.grpc.Status;
import io.grpc.stub.ServerCallStreamObserver;
import java.time.Duration;
import java.time.Instant;
import java.util.Objects;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One open Workload API stream that follows the agent's snapshots (Workload API section 4.3): it
 * renders the current snapshot first, then every newer one, and sends a response only when it
 * differs from the last one sent, each response complete. A render may also end the stream with a
 * status (entitlement gone) or ask to be woken at an instant (an SVID becoming valid or expiring),
 * so nothing expired stays the newest thing a client was told while the agent is quiet.
 *
 * <p>Threading: snapshots arrive on the agent's thread and are only recorded there (no blocking, no
 * lock); rendering and sending run on the call executor, one at a time per stream. Snapshots that
 * arrive faster than the stream drains are coalesced to the newest, and while the client does not
 * read (gRPC flow control says not ready) nothing is buffered: the newest snapshot is rendered when it
 * is ready again. Cancellation or the end of the stream closes its subscription.
 */
final class SnapshotStream<R> {

    private static final Logger log = LoggerFactory.getLogger(SnapshotStream.class);

    /** Turns a snapshot into what the stream does next. Runs on the call executor, under the stream's lock. */
    interface Renderer<R> {
        Step<R> render(IdentitySnapshot snapshot, Instant now);
    }

    /**
     * What to do with a snapshot: send {@code response} (null: nothing to send yet, wait), or end the
     * stream with {@code end}; and render again at {@code recheckAt} (null: only on a new snapshot),
     * which must be after "now".
     */
    record Step<R>(R response, Status end, Instant recheckAt) {

        static <R> Step<R> send(R response, Instant recheckAt) {
            return new Step<>(Objects.requireNonNull(response, "response"), null, recheckAt);
        }

        static <R> Step<R> hold(Instant recheckAt) {
            return new Step<>(null, null, recheckAt);
        }

        static <R> Step<R> end(Status status) {
            return new Step<>(null, Objects.requireNonNull(status, "status"), null);
        }
    }

    private final Streams streams;
    private final ServerCallStreamObserver<R> observer;
    private final Renderer<R> renderer;
    private final Consumer<R> sent;
    private final AtomicReference<IdentitySnapshot> pending = new AtomicReference<>();
    private final AtomicBoolean drainScheduled = new AtomicBoolean();

    // Guarded by this.
    private boolean closed;
    private boolean deferred;
    private AutoCloseable subscription;
    private IdentitySnapshot latest;
    private R lastSent;
    private ScheduledFuture<?> recheck;
    private Instant recheckAt;

    /**
     * @param sent called after each response is sent (metrics)
     */
    SnapshotStream(Streams streams, ServerCallStreamObserver<R> observer, Renderer<R> renderer, Consumer<R> sent) {
        this.streams = streams;
        this.observer = observer;
        this.renderer = renderer;
        this.sent = sent;
    }

    /**
     * Starts following {@code identities}. Must be called from the service method itself (gRPC takes the
     * cancel and ready handlers only then).
     */
    void start(WorkloadIdentities identities) {
        observer.setOnCancelHandler(this::cancelled);
        observer.setOnReadyHandler(this::ready);
        if (!streams.register(this)) {
            end(Status.UNAVAILABLE.withDescription(Streams.SHUTTING_DOWN));
            return;
        }
        if (observer.isCancelled()) {
            cancelled();
            return;
        }
        // Subscribe before reading the current snapshot, so no snapshot published in between is missed.
        AutoCloseable handle = identities.subscribe(this::offer);
        synchronized (this) {
            if (!closed) {
                subscription = handle;
                handle = null;
            }
        }
        if (handle != null) {
            closeQuietly(handle);
            return;
        }
        offer(identities.current());
    }

    /** Records a snapshot and schedules a render. Called on the agent's thread: does not block. */
    void offer(IdentitySnapshot snapshot) {
        pending.accumulateAndGet(snapshot,
                (current, offered) -> current == null || offered.version() >= current.version() ? offered : current);
        schedule();
    }

    /** Ends the stream with {@code status}, unless it has ended already. Thread-safe. */
    void end(Status status) {
        synchronized (this) {
            if (closed) {
                return;
            }
            closeLocked();
            try {
                observer.onError(status.asRuntimeException());
            } catch (RuntimeException e) {
                log.debug("Stream already closed: {}", e.toString());
            }
        }
    }

    private void cancelled() {
        synchronized (this) {
            if (!closed) {
                closeLocked();
            }
        }
    }

    private void ready() {
        synchronized (this) {
            if (!deferred) {
                return;
            }
            deferred = false;
        }
        schedule();
    }

    private void schedule() {
        if (drainScheduled.compareAndSet(false, true)) {
            try {
                streams.executor().execute(this::drain);
            } catch (RejectedExecutionException e) {
                drainScheduled.set(false);
            }
        }
    }

    private void drain() {
        // Cleared before reading, so a snapshot offered from here on schedules another drain.
        drainScheduled.set(false);
        IdentitySnapshot offered = pending.getAndSet(null);
        synchronized (this) {
            if (closed) {
                return;
            }
            if (offered != null && (latest == null || offered.version() >= latest.version())) {
                latest = offered;
            }
            if (latest == null) {
                return;
            }
            if (!observer.isReady()) {
                deferred = true;
                return;
            }
            Instant now = streams.clock().instant();
            Step<R> step;
            try {
                step = renderer.render(latest, now);
            } catch (RuntimeException e) {
                log.error("Workload API stream failed to render snapshot {}", latest.version(), e);
                step = Step.end(Status.INTERNAL.withDescription("the agent could not build a response"));
            }
            if (step.end() != null) {
                closeLocked();
                try {
                    observer.onError(step.end().asRuntimeException());
                } catch (RuntimeException e) {
                    log.debug("Stream already closed: {}", e.toString());
                }
                return;
            }
            if (step.response() != null && !step.response().equals(lastSent)) {
                try {
                    observer.onNext(step.response());
                } catch (RuntimeException e) {
                    // Cancelled between the check and the send: the cancel handler cleans up.
                    log.debug("Stream closed while sending: {}", e.toString());
                    return;
                }
                lastSent = step.response();
                sent.accept(step.response());
            }
            scheduleRecheck(step.recheckAt(), now);
        }
    }

    private void scheduleRecheck(Instant at, Instant now) {
        if (Objects.equals(at, recheckAt)) {
            return;
        }
        if (recheck != null) {
            recheck.cancel(false);
            recheck = null;
        }
        recheckAt = at;
        if (at == null) {
            return;
        }
        long delayMillis = Math.max(0, Duration.between(now, at).toMillis()) + 1;
        try {
            recheck = streams.timer().schedule(this::recheckDue, delayMillis, TimeUnit.MILLISECONDS);
        } catch (RejectedExecutionException e) {
            recheckAt = null;
        }
    }

    private void recheckDue() {
        synchronized (this) {
            recheck = null;
            recheckAt = null;
        }
        schedule();
    }

    private void closeLocked() {
        closed = true;
        if (recheck != null) {
            recheck.cancel(false);
            recheck = null;
        }
        streams.unregister(this);
        AutoCloseable handle = subscription;
        subscription = null;
        if (handle != null) {
            closeQuietly(handle);
        }
    }

    private static void closeQuietly(AutoCloseable handle) {
        try {
            handle.close();
        } catch (Exception e) {
            log.warn("Cannot close a snapshot subscription: {}", e.toString());
        }
    }
}
