package dev.keel.proxy.tls;

import dev.keel.identity.BundleSource;
import dev.keel.identity.X509SvidValidationException;
import dev.keel.identity.X509SvidVerifier;
import java.net.Socket;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.util.List;
import java.util.Objects;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.X509ExtendedTrustManager;

/**
 * Verifies a TLS peer the SPIFFE way instead of by host name: the peer's chain must be an
 * X.509-SVID that {@link X509SvidVerifier} accepts against the bundle of the peer's own trust domain
 * (chain, exactly one URI SAN, trust domain, not a CA, key usage), and its leaf must carry the
 * extended key usage of its role: clientAuth for a client certificate, serverAuth for a server's.
 * After the handshake, {@link PeerIdentity} reads the verified SPIFFE ID from the session.
 *
 * <p>Immutable and thread-safe; runs on the event loop during the handshake and does not block
 * (the {@link BundleSource} must answer from memory).
 */
public final class SpiffeTrustManager extends X509ExtendedTrustManager {

    static final String EKU_SERVER_AUTH = "1.3.6.1.5.5.7.3.1";
    static final String EKU_CLIENT_AUTH = "1.3.6.1.5.5.7.3.2";
    private static final X509Certificate[] NO_ISSUERS = new X509Certificate[0];

    private final X509SvidVerifier verifier;

    private SpiffeTrustManager(X509SvidVerifier verifier) {
        this.verifier = verifier;
    }

    public static SpiffeTrustManager create(BundleSource bundles) {
        return create(bundles, Clock.systemUTC());
    }

    public static SpiffeTrustManager create(BundleSource bundles, Clock clock) {
        return new SpiffeTrustManager(X509SvidVerifier.create(Objects.requireNonNull(bundles, "bundles"),
                Objects.requireNonNull(clock, "clock")));
    }

    /** Verifies a client's chain; the leaf must have EKU clientAuth. */
    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType) throws CertificateException {
        verify(chain, EKU_CLIENT_AUTH, "clientAuth");
    }

    /** Verifies a server's chain; the leaf must have EKU serverAuth. */
    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType) throws CertificateException {
        verify(chain, EKU_SERVER_AUTH, "serverAuth");
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType, Socket socket) throws CertificateException {
        checkClientTrusted(chain, authType);
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType, Socket socket) throws CertificateException {
        checkServerTrusted(chain, authType);
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType, SSLEngine engine)
            throws CertificateException {
        checkClientTrusted(chain, authType);
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType, SSLEngine engine)
            throws CertificateException {
        checkServerTrusted(chain, authType);
    }

    /** None are advertised: peers of several trust domains are verified by their own bundle. */
    @Override
    public X509Certificate[] getAcceptedIssuers() {
        return NO_ISSUERS;
    }

    private void verify(X509Certificate[] chain, String eku, String ekuName) throws CertificateException {
        if (chain == null || chain.length == 0) {
            throw new CertificateException("the peer sent no certificate");
        }
        try {
            verifier.verify(List.of(chain));
        } catch (X509SvidValidationException e) {
            throw e;
        } catch (RuntimeException e) {
            throw new CertificateException("peer certificate rejected: " + e.getMessage(), e);
        }
        List<String> usages = chain[0].getExtendedKeyUsage();
        if (usages == null || !usages.contains(eku)) {
            throw new CertificateException("peer X.509-SVID lacks extended key usage " + ekuName);
        }
    }
}
