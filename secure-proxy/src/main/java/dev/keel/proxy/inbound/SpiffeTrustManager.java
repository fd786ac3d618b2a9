package dev.keel.proxy.inbound;

import dev.keel.identity.X509SvidValidationException;
import dev.keel.identity.X509SvidVerifier;
import java.security.cert.CertificateException;
import java.security.cert.CertificateParsingException;
import java.security.cert.X509Certificate;
import java.util.List;
import javax.net.ssl.X509TrustManager;

/**
 * Accepts a client chain only when it is an X.509-SVID of a trusted domain ({@link X509SvidVerifier}:
 * chain to the bundle of the peer's own trust domain, exactly one URI SAN, not a CA) whose leaf may
 * be used for client authentication (EKU clientAuth, when the extension is present). Server side
 * only. Thread-safe; runs on the event loop during the handshake.
 */
final class SpiffeTrustManager implements X509TrustManager {

    private static final String CLIENT_AUTH = "1.3.6.1.5.5.7.3.2";
    private static final String ANY_EKU = "2.5.29.37.0";

    private final X509SvidVerifier verifier;
    private final X509Certificate[] acceptedIssuers;

    SpiffeTrustManager(X509SvidVerifier verifier, List<X509Certificate> acceptedIssuers) {
        this.verifier = verifier;
        this.acceptedIssuers = acceptedIssuers.toArray(new X509Certificate[0]);
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType) throws CertificateException {
        if (chain == null || chain.length == 0) {
            throw new CertificateException("no client certificate");
        }
        try {
            verifier.verify(List.of(chain));
        } catch (X509SvidValidationException e) {
            throw new CertificateException("not a valid X.509-SVID: " + e.getMessage(), e);
        }
        List<String> eku;
        try {
            eku = chain[0].getExtendedKeyUsage();
        } catch (CertificateParsingException e) {
            throw new CertificateException("unreadable extended key usage", e);
        }
        if (eku != null && !eku.contains(CLIENT_AUTH) && !eku.contains(ANY_EKU)) {
            throw new CertificateException("the X.509-SVID may not be used for client authentication (EKU " + eku + ")");
        }
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType) throws CertificateException {
        throw new CertificateException("server-side trust manager");
    }

    @Override
    public X509Certificate[] getAcceptedIssuers() {
        return acceptedIssuers.clone();
    }
}
