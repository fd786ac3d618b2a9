package dev.keel.ca;

import java.util.Objects;

/**
 * The CA refused a request or could not serve it. {@link #code()} maps one to one onto a gRPC
 * status; the message is safe to return to the caller and to write to the audit log (it never
 * holds a token or key material).
 */
public final class CaException extends Exception {

    private static final long serialVersionUID = 1L;

    /** Why the request was not served. */
    public enum Code {
        /** The request is malformed or asks for something never granted (bad CSR, absurd TTL). */
        INVALID_ARGUMENT,
        /** No credential, or the credential is not valid. */
        UNAUTHENTICATED,
        /** The caller is authenticated but not entitled to what it asked for. */
        PERMISSION_DENIED,
        /**
         * The CA is not set up for what was asked (a Kubernetes pod check on a CA that does not
         * verify pods); retrying will not help until an operator changes its configuration.
         */
        FAILED_PRECONDITION,
        /** A dependency is down (key custody backend, audit log, token reviewer); retry later. */
        UNAVAILABLE,
        /** A bug or an inconsistent CA: the issued certificate failed its own validation. */
        INTERNAL
    }

    private final Code code;

    public CaException(Code code, String message) {
        this(code, message, null);
    }

    public CaException(Code code, String message, Throwable cause) {
        super(message, cause);
        this.code = Objects.requireNonNull(code, "code");
    }

    public Code code() {
        return code;
    }
}
