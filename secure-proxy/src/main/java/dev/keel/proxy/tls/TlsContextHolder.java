package dev.keel.proxy.tls;

import dev.keel.proxy.IdentitySource;
import dev.keel.proxy.X509Material;
import io.netty.handler.ssl.ClientAuth;
import io.netty.handler.ssl.SslContext;
import java.time.Clock;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import javax.net.ssl.SSLException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The current server and client {@link SslContext}s, rebuilt whenever the {@link IdentitySource}
 * publishes new material. Listeners take {@link #current()} for each new connection, so new
 * handshakes use the new certificate and bundles while established connections keep the context
 * they were made with. When a rebuild fails the previous contexts stay.
 *
 * <p>Thread-safe; {@link #current()} is a volatile read, cheap enough for every accept.
 */
public final class TlsContextHolder implements AutoCloseable {

    /** Both contexts and the material they were built from. */
    public record Contexts(X509Material material, SslContext server, SslContext client) {
    }

    private static final Logger log = LoggerFactory.getLogger(TlsContextHolder.class);

    private final ClientAuth clientAuth;
    private final List<String> serverAlpn;
    private final List<String> clientAlpn;
    private final Clock clock;
    private final AutoCloseable subscription;
    private volatile Contexts current;

    private TlsContextHolder(IdentitySource source, ClientAuth clientAuth, List<String> serverAlpn,
            List<String> clientAlpn, Clock clock) {
        this.clientAuth = clientAuth;
        this.serverAlpn = List.copyOf(serverAlpn);
        this.clientAlpn = List.copyOf(clientAlpn);
        this.clock = clock;
        this.subscription = source.subscribe(this::rebuild);
        source.current().ifPresent(this::rebuild);
    }

    /**
     * Follows {@code source}: server contexts with {@code clientAuth} and ALPN h2, http/1.1; client
     * contexts offering {@code clientAlpn}.
     */
    public static TlsContextHolder follow(IdentitySource source, ClientAuth clientAuth, List<String> clientAlpn) {
        return follow(source, clientAuth, TlsContexts.SERVER_ALPN, clientAlpn, Clock.systemUTC());
    }

    public static TlsContextHolder follow(IdentitySource source, ClientAuth clientAuth, List<String> serverAlpn,
            List<String> clientAlpn, Clock clock) {
        return new TlsContextHolder(Objects.requireNonNull(source, "source"), Objects.requireNonNull(clientAuth, "clientAuth"),
                serverAlpn, clientAlpn, Objects.requireNonNull(clock, "clock"));
    }

    /**
     * The contexts for a new connection; empty until the first material arrived, and again once its
     * leaf is past notAfter without a successor (never hand out an expired certificate).
     */
    public Optional<Contexts> current() {
        Contexts contexts = current;
        if (contexts == null || expired(contexts)) {
            return Optional.empty();
        }
        return Optional.of(contexts);
    }

    private boolean expired(Contexts contexts) {
        return !clock.instant().isBefore(contexts.material().leaf().getNotAfter().toInstant());
    }

    /** The current server context; throws when there is no material yet (fail closed). */
    public SslContext server() {
        return require().server();
    }

    /** The current client context; throws when there is no material yet (fail closed). */
    public SslContext client() {
        return require().client();
    }

    private Contexts require() {
        Contexts contexts = current;
        if (contexts == null) {
            throw new IllegalStateException("no X.509-SVID yet: TLS is not available");
        }
        if (expired(contexts)) {
            throw new IllegalStateException("the X.509-SVID " + contexts.material() + " expired and no new one arrived:"
                    + " TLS is not available");
        }
        return contexts;
    }

    private synchronized void rebuild(X509Material material) {
        Contexts previous = current;
        if (previous != null && previous.material().equals(material)) {
            return;
        }
        try {
            current = new Contexts(material, TlsContexts.server(material, clientAuth, serverAlpn, clock),
                    TlsContexts.client(material, clientAlpn, clock));
            log.info("TLS contexts now use {} (serial {})", material, material.leaf().getSerialNumber().toString(16));
        } catch (SSLException | RuntimeException e) {
            log.error("Cannot build TLS contexts from {}; keeping the previous ones", material, e);
        }
    }

    /** Stops following the identity source; the current contexts stay usable. */
    @Override
    public void close() {
        try {
            subscription.close();
        } catch (Exception e) {
            log.warn("Cannot unsubscribe from the identity source", e);
        }
    }
}
