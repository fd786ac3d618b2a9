package dev.keel.identity;

/**
 * PEM text that is malformed (bad base64, a BEGIN without END, mismatched labels, headers) or holds
 * blocks of a type the caller did not expect. The message names the block and line; it never
 * contains the block's bytes.
 */
public final class InvalidPemException extends IllegalArgumentException {

    private static final long serialVersionUID = 1L;

    InvalidPemException(String message) {
        super(message);
    }
}
