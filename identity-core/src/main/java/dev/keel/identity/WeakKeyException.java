package dev.keel.identity;

/** A key Keel refuses: too weak, an unsupported curve or an unsupported algorithm. */
public final class WeakKeyException extends IllegalArgumentException {

    private static final long serialVersionUID = 1L;

    public WeakKeyException(String message) {
        super(message);
    }
}
