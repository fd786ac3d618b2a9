package dev.keel.identity.internal;

/** Malformed JSON, or JSON beyond a limit. The message ends with the character offset. */
public final class JsonException extends IllegalArgumentException {

    private static final long serialVersionUID = 1L;

    private final int offset;

    JsonException(String message, int offset) {
        super("JSON: " + message + " at offset " + offset);
        this.offset = offset;
    }

    /** The offset of the offending character in the input, counted in UTF-16 chars. */
    public int offset() {
        return offset;
    }
}
