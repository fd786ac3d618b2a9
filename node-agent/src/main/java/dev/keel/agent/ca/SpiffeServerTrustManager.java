package dev.keel.agent.ca;

import dev.keel.identity.Bundle;
import dev.keel.identity.BundleSource;
import dev.keel.identity.SpiffeId;
import dev.keel.identity.X509Svid;
import dev.keel.identity.X509SvidVerifier;
import java.net.Socket;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.util.Arrays;
import java.util.Optional;
import java.util.function.Supplier;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.X509ExtendedTrustManager;

/**
 * Authenticates the CA the SPIFFE way: its chain must be an X.509-SVID that verifies against the
 * current trust bundle, and its SPIFFE ID must be exactly {@code spiffe://<td>/keel/ca}.
 *
 * <p>There is no host name verification, on purpose: the CA is identified by its SPIFFE ID, which
 * the bundle's authorities vouch for, not by whatever DNS name or address the agent dials (a Service
 * name, a load balancer, a loopback address, none of which need be in the certificate). Accepting any
 * certificate that merely matched the host name would be weaker: any workload SVID of the trust
 * domain with a DNS SAN could then pose as the CA. This is what go-spiffe's
 * {@code tlsconfig.AuthorizeID} does.
 *
 * <p>Thread-safe; reads the bundle on every handshake, so a bundle update applies to the next
 * connection without rebuilding the TLS context. Runs on the event loop; does not block.
 */
final class SpiffeServerTrustManager extends X509ExtendedTrustManager {

    private final Supplier<Bundle> bundle;
    private final SpiffeId expected;
    private final X509SvidVerifier verifier;

    SpiffeServerTrustManager(Supplier<Bundle> bundle, SpiffeId expected, Clock clock) {
        this.bundle = bundle;
        this.expected = expected;
        BundleSource source = trustDomain -> {
            Bundle current = bundle.get();
            return current.trustDomain().equals(trustDomain) ? Optional.of(current) : Optional.empty();
        };
        this.verifier = X509SvidVerifier.create(source, clock);
    }

    /** Verifies the server's chain; the exception says why it was refused. */
    void verify(X509Certificate[] chain) throws CertificateException {
        if (chain == null || chain.length == 0) {
            throw new CertificateException("the CA presented no certificate");
        }
        X509Svid svid = verifier.verify(Arrays.asList(chain));
        if (!svid.spiffeId().equals(expected)) {
            throw new CertificateException("the server presented the X.509-SVID of " + svid.spiffeId()
                    + " (expected: the CA, " + expected + ")");
        }
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType, SSLEngine engine)
            throws CertificateException {
        verify(chain);
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType, Socket socket)
            throws CertificateException {
        verify(chain);
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType) throws CertificateException {
        verify(chain);
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType, SSLEngine engine)
            throws CertificateException {
        throw new CertificateException("the agent's CA client authenticates servers only");
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType, Socket socket)
            throws CertificateException {
        throw new CertificateException("the agent's CA client authenticates servers only");
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType) throws CertificateException {
        throw new CertificateException("the agent's CA client authenticates servers only");
    }

    @Override
    public X509Certificate[] getAcceptedIssuers() {
        return bundle.get().x509Authorities().toArray(new X509Certificate[0]);
    }
}
