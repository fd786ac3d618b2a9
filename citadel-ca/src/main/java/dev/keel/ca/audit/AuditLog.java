package dev.keel.ca.audit;

import dev.keel.ca.audit.ChainRecovery.DamagedLogException;
import dev.keel.ca.audit.ChainRecovery.Resume;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The CA's append-only, hash-chained audit log: one JSON line per issuance or refusal, each
 * naming the SHA-256 of the line before it, made durable before the caller hears back.
 *
 * <p><b>Promise.</b> The future returned by {@link #append} completes normally only after the
 * record's line has been written and {@link FileChannel#force} has returned for it. Only then
 * may the CA release the certificate. If it completes exceptionally, with an
 * {@link AuditLogException}, the line may or may not be on disk and the CA must refuse the
 * request. After any write or force failure the log fails closed: every later append fails at
 * once, until the CA is restarted and the log reopened (which succeeds only if what is on disk
 * still chains).
 *
 * <p><b>File format.</b> One compact JSON object per line, fields always in this order:
 * <pre>{"seq":N,"time":"2025-01-01T00:00:00Z","caller":...,"spiffe_id":...,"serial":...,
 * "not_after":...,"key_fingerprint":...,"outcome":"issued"|"refused"|"revoked","reason":...,"prev":"hex"}</pre>
 * {@code seq} counts from 1 with no gaps. Times are ISO-8601 UTC. Absent values are JSON
 * {@code null}, never omitted. Lines are pure ASCII: non-ASCII characters are written as JSON
 * backslash-u escapes. {@code prev} is the lowercase hex SHA-256 of the previous line's exact bytes
 * without its newline; the first line's {@code prev} is 64 zeros. Beside the log,
 * {@code <file>.head} holds {@code {"seq":N,"hash":"hex"}} for the last line so that cutting
 * lines off the end can be detected; it is replaced atomically after every batch.
 *
 * <p><b>Threading.</b> Thread-safe: any number of threads may append concurrently. One writer
 * thread takes everything queued, writes it in one write and forces once (group commit), so
 * throughput grows with concurrency while each caller still waits for its own line to be
 * durable. Futures complete on a separate completion thread of this log, so continuations
 * attached with the non-async {@code CompletableFuture} methods do not stall the writer, but a
 * slow one delays other callers: hand heavy work to your own executor. Only one
 * {@code AuditLog} may have a file open at a time, across processes too (a file lock enforces
 * it).
 */
public final class AuditLog implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(AuditLog.class);

    /** How the log file's channel is opened; a seam for tests that need a failing disk. */
    @FunctionalInterface
    interface ChannelOpener {
        FileChannel open(Path file) throws IOException;
    }

    private final Path file;
    private final FileChannel channel;
    private final FileLock lock;
    private final HeadFile headFile;
    private final CommitQueue queue = new CommitQueue();
    private final ExecutorService completions;
    private final Thread writerThread;
    private final Object closeLock = new Object();
    private boolean closed;

    private AuditLog(Path file, FileChannel channel, FileLock lock, HeadFile headFile, Head head) {
        this.file = file;
        this.channel = channel;
        this.lock = lock;
        this.headFile = headFile;
        String name = file.getFileName().toString();
        this.completions = Executors.newSingleThreadExecutor(runnable -> {
            Thread thread = new Thread(runnable, "keel-audit-complete-" + name);
            thread.setDaemon(true);
            return thread;
        });
        Committer committer = new Committer(
                file.toString(), queue, new ChainWriter(channel, head), headFile, completions);
        this.writerThread = new Thread(committer, "keel-audit-writer-" + name);
        // Daemon so a forgotten close() cannot keep the CA process alive; a line still queued
        // at exit was never acknowledged, so no certificate depends on it.
        writerThread.setDaemon(true);
        writerThread.start();
    }

    /**
     * Opens the log at {@code file}, creating it (and its head file) if it does not exist, or
     * continuing its chain if it does.
     *
     * @throws AuditLogException if the file cannot be opened or locked, or if its end does not
     *     match its head file (truncated, edited last line, partial last line, missing head).
     *     The CA must not start issuing then; the message tells the operator to run
     *     {@code keel ca audit verify <file>}.
     */
    public static AuditLog open(Path file) {
        return open(file, AuditLog::openChannel);
    }

    static AuditLog open(Path file, ChannelOpener opener) {
        Objects.requireNonNull(file, "file");
        HeadFile headFile = new HeadFile(file);
        boolean existed = Files.exists(file);
        FileChannel channel = null;
        try {
            if (!existed && Files.exists(headFile.path())) {
                throw damaged(file, "the log file is missing but its head file exists");
            }
            channel = opener.open(file);
            FileLock lock = lockExclusively(channel, file);
            Resume resume;
            try {
                resume = ChainRecovery.resume(channel, headFile.read());
            } catch (DamagedLogException e) {
                throw damaged(file, e.getMessage());
            } catch (IOException e) {
                throw new AuditLogException("cannot read audit log " + file + ": " + e, e);
            }
            if (resume.headNeedsRepair()) {
                if (existed && channel.size() > 0) {
                    LOG.warn("audit log {} is ahead of its head file (a crash between writing "
                            + "the log and the head); the extra lines chain, so the head is "
                            + "moved to {}", file, resume.head());
                }
                // The extra lines may exist only in the page cache (a force that failed without a
                // reboot), and a head must never name lines that are not durable. The head write
                // then forces the directory, which also makes a new log's entry durable.
                channel.force(true);
                headFile.write(resume.head());
            }
            channel.position(channel.size());
            return new AuditLog(file, channel, lock, headFile, resume.head());
        } catch (IOException e) {
            closeQuietly(channel, headFile);
            throw new AuditLogException("cannot open audit log " + file + ": " + e, e);
        } catch (RuntimeException e) {
            closeQuietly(channel, headFile);
            throw e;
        }
    }

    /**
     * Queues the record. The returned future completes once its line is durable on disk, or
     * exceptionally with an {@link AuditLogException} if it cannot be made durable, the log has
     * failed, or the log is closed. Never throws for those reasons; throws only
     * {@link NullPointerException} for a null record.
     */
    public CompletableFuture<Void> append(AuditRecord record) {
        Objects.requireNonNull(record, "record");
        byte[] body = RecordEncoder.encodeBody(record);
        CompletableFuture<Void> durable = new CompletableFuture<>();
        AuditLogException refused = queue.offer(new PendingLine(body, durable));
        if (refused != null) {
            durable.completeExceptionally(refused);
        }
        return durable;
    }

    /**
     * Appends and waits until the line is durable.
     *
     * @throws AuditLogException if the line could not be made durable; the CA must refuse. If
     *     the calling thread is interrupted while waiting, the interrupt flag is kept and this
     *     throws too: the line may still be written, but the caller cannot count on it.
     */
    public void appendAndWait(AuditRecord record) {
        try {
            append(record).get();
        } catch (ExecutionException e) {
            if (e.getCause() instanceof AuditLogException failure) {
                // Wrapped so the stack trace shows this caller, not only the writer thread.
                throw new AuditLogException(failure.getMessage(), failure);
            }
            throw new AuditLogException("audit append failed: " + e.getCause(), e.getCause());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AuditLogException("interrupted while waiting for the audit line to be durable", e);
        }
    }

    /** The log file this instance appends to. */
    public Path file() {
        return file;
    }

    /**
     * Stops accepting records, writes and forces everything already queued, completes its
     * futures, and releases the file. Idempotent. Blocks until the writer has finished; do not
     * call it from a continuation of one of this log's futures.
     */
    @Override
    public void close() {
        // Held throughout, so that a second caller returns only once the file is released.
        synchronized (closeLock) {
            if (closed) {
                return;
            }
            closed = true;
            queue.close();
            boolean interrupted = awaitWriter();
            completions.shutdown();
            try {
                while (!completions.awaitTermination(1, TimeUnit.MINUTES)) {
                    LOG.warn("audit log {}: still waiting for future continuations to finish", file);
                }
            } catch (InterruptedException e) {
                interrupted = true;
            }
            try {
                if (lock.isValid()) {
                    lock.release();
                }
            } catch (IOException e) {
                LOG.warn("audit log {}: releasing the file lock failed", file, e);
            }
            closeQuietly(channel, headFile);
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }
    }

    private boolean awaitWriter() {
        boolean interrupted = false;
        while (writerThread.isAlive()) {
            try {
                writerThread.join();
            } catch (InterruptedException e) {
                // Returning early would release the file under a writer still using it.
                interrupted = true;
            }
        }
        return interrupted;
    }

    private static FileChannel openChannel(Path file) throws IOException {
        // Not APPEND, which cannot be combined with READ; the lock makes this the only writer,
        // so positioning at the end once on open is enough.
        return FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.READ);
    }

    private static FileLock lockExclusively(FileChannel channel, Path file) throws IOException {
        FileLock lock;
        try {
            lock = channel.tryLock();
        } catch (OverlappingFileLockException e) {
            lock = null;
        }
        if (lock == null) {
            // Two writers would interleave two chains in one file and destroy both.
            throw new AuditLogException("audit log " + file + " is already open by another writer");
        }
        return lock;
    }

    private static AuditLogException damaged(Path file, String why) {
        return new AuditLogException("audit log " + file + " is damaged: " + why
                + ". Refusing to open it: run `keel ca audit verify " + file
                + "` to find which lines, and keep the file as evidence.");
    }

    private static void closeQuietly(FileChannel channel, HeadFile headFile) {
        try {
            if (channel != null) {
                channel.close();
            }
        } catch (IOException e) {
            LOG.warn("closing audit log channel failed", e);
        }
        try {
            headFile.close();
        } catch (IOException e) {
            LOG.warn("closing audit log directory handle failed", e);
        }
    }
}
