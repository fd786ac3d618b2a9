package dev.keel.hsm;

import java.io.IOException;

/**
 * The upstream authority did not sign Keel's intermediate. {@link #unavailable()} is true for an
 * outage (sealed, timing out, 5xx) that a later attempt may get past; false for a refusal
 * (permission denied, bad request). Messages never carry a token or secret.
 */
public final class UpstreamAuthorityException extends IOException {

    private static final long serialVersionUID = 1L;

    private final boolean unavailable;

    public UpstreamAuthorityException(String message, boolean unavailable, Throwable cause) {
        super(message, cause);
        this.unavailable = unavailable;
    }

    public boolean unavailable() {
        return unavailable;
    }
}
