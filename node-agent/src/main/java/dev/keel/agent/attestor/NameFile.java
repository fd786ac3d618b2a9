package dev.keel.agent.attestor;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.FileTime;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Names by numeric id from {@code /etc/passwd} or {@code /etc/group} (both {@code name:password:id:...}),
 * read without JNI or NSS: local accounts only, which is what a node's system users are. The first
 * line with an id wins, as getpwuid does. Re-read when the file's modification time or size changes.
 * Thread-safe.
 */
final class NameFile {

    private static final Logger log = LoggerFactory.getLogger(NameFile.class);
    /** /etc/passwd of a large host is well under this; a bigger file is not one. */
    private static final long MAX_SIZE = 16L * 1024 * 1024;

    private record Loaded(FileTime modified, long size, Map<Integer, String> names) {
    }

    private final Path file;
    private volatile Loaded loaded;

    NameFile(Path file) {
        this.file = Objects.requireNonNull(file, "file");
    }

    /** The name of {@code id}, or null when the file does not name it (or cannot be read). */
    String nameOf(int id) {
        Loaded current = load();
        return current == null ? null : current.names.get(id);
    }

    private Loaded load() {
        BasicFileAttributes attributes;
        try {
            attributes = Files.readAttributes(file, BasicFileAttributes.class);
        } catch (NoSuchFileException e) {
            return null;
        } catch (IOException e) {
            log.warn("Cannot read {}: {}", file, e.toString());
            return null;
        }
        Loaded current = loaded;
        if (current != null && current.modified.equals(attributes.lastModifiedTime()) && current.size == attributes.size()) {
            return current;
        }
        if (attributes.size() > MAX_SIZE) {
            log.warn("{} is {} bytes; not read (expected: <= {})", file, attributes.size(), MAX_SIZE);
            return null;
        }
        List<String> lines;
        try {
            lines = Files.readAllLines(file);
        } catch (IOException e) {
            log.warn("Cannot read {}: {}", file, e.toString());
            return null;
        }
        Map<Integer, String> names = new HashMap<>();
        for (String line : lines) {
            if (line.isEmpty() || line.startsWith("#") || line.startsWith("+") || line.startsWith("-")) {
                continue;
            }
            String[] fields = line.split(":", -1);
            if (fields.length < 3 || fields[0].isEmpty()) {
                continue;
            }
            try {
                names.putIfAbsent(Integer.parseUnsignedInt(fields[2]), fields[0]);
            } catch (NumberFormatException e) {
                // Not an account line.
            }
        }
        current = new Loaded(attributes.lastModifiedTime(), attributes.size(), Map.copyOf(names));
        loaded = current;
        return current;
    }
}
