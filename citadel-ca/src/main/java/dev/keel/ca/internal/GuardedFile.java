package dev.keel.ca.internal;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Objects;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.locks.ReentrantLock;

/**
 * A small state file in the CA's data directory that two processes change: the server (consuming
 * join tokens, taking queued revocations) and the CLI (creating tokens, entries and revocations). Every read-modify-write runs under
 * {@link #locked}, which holds an exclusive {@link FileLock} on a separate lock file, so it
 * serializes with other processes, and a JVM-wide lock for the same path first, because a
 * {@code FileLock} is held per process and a second {@code lock()} from the same JVM throws
 * instead of waiting. Content is replaced by writing a temporary file, forcing it to disk and
 * renaming it over the old one, so a reader (who does not lock) sees the old or the new file whole,
 * never half of one, and a crash leaves one of the two.
 *
 * <p>The lock file is a separate file because the data file is replaced by rename: a lock on it
 * would be a lock on an inode that is about to be unlinked. Thread-safe.
 */
public final class GuardedFile {

    /** Locks by absolute lock-file path, shared by every instance in this JVM. */
    private static final ConcurrentHashMap<Path, ReentrantLock> JVM_LOCKS = new ConcurrentHashMap<>();

    /** Bounds what a reader loads into memory; the stores' files are kilobytes. */
    public static final long MAX_BYTES = 16L * 1024 * 1024;

    /** What a file looked like: changes when it is replaced (new inode) or edited in place. */
    public record Stamp(Object fileKey, long modifiedNanos, long size) {
        public static final Stamp MISSING = new Stamp("missing", -1, -1);
    }

    @FunctionalInterface
    public interface Action<T> {
        T run() throws IOException;
    }

    private final Path file;
    private final Path lockFile;
    private final ReentrantLock jvmLock;

    public GuardedFile(Path file, Path lockFile) {
        this.file = Objects.requireNonNull(file, "file").toAbsolutePath().normalize();
        this.lockFile = Objects.requireNonNull(lockFile, "lockFile").toAbsolutePath().normalize();
        this.jvmLock = JVM_LOCKS.computeIfAbsent(canonical(this.lockFile), p -> new ReentrantLock());
    }

    /** One key per file, even when the directory is reached through a symbolic link. */
    private static Path canonical(Path file) {
        try {
            return file.getParent().toRealPath().resolve(file.getFileName());
        } catch (IOException e) {
            return file; // not there yet: created by the first lock, under this same path
        }
    }

    public Path path() {
        return file;
    }

    /** Runs {@code action} holding the JVM-wide and the inter-process lock; blocks until both are free. */
    public <T> T locked(Action<T> action) throws IOException {
        jvmLock.lock();
        try {
            Files.createDirectories(lockFile.getParent());
            try (FileChannel channel = FileChannel.open(lockFile, StandardOpenOption.CREATE, StandardOpenOption.WRITE);
                    FileLock lock = channel.lock()) {
                return action.run();
            }
        } finally {
            jvmLock.unlock();
        }
    }

    /** The content, or empty when the file does not exist. */
    public Optional<byte[]> read() throws IOException {
        try {
            long size = Files.size(file);
            if (size > MAX_BYTES) {
                throw new IOException(file.getFileName() + ": " + size + " bytes (expected: <= " + MAX_BYTES + ")");
            }
            return Optional.of(Files.readAllBytes(file));
        } catch (NoSuchFileException e) {
            return Optional.empty();
        }
    }

    /** Identifies the file's current version cheaply (one stat), for reload-on-change. */
    public Stamp stamp() throws IOException {
        try {
            BasicFileAttributes attributes = Files.readAttributes(file, BasicFileAttributes.class);
            Object key = attributes.fileKey() == null ? "no-key" : attributes.fileKey();
            return new Stamp(key, attributes.lastModifiedTime().to(java.util.concurrent.TimeUnit.NANOSECONDS),
                    attributes.size());
        } catch (NoSuchFileException e) {
            return Stamp.MISSING;
        }
    }

    /**
     * Replaces the file's content durably: temporary file (owner read/write only), fsync, atomic
     * rename, fsync of the directory. Call under {@link #locked}.
     */
    public void replace(byte[] content) throws IOException {
        if (!jvmLock.isHeldByCurrentThread()) {
            throw new IllegalStateException("replace() outside locked()");
        }
        Path dir = file.getParent();
        Path tmp = dir.resolve("." + file.getFileName() + "." + UUID.randomUUID() + ".tmp");
        try {
            Files.createFile(tmp, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
            try (FileChannel out = FileChannel.open(tmp, StandardOpenOption.WRITE)) {
                ByteBuffer buffer = ByteBuffer.wrap(content);
                while (buffer.hasRemaining()) {
                    out.write(buffer);
                }
                out.force(true);
            }
            try {
                Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            } catch (AtomicMoveNotSupportedException e) {
                throw new IOException(file.getFileName() + ": the file system cannot rename atomically", e);
            }
        } finally {
            Files.deleteIfExists(tmp);
        }
        forceDirectory(dir);
    }

    /** Makes the rename itself durable; a no-op where directories cannot be opened (not Linux). */
    private static void forceDirectory(Path dir) {
        try (FileChannel channel = FileChannel.open(dir, StandardOpenOption.READ)) {
            channel.force(true);
        } catch (IOException | UnsupportedOperationException e) {
            // best effort: the data file itself is already on disk
        }
    }
}
