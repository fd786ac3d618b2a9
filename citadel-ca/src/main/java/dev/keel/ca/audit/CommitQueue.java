package dev.keel.ca.audit;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;

/**
 * Hands lines from any number of callers to the one writer thread, and is the single place
 * that decides whether a line is still accepted. Accepting and closing share one lock so that
 * no line can slip in after the writer has taken its last batch; such a line's future would
 * never complete. Thread-safe.
 */
final class CommitQueue {

    private final Object lock = new Object();
    private final ArrayDeque<PendingLine> pending = new ArrayDeque<>();
    private boolean closed;
    private AuditLogException failure;

    /** Queues the line, or returns why it cannot be accepted. */
    AuditLogException offer(PendingLine line) {
        synchronized (lock) {
            if (failure != null) {
                return new AuditLogException(
                        "audit log has failed and accepts no more lines: " + failure.getMessage(),
                        failure);
            }
            if (closed) {
                return new AuditLogException("audit log is closed");
            }
            pending.add(line);
            if (pending.size() == 1) {
                lock.notifyAll();
            }
            return null;
        }
    }

    /**
     * Waits for lines and takes everything that arrived while the previous batch was being
     * forced, which is what makes this a group commit, up to {@code maxLines} lines or about
     * {@code maxBytes} bytes of records (at least one line however long). Returns an empty list
     * once the queue is closed and drained.
     */
    List<PendingLine> takeBatch(int maxLines, int maxBytes) throws InterruptedException {
        synchronized (lock) {
            while (pending.isEmpty() && !closed) {
                lock.wait();
            }
            List<PendingLine> batch = new ArrayList<>(Math.min(maxLines, pending.size()));
            long bytes = 0;
            while (batch.size() < maxLines && !pending.isEmpty()
                    && (batch.isEmpty() || bytes + pending.peek().body().length <= maxBytes)) {
                PendingLine line = pending.poll();
                bytes += line.body().length;
                batch.add(line);
            }
            return batch;
        }
    }

    /** Stops accepting lines; those already queued will still be taken. */
    void close() {
        synchronized (lock) {
            closed = true;
            lock.notifyAll();
        }
    }

    /** Stops accepting lines for good and returns those still queued, which must be failed. */
    List<PendingLine> fail(AuditLogException cause) {
        synchronized (lock) {
            if (failure == null) {
                failure = cause;
            }
            closed = true;
            List<PendingLine> orphans = new ArrayList<>(pending);
            pending.clear();
            lock.notifyAll();
            return orphans;
        }
    }
}
