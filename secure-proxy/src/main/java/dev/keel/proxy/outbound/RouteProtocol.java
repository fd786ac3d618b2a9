package dev.keel.proxy.outbound;

/**
 * How the outbound side speaks to a destination's proxy (a route's {@code protocol:}).
 */
public enum RouteProtocol {
    /**
     * HTTP as the app speaks it: HTTP/1.1 from the app goes upstream as HTTP/1.1, h2c (prior
     * knowledge) as h2 when the destination's proxy agrees to it in ALPN, else as HTTP/1.1.
     */
    HTTP,
    /** Always h2 upstream (ALPN h2, HTTP/1.1 only if the destination refuses h2), whatever the app speaks. */
    HTTP2,
    /** Opaque bytes from the route's own listen port, over mTLS, secure naming checked at the handshake. */
    TCP
}
