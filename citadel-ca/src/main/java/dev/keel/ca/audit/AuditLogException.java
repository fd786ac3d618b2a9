package dev.keel.ca.audit;

/**
 * The audit log could not do what was asked: a line could not be made durable, the log on
 * disk is damaged, or the log is closed or has failed earlier.
 *
 * <p>For the CA this always means the same thing: refuse the issuance. A certificate whose
 * issuance is not on disk must never leave the CA. Unchecked so that it travels through
 * {@link java.util.concurrent.CompletableFuture} chains without wrapping gymnastics.
 */
public final class AuditLogException extends RuntimeException {

    private static final long serialVersionUID = 1L;

    public AuditLogException(String message) {
        super(message);
    }

    public AuditLogException(String message, Throwable cause) {
        super(message, cause);
    }
}
