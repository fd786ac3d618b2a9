package dev.keel.ca.crl;

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
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.locks.ReentrantLock;

/**
 * The revocation file's storage: read-modify-write under an exclusive lock that holds across
 * processes (a {@link FileLock} on a separate {@code .lock} file, since the data file is replaced by
 * rename) and across threads of this JVM (a {@code FileLock} is per process, and a second
 * {@code lock()} from the same JVM throws instead of waiting). Replacing writes a temporary file,
 * forces it, renames it over the old one and forces the directory, so readers, who do not lock,
 * and a crash both see the old content or the new, whole. (node/GuardedFile does the same for the
 * join tokens; it is package-private there.) Thread-safe.
 */
final class LockedFile {

    private static final ConcurrentHashMap<Path, ReentrantLock> JVM_LOCKS = new ConcurrentHashMap<>();

    /** A revocation list of this size holds about 50,000 entries; refuse to load anything larger. */
    static final long MAX_BYTES = 8L * 1024 * 1024;

    @FunctionalInterface
    interface Action<T> {
        T run() throws IOException;
    }

    private final Path file;
    private final Path lockFile;
    private final ReentrantLock jvmLock;

    LockedFile(Path file) {
        this.file = file.toAbsolutePath().normalize();
        this.lockFile = this.file.resolveSibling(this.file.getFileName() + ".lock");
        this.jvmLock = JVM_LOCKS.computeIfAbsent(canonical(lockFile), p -> new ReentrantLock());
    }

    private static Path canonical(Path file) {
        try {
            return file.getParent().toRealPath().resolve(file.getFileName());
        } catch (IOException e) {
            return file; // the directory does not exist yet; the lock creates it under this path
        }
    }

    Path path() {
        return file;
    }

    <T> T locked(Action<T> action) throws IOException {
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

    /** The content, or empty if the file does not exist. */
    Optional<byte[]> read() throws IOException {
        try {
            long size = Files.size(file);
            if (size > MAX_BYTES) {
                throw new IOException(file.getFileName() + ": " + size + " bytes (expected: at most " + MAX_BYTES + ")");
            }
            return Optional.of(Files.readAllBytes(file));
        } catch (NoSuchFileException e) {
            return Optional.empty();
        }
    }

    /** Replaces the content durably; only under {@link #locked}. */
    void replace(byte[] content) throws IOException {
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
        try (FileChannel directory = FileChannel.open(dir, StandardOpenOption.READ)) {
            directory.force(true);
        } catch (IOException | UnsupportedOperationException e) {
            // best effort where directories cannot be opened; the file itself is on disk
        }
    }
}
