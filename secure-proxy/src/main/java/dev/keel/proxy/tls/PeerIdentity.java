package dev.keel.proxy.tls;

import dev.keel.identity.SpiffeId;
import dev.keel.identity.X509Svid;
import io.netty.handler.ssl.SslHandler;
import java.security.cert.Certificate;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import javax.net.ssl.SSLPeerUnverifiedException;
import javax.net.ssl.SSLSession;

/**
 * The SPIFFE ID of the peer of a completed handshake, read from the leaf that
 * {@link SpiffeTrustManager} verified. Stateless.
 */
public final class PeerIdentity {

    private PeerIdentity() {
    }

    /** The peer's SPIFFE ID; empty when the peer sent no certificate (client auth OPTIONAL). */
    public static Optional<SpiffeId> of(SSLSession session) {
        Certificate[] certificates;
        try {
            certificates = session.getPeerCertificates();
        } catch (SSLPeerUnverifiedException e) {
            return Optional.empty();
        }
        List<X509Certificate> chain = new ArrayList<>();
        for (Certificate certificate : certificates) {
            chain.add((X509Certificate) certificate);
        }
        if (chain.isEmpty()) {
            return Optional.empty();
        }
        return Optional.of(X509Svid.of(chain).spiffeId());
    }

    /** The peer's SPIFFE ID on a channel whose handshake completed. */
    public static Optional<SpiffeId> of(SslHandler handler) {
        return of(handler.engine().getSession());
    }

    /** The peer's leaf certificate, if any. */
    public static Optional<X509Certificate> leaf(SSLSession session) {
        try {
            Certificate[] certificates = session.getPeerCertificates();
            return certificates.length == 0 ? Optional.empty() : Optional.of((X509Certificate) certificates[0]);
        } catch (SSLPeerUnverifiedException e) {
            return Optional.empty();
        }
    }
}
