package dev.keel.ca.auth;

/**
 * Credentials were presented and are not valid, or the authority that checks them could not be
 * reached ({@link #unavailable()}). Messages never contain the token.
 */
public final class AuthenticationException extends Exception {

    private static final long serialVersionUID = 1L;

    private final boolean unavailable;

    public AuthenticationException(String message) {
        this(message, false, null);
    }

    public AuthenticationException(String message, boolean unavailable, Throwable cause) {
        super(message, cause);
        this.unavailable = unavailable;
    }

    public boolean unavailable() {
        return unavailable;
    }
}
