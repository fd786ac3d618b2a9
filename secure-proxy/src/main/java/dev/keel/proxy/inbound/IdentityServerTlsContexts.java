package dev.keel.proxy.inbound;

import dev.keel.identity.Bundle;
import dev.keel.identity.BundleSource;
import dev.keel.identity.X509SvidVerifier;
import dev.keel.proxy.IdentitySource;
import dev.keel.proxy.X509Material;
import io.netty.handler.ssl.ApplicationProtocolConfig;
import io.netty.handler.ssl.ApplicationProtocolNames;
import io.netty.handler.ssl.ClientAuth;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslProvider;
import io.netty.handler.ssl.SslProtocols;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import javax.net.ssl.SSLException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@link ServerTlsContexts} built from an {@link IdentitySource}: BoringSSL (netty-tcnative), TLS 1.3
 * and 1.2, ALPN h2 and http/1.1, the proxy's own SVID as server certificate, and peers verified as
 * X.509-SVIDs against the bundles of the same material. Rebuilt on every new material, so rotation
 * reaches new handshakes only. Thread-safe. {@link #close()} stops following the source.
 */
public final class IdentityServerTlsContexts implements ServerTlsContexts, AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(IdentityServerTlsContexts.class);

    private record Contexts(X509Material material, SslContext strict, SslContext permissive) {
    }

    private final Clock clock;
    private volatile Contexts contexts;
    private final AutoCloseable subscription;

    private IdentityServerTlsContexts(IdentitySource source, Clock clock) {
        this.clock = clock;
        source.current().ifPresent(this::accept);
        this.subscription = source.subscribe(this::accept);
    }

    /** Contexts that follow {@code source}, verifying peers at the system clock's time. */
    public static IdentityServerTlsContexts create(IdentitySource source) {
        return create(source, Clock.systemUTC());
    }

    public static IdentityServerTlsContexts create(IdentitySource source, Clock clock) {
        return new IdentityServerTlsContexts(Objects.requireNonNull(source, "source"), Objects.requireNonNull(clock, "clock"));
    }

    @Override
    public SslContext current(boolean requireClientCertificate) {
        Contexts c = contexts;
        if (c == null) {
            throw new IllegalStateException("no X.509-SVID yet");
        }
        return requireClientCertificate ? c.strict() : c.permissive();
    }

    /** The material the current contexts were built from. */
    public Optional<X509Material> material() {
        Contexts c = contexts;
        return c == null ? Optional.empty() : Optional.of(c.material());
    }

    private void accept(X509Material material) {
        Contexts previous = contexts;
        if (previous != null && previous.material().equals(material)) {
            return;
        }
        try {
            contexts = new Contexts(material, build(material, ClientAuth.REQUIRE), build(material, ClientAuth.OPTIONAL));
            LOG.info("server TLS contexts now use {}", material);
        } catch (SSLException | RuntimeException e) {
            LOG.error("cannot build server TLS contexts from {}; the previous ones stay in use", material, e);
        }
    }

    private SslContext build(X509Material material, ClientAuth clientAuth) throws SSLException {
        BundleSource bundles = td -> Optional.ofNullable(material.bundles().get(td));
        List<X509Certificate> authorities = new ArrayList<>();
        for (Bundle b : material.bundles().values()) {
            authorities.addAll(b.x509Authorities());
        }
        return SslContextBuilder.forServer(material.privateKey(), material.chain().toArray(new X509Certificate[0]))
                .sslProvider(SslProvider.OPENSSL)
                .protocols(SslProtocols.TLS_v1_3, SslProtocols.TLS_v1_2)
                .clientAuth(clientAuth)
                .trustManager(new SpiffeTrustManager(X509SvidVerifier.create(bundles, clock), authorities))
                .applicationProtocolConfig(new ApplicationProtocolConfig(ApplicationProtocolConfig.Protocol.ALPN,
                        ApplicationProtocolConfig.SelectorFailureBehavior.NO_ADVERTISE,
                        ApplicationProtocolConfig.SelectedListenerFailureBehavior.ACCEPT,
                        ApplicationProtocolNames.HTTP_2, ApplicationProtocolNames.HTTP_1_1))
                .build();
    }

    @Override
    public void close() {
        try {
            subscription.close();
        } catch (Exception e) {
            LOG.debug("closing the identity subscription", e);
        }
    }
}
