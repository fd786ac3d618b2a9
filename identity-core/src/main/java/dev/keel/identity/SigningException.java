package dev.keel.identity;

/**
 * A {@link SigningKey} could not sign. {@link #unavailable()} is true when the key's backend could
 * not be reached (HSM session lost, Vault sealed or timing out): the caller should refuse with
 * UNAVAILABLE and may retry later. Messages never contain key material or secrets.
 */
public final class SigningException extends Exception {

    private static final long serialVersionUID = 1L;

    private final boolean unavailable;

    public SigningException(String message, boolean unavailable, Throwable cause) {
        super(message, cause);
        this.unavailable = unavailable;
    }

    public SigningException(String message, boolean unavailable) {
        this(message, unavailable, null);
    }

    public boolean unavailable() {
        return unavailable;
    }
}
