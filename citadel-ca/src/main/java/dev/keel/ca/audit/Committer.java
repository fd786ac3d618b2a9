package dev.keel.ca.audit;

import java.util.List;
import java.util.concurrent.Executor;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The writer thread's loop: take everything queued, write it as one batch, force once, release
 * the callers, then move the head file. Releasing callers before the head is written is safe:
 * their lines are already durable, and a crash before the head catches up is exactly the
 * one-batch gap that {@link ChainRecovery} accepts. The next batch is not written until the
 * head is, which is what keeps that gap to one batch.
 *
 * <p>Futures are completed on {@code completions}, not here, so that a caller's slow or
 * blocking continuation can delay other callers' responses but never the log itself.
 */
final class Committer implements Runnable {

    private static final Logger LOG = LoggerFactory.getLogger(Committer.class);

    private final String logName;
    private final CommitQueue queue;
    private final ChainWriter writer;
    private final HeadFile headFile;
    private final Executor completions;

    Committer(String logName, CommitQueue queue, ChainWriter writer, HeadFile headFile,
            Executor completions) {
        this.logName = logName;
        this.queue = queue;
        this.writer = writer;
        this.headFile = headFile;
        this.completions = completions;
    }

    @Override
    public void run() {
        while (true) {
            List<PendingLine> batch;
            try {
                batch = queue.takeBatch(ChainFormat.MAX_BATCH_LINES, ChainFormat.MAX_BATCH_BYTES);
            } catch (InterruptedException e) {
                // Nobody is meant to interrupt this thread; treat it as a failure rather than
                // exiting quietly and leaving callers waiting forever.
                fail(List.of(), "writer thread interrupted", e);
                return;
            }
            if (batch.isEmpty()) {
                return;
            }
            Head head;
            try {
                head = writer.writeBatch(batch);
            } catch (Throwable e) {
                // After a failed write or force the file's state is unknown (Linux may even drop
                // the dirty pages and report success on a retry), so never retry: fail closed.
                fail(batch, "writing to the audit log failed", e);
                return;
            }
            completions.execute(() -> batch.forEach(line -> line.durable().complete(null)));
            try {
                headFile.write(head);
            } catch (Throwable e) {
                fail(List.of(), "writing the audit log's head file failed", e);
                return;
            }
        }
    }

    private void fail(List<PendingLine> batch, String what, Throwable cause) {
        AuditLogException failure = new AuditLogException(
                what + " (" + logName + "); refusing all further appends: " + cause, cause);
        LOG.error("{}; the CA cannot audit and must refuse to issue", failure.getMessage(), cause);
        List<PendingLine> orphans = queue.fail(failure);
        completions.execute(() -> {
            batch.forEach(line -> line.durable().completeExceptionally(failure));
            orphans.forEach(line -> line.durable().completeExceptionally(failure));
        });
    }
}
