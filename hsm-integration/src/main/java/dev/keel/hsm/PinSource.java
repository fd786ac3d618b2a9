package dev.keel.hsm;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Objects;

/**
 * Where a secret comes from: {@code file:<path>} (the first line of the file) or
 * {@code env:<VARIABLE>}. A token's PIN ({@code pin-source}), and for Vault a token, an AppRole role
 * id or secret id ({@code token-source}, {@code role-id-source}, {@code secret-id-source}). The
 * secret is read each time it is needed and handed out as a {@code char[]} the caller clears;
 * {@link #toString()} names the source, never the secret.
 *
 * <p>Immutable and thread-safe.
 */
public final class PinSource {

    private final String parameter;
    private final String kind;
    private final String location;

    private PinSource(String parameter, String kind, String location) {
        this.parameter = parameter;
        this.kind = kind;
        this.location = location;
    }

    /**
     * Parses {@code file:<path>} or {@code env:<VARIABLE>}.
     *
     * @throws IllegalArgumentException for another form
     */
    public static PinSource parse(String source) {
        return parse("pin-source", source);
    }

    /**
     * Parses {@code file:<path>} or {@code env:<VARIABLE>} given as {@code parameter} (named in
     * messages, e.g. {@code token-source}).
     *
     * @throws IllegalArgumentException for another form
     */
    public static PinSource parse(String parameter, String source) {
        Objects.requireNonNull(parameter, "parameter");
        Objects.requireNonNull(source, "source");
        if (source.startsWith("file:") && source.length() > 5) {
            String path = source.substring(5);
            if (path.startsWith("//")) {
                path = path.substring(2); // file:///etc/pin
            }
            return new PinSource(parameter, "file", path);
        }
        if (source.startsWith("env:") && source.substring(4).matches("[A-Za-z_][A-Za-z0-9_]*")) {
            return new PinSource(parameter, "env", source.substring(4));
        }
        throw new IllegalArgumentException(parameter + ": '" + source
                + "' (expected: file:<path> or env:<VARIABLE>)");
    }

    /**
     * Reads the PIN; the caller clears the array when done.
     *
     * @throws IOException naming the source (never its contents) when it is missing or empty
     */
    public char[] read() throws IOException {
        if (kind.equals("env")) {
            String value = System.getenv(location);
            if (value == null || value.isEmpty()) {
                throw new IOException(parameter + " " + this + ": the variable is not set");
            }
            return value.toCharArray();
        }
        byte[] bytes;
        try {
            bytes = Files.readAllBytes(Path.of(location));
        } catch (IOException e) {
            throw new IOException(parameter + " " + this + ": cannot read the file (" + e.getClass().getSimpleName() + ")");
        }
        try {
            int end = 0;
            while (end < bytes.length && bytes[end] != '\n' && bytes[end] != '\r') {
                end++;
            }
            if (end == 0) {
                throw new IOException(parameter + " " + this + ": the file is empty");
            }
            CharBuffer chars = StandardCharsets.UTF_8.decode(ByteBuffer.wrap(bytes, 0, end));
            char[] pin = new char[chars.remaining()];
            chars.get(pin);
            Arrays.fill(chars.array(), '\0');
            return pin;
        } finally {
            Arrays.fill(bytes, (byte) 0);
        }
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof PinSource && ((PinSource) o).kind.equals(kind) && ((PinSource) o).location.equals(location);
    }

    @Override
    public int hashCode() {
        return kind.hashCode() * 31 + location.hashCode();
    }

    /** {@code file:<path>} or {@code env:<VARIABLE>}: where the PIN is, not the PIN. */
    @Override
    public String toString() {
        return kind + ":" + location;
    }
}
