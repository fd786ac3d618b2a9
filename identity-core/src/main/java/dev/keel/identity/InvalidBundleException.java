package dev.keel.identity;

/**
 * A SPIFFE bundle document that cannot be used: malformed JSON, a missing {@code keys} member, an
 * {@code x509-svid} entry without exactly one certificate, a {@code jwt-svid} entry without a key
 * ID, duplicate key IDs, key parameters that do not match the certificate. The message names the
 * entry ({@code keys[2]}) and the rule.
 */
public final class InvalidBundleException extends IllegalArgumentException {

    private static final long serialVersionUID = 1L;

    InvalidBundleException(String message) {
        super(message);
    }

    InvalidBundleException(String message, Throwable cause) {
        super(message, cause);
    }
}
