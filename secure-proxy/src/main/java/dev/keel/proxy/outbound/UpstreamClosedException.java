package dev.keel.proxy.outbound;

/** The upstream connection closed before the whole response arrived. */
final class UpstreamClosedException extends Exception {

    private static final long serialVersionUID = 1L;

    UpstreamClosedException(String message) {
        super(message, null, false, false);
    }
}
