package dev.keel.ca.server;

import io.grpc.netty.GrpcSslContexts;
import io.netty.handler.ssl.ClientAuth;
import io.netty.handler.ssl.OpenSsl;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslProvider;
import java.security.cert.X509Certificate;
import java.util.List;
import javax.net.ssl.SSLException;

/** The CA's TLS server contexts: BoringSSL through netty-tcnative, TLS 1.3 preferred, 1.2 allowed. */
final class TlsContexts {

    private TlsContexts() {
    }

    /**
     * For gRPC: ALPN h2; a client certificate is optional at the TLS layer (a workload with only a
     * service account token has none) and, when sent, must chain to one of {@code roots}; the calls
     * that need it check it as an X.509-SVID.
     */
    static SslContext grpcServer(RotatingKeyManager keyManager, List<X509Certificate> roots) throws SSLException {
        SslContextBuilder builder = SslContextBuilder.forServer(keyManager)
                .clientAuth(ClientAuth.OPTIONAL)
                .trustManager(roots.toArray(new X509Certificate[0]))
                .protocols("TLSv1.3", "TLSv1.2");
        return GrpcSslContexts.configure(builder, provider()).build();
    }

    /** For the bundle endpoint: server-authenticated HTTPS (the SPIFFE {@code https_spiffe} profile). */
    static SslContext httpsServer(RotatingKeyManager keyManager) throws SSLException {
        return SslContextBuilder.forServer(keyManager)
                .sslProvider(provider())
                .protocols("TLSv1.3", "TLSv1.2")
                .build();
    }

    private static SslProvider provider() {
        if (!OpenSsl.isAvailable()) {
            throw new IllegalStateException("BoringSSL (netty-tcnative) is not available: " + OpenSsl.unavailabilityCause());
        }
        return SslProvider.OPENSSL;
    }
}
