package dev.keel.proxy.inbound;

import io.netty.handler.ssl.SslContext;

/**
 * The server TLS contexts of the inbound listener, current as of the call: every new handshake asks
 * again, so a rotated SVID is used by new connections while established ones keep theirs.
 * Implementations are thread-safe and must not block (called on event loops).
 */
public interface ServerTlsContexts {

    /**
     * The context for a new connection; {@code requireClientCertificate} for STRICT ports (the handshake
     * fails without one), otherwise a client certificate is asked for but optional (PERMISSIVE). Either
     * way a certificate that is sent must be a valid X.509-SVID of a trusted domain. ALPN offers h2 and
     * http/1.1.
     *
     * @throws IllegalStateException when no SVID is available yet
     */
    SslContext current(boolean requireClientCertificate);
}
