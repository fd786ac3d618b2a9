package dev.keel.ca.audit;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.Optional;

/**
 * The sidecar {@code <log>.head}: the log's last seq and last line hash, one JSON line such as
 * {@code {"seq":120,"hash":"ab12..."}}. The chain alone cannot show that lines were cut off the
 * end; comparing the log with this file can.
 *
 * <p>Replaced atomically: written to {@code <log>.head.tmp}, forced, renamed over the old one,
 * then the directory is forced so that the rename itself survives a crash. Without that last
 * step a crash could bring back a head several batches old, and the log would look like it had
 * gained lines nobody can vouch for. Not thread-safe; the writer thread owns it.
 */
final class HeadFile implements AutoCloseable {

    private static final ObjectMapper JSON = new ObjectMapper();

    private final Path path;
    private final Path temp;
    private final Path directory;
    private FileChannel directoryChannel;

    HeadFile(Path logFile) {
        Path absolute = logFile.toAbsolutePath();
        this.path = absolute.resolveSibling(absolute.getFileName() + ".head");
        this.temp = absolute.resolveSibling(absolute.getFileName() + ".head.tmp");
        this.directory = absolute.getParent();
    }

    Path path() {
        return path;
    }

    /** The head, or empty if the file does not exist. Throws if it exists but is not a head. */
    Optional<Head> read() throws IOException {
        byte[] bytes;
        try {
            bytes = Files.readAllBytes(path);
        } catch (NoSuchFileException e) {
            return Optional.empty();
        }
        return Optional.of(parse(bytes));
    }

    static Head parse(byte[] bytes) throws IOException {
        JsonNode node;
        try {
            node = JSON.readTree(bytes);
        } catch (JsonProcessingException e) {
            throw new IOException("not valid JSON: " + e.getOriginalMessage(), e);
        }
        if (node == null || !node.isObject()) {
            throw new IOException("not a JSON object");
        }
        JsonNode seq = node.get("seq");
        JsonNode hash = node.get("hash");
        if (seq == null || !seq.canConvertToExactIntegral() || !seq.canConvertToLong() || seq.asLong() < 0) {
            throw new IOException("\"seq\" is missing or not a non-negative integer");
        }
        if (hash == null || !hash.isTextual() || !LineParser.isSha256Hex(hash.textValue())) {
            throw new IOException("\"hash\" is missing or not 64 lowercase hex digits");
        }
        return new Head(seq.asLong(), hash.textValue());
    }

    void write(Head head) throws IOException {
        byte[] bytes = ("{\"seq\":" + head.seq() + ",\"hash\":\"" + head.hash() + "\"}\n")
                .getBytes(StandardCharsets.US_ASCII);
        try (FileChannel out = FileChannel.open(temp, StandardOpenOption.CREATE,
                StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING)) {
            ByteBuffer buffer = ByteBuffer.wrap(bytes);
            while (buffer.hasRemaining()) {
                out.write(buffer);
            }
            out.force(true);
        }
        // On POSIX an atomic move is rename(2), which replaces the old head in one step.
        Files.move(temp, path, StandardCopyOption.ATOMIC_MOVE);
        forceDirectory();
    }

    private void forceDirectory() throws IOException {
        if (directoryChannel == null) {
            directoryChannel = FileChannel.open(directory, StandardOpenOption.READ);
        }
        directoryChannel.force(true);
    }

    @Override
    public void close() throws IOException {
        if (directoryChannel != null) {
            directoryChannel.close();
        }
    }
}
