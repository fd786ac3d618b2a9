package dev.keel.identity;

/**
 * A {@link SigningKey} could not sign. {@link #unavailable()} is true when the key's backend could
 * not be reached (HSM session lost, Vault sealed or timing out): the caller should refuse with
 * UNAVAILABLE and may retry later. {@link #refused()} is true when the backend answered but will not
 * sign for this CA (permission denied, no such key or mount): a configuration problem for the operator,
 * refused with FAILED_PRECONDITION. Messages never contain key material or secrets.
 */
public final class SigningException extends Exception {

    private static final long serialVersionUID = 1L;

    private final boolean unavailable;
    private final boolean refused;

    public SigningException(String message, boolean unavailable, Throwable cause) {
        this(message, unavailable, false, cause);
    }

    public SigningException(String message, boolean unavailable, boolean refused, Throwable cause) {
        super(message, cause);
        if (unavailable && refused) {
            throw new IllegalArgumentException("a backend is either unavailable or refusing, not both");
        }
        this.unavailable = unavailable;
        this.refused = refused;
    }

    public SigningException(String message, boolean unavailable) {
        this(message, unavailable, null);
    }

    public boolean unavailable() {
        return unavailable;
    }

    public boolean refused() {
        return refused;
    }
}
