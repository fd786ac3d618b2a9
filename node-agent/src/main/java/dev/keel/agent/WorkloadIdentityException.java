package dev.keel.agent;

/** The agent cannot provide an identity right now (the CA refused or is unreachable). */
public final class WorkloadIdentityException extends Exception {

    private static final long serialVersionUID = 1L;

    /** Whether retrying later may succeed (CA unreachable) rather than never (CA refused). */
    private final boolean transientFailure;

    public WorkloadIdentityException(String message, boolean transientFailure, Throwable cause) {
        super(message, cause);
        this.transientFailure = transientFailure;
    }

    public boolean isTransient() {
        return transientFailure;
    }
}
