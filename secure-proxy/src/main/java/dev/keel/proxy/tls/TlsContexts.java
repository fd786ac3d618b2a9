package dev.keel.proxy.tls;

import dev.keel.identity.BundleSource;
import dev.keel.proxy.X509Material;
import io.netty.handler.ssl.ApplicationProtocolConfig;
import io.netty.handler.ssl.ApplicationProtocolConfig.Protocol;
import io.netty.handler.ssl.ApplicationProtocolConfig.SelectedListenerFailureBehavior;
import io.netty.handler.ssl.ApplicationProtocolConfig.SelectorFailureBehavior;
import io.netty.handler.ssl.ApplicationProtocolNames;
import io.netty.handler.ssl.ClientAuth;
import io.netty.handler.ssl.OpenSsl;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslProvider;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import javax.net.ssl.SSLException;

/**
 * The proxy's TLS contexts, built from one {@link X509Material}: BoringSSL through netty-tcnative,
 * TLS 1.3 preferred and 1.2 allowed, the own SVID chain as certificate, peers verified by
 * {@link SpiffeTrustManager} against the material's bundles. Contexts are immutable; a rotation
 * builds new ones (see {@link TlsContextHolder}). Stateless.
 */
public final class TlsContexts {

    /** ALPN the inbound side offers: h2 first, then http/1.1. */
    public static final List<String> SERVER_ALPN = List.of(ApplicationProtocolNames.HTTP_2, ApplicationProtocolNames.HTTP_1_1);
    private static final String[] PROTOCOLS = {"TLSv1.3", "TLSv1.2"};

    private TlsContexts() {
    }

    /** A server context: ALPN h2 and http/1.1; client certificates as {@code clientAuth} says. */
    public static SslContext server(X509Material material, ClientAuth clientAuth) throws SSLException {
        return server(material, clientAuth, SERVER_ALPN, Clock.systemUTC());
    }

    /** A server context offering exactly {@code alpn} (none when empty). */
    public static SslContext server(X509Material material, ClientAuth clientAuth, List<String> alpn, Clock clock)
            throws SSLException {
        Objects.requireNonNull(material, "material");
        Objects.requireNonNull(clientAuth, "clientAuth");
        return SslContextBuilder.forServer(material.privateKey(), material.chain().toArray(new X509Certificate[0]))
                .sslProvider(provider())
                .protocols(PROTOCOLS)
                .clientAuth(clientAuth)
                .trustManager(SpiffeTrustManager.create(bundles(material), clock))
                .applicationProtocolConfig(alpn(alpn))
                .build();
    }

    /** A client context presenting the own SVID and offering {@code alpn} (none when empty). */
    public static SslContext client(X509Material material, List<String> alpn) throws SSLException {
        return client(material, alpn, Clock.systemUTC());
    }

    public static SslContext client(X509Material material, List<String> alpn, Clock clock) throws SSLException {
        Objects.requireNonNull(material, "material");
        return SslContextBuilder.forClient()
                .sslProvider(provider())
                .protocols(PROTOCOLS)
                .keyManager(material.privateKey(), material.chain().toArray(new X509Certificate[0]))
                .trustManager(SpiffeTrustManager.create(bundles(material), clock))
                .applicationProtocolConfig(alpn(alpn))
                .build();
    }

    /** The material's bundles as a {@link BundleSource}. */
    public static BundleSource bundles(X509Material material) {
        return trustDomain -> Optional.ofNullable(material.bundles().get(trustDomain));
    }

    private static ApplicationProtocolConfig alpn(List<String> protocols) {
        if (protocols.isEmpty()) {
            return ApplicationProtocolConfig.DISABLED;
        }
        // The only behaviours BoringSSL supports.
        return new ApplicationProtocolConfig(Protocol.ALPN, SelectorFailureBehavior.NO_ADVERTISE,
                SelectedListenerFailureBehavior.ACCEPT, protocols);
    }

    private static SslProvider provider() {
        if (!OpenSsl.isAvailable()) {
            throw new IllegalStateException("BoringSSL (netty-tcnative) is not available: " + OpenSsl.unavailabilityCause());
        }
        return SslProvider.OPENSSL;
    }

}
