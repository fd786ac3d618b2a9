package dev.keel.proxy.inbound;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.Objects;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * An access log file written in batches: lines are appended to a memory buffer and written with one
 * system call per {@code flushInterval} (or when {@value #FLUSH_BYTES} bytes are waiting), instead of
 * one write per request as a logger does. Lines are whole in the file (each write holds complete lines;
 * the file is opened for append). If writing falls behind by more than {@value #MAX_BUFFERED_BYTES}
 * bytes (a stalled disk), further lines are dropped and counted rather than stalling the event loops.
 *
 * <p>A sink for {@link InboundProxy.Builder#accessLog}. Thread-safe: {@link #accept} only takes a
 * short lock to copy the line; {@link #close()} writes what is left.
 */
public final class AccessLogFile implements Consumer<String>, AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(AccessLogFile.class);
    static final int FLUSH_BYTES = 64 * 1024;
    static final int MAX_BUFFERED_BYTES = 4 * 1024 * 1024;

    private final FileChannel file;
    private final ScheduledExecutorService flusher;
    private final AtomicLong dropped = new AtomicLong();
    private byte[] buffer = new byte[FLUSH_BYTES * 2];
    private int length;
    private boolean closed;

    private AccessLogFile(FileChannel file, Duration flushInterval) {
        this.file = file;
        this.flusher = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "keel-access-log");
            t.setDaemon(true);
            return t;
        });
        long every = flushInterval.toMillis();
        flusher.scheduleWithFixedDelay(this::flushQuietly, every, every, TimeUnit.MILLISECONDS);
    }

    /** Appends to {@code path} (created if missing), flushing at least every {@code flushInterval}. */
    public static AccessLogFile open(Path path, Duration flushInterval) throws IOException {
        Objects.requireNonNull(path, "path");
        if (Objects.requireNonNull(flushInterval, "flushInterval").toMillis() <= 0) {
            throw new IllegalArgumentException("flushInterval: " + flushInterval + " (expected: > 0)");
        }
        return new AccessLogFile(FileChannel.open(path, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.APPEND), flushInterval);
    }

    /** Queues one line (a newline is added). Never blocks on the disk unless {@value #FLUSH_BYTES} bytes wait. */
    @Override
    public void accept(String line) {
        boolean flushNow;
        synchronized (this) {
            if (closed) {
                return;
            }
            int n = line.length();
            if (!room(n)) {
                return;
            }
            // Access log lines are JSON built by AccessLog with every non-ASCII character escaped.
            for (int i = 0; i < n; i++) {
                buffer[length + i] = (byte) line.charAt(i);
            }
            length += n;
            buffer[length++] = '\n';
            flushNow = length >= FLUSH_BYTES;
        }
        if (flushNow) {
            flushQuietly();
        }
    }

    /** As {@link #accept(String)} for a line already in ASCII bytes ({@code line[0..length)}). */
    void acceptAscii(byte[] line, int n) {
        boolean flushNow;
        synchronized (this) {
            if (closed) {
                return;
            }
            if (!room(n)) {
                return;
            }
            System.arraycopy(line, 0, buffer, length, n);
            length += n;
            buffer[length++] = '\n';
            flushNow = length >= FLUSH_BYTES;
        }
        if (flushNow) {
            flushQuietly();
        }
    }

    /** Makes room for a line of {@code n} bytes and its newline; false (and counted) when it must be dropped. Holds the lock. */
    private boolean room(int n) {
        if (length + n + 1 > MAX_BUFFERED_BYTES) {
            dropped.incrementAndGet();
            return false;
        }
        if (length + n + 1 > buffer.length) {
            byte[] bigger = new byte[Math.min(MAX_BUFFERED_BYTES, Math.max(buffer.length * 2, length + n + 1))];
            System.arraycopy(buffer, 0, bigger, 0, length);
            buffer = bigger;
        }
        return true;
    }

    /** Lines dropped because the file could not keep up. */
    public long dropped() {
        return dropped.get();
    }

    /** Writes what is buffered. */
    public void flush() throws IOException {
        // The file lock is held from taking the batch to writing it, so batches reach the file in the
        // order they were taken; accept() only needs this object's lock and is not held up by the write.
        synchronized (file) {
            byte[] out;
            int n;
            synchronized (this) {
                if (length == 0) {
                    return;
                }
                out = buffer;
                n = length;
                buffer = new byte[Math.max(FLUSH_BYTES * 2, Math.min(out.length, FLUSH_BYTES * 4))];
                length = 0;
            }
            ByteBuffer b = ByteBuffer.wrap(out, 0, n);
            while (b.hasRemaining()) {
                file.write(b);
            }
        }
    }

    private void flushQuietly() {
        try {
            flush();
        } catch (IOException e) {
            LOG.warn("writing the access log failed: {}", e.toString());
        }
    }

    @Override
    public void close() throws IOException {
        flusher.shutdown();
        try {
            flusher.awaitTermination(2, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        flush();
        synchronized (this) {
            closed = true;
        }
        file.close();
        if (dropped.get() > 0) {
            LOG.warn("{} access log lines were dropped because the file could not keep up", dropped.get());
        }
    }

}
