package dev.keel.agent;

/**
 * A workload attestor could not establish a process's selectors (the process exited, the
 * Kubernetes API is unreachable). The caller gets no identity from that attestor: fail closed.
 */
public final class AttestationException extends Exception {

    private static final long serialVersionUID = 1L;

    public AttestationException(String message) {
        super(message);
    }

    public AttestationException(String message, Throwable cause) {
        super(message, cause);
    }
}
