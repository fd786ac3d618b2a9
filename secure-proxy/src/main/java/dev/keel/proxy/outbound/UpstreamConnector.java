package dev.keel.proxy.outbound;

import dev.keel.identity.SpiffeId;
import dev.keel.proxy.ProxyMetrics;
import dev.keel.proxy.X509Material;
import dev.keel.proxy.outbound.RouteTable.Route;
import dev.keel.proxy.tls.PeerIdentity;
import dev.keel.proxy.tls.TlsContextHolder;
import dev.keel.proxy.tls.TlsContexts;
import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoop;
import io.netty.channel.socket.SocketChannel;
import io.netty.handler.ssl.ApplicationProtocolNames;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslHandler;
import io.netty.util.AttributeKey;
import io.netty.util.concurrent.Future;
import io.netty.util.concurrent.Promise;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import javax.net.ssl.SSLException;

/**
 * Opens mTLS connections to destination proxies: the proxy's current X.509-SVID as client
 * certificate, the server verified as an X.509-SVID of a trusted domain, then secure naming (the
 * server's SPIFFE ID must be one the route allows; otherwise the connection is closed, the failure
 * counted and the future fails with {@link SecureNamingException}). A channel is handed out only
 * after all of that, with only the TLS handler in its pipeline; the caller adds the protocol.
 *
 * <p>Each connection takes the SVID current when it starts, so a rotation reaches new handshakes
 * while established connections keep theirs. The client contexts are rebuilt here, once per
 * material, for the three ALPN offers the outbound side needs (the holder's own client context offers
 * one fixed list). Thread-safe; {@link #connect} runs on the given event loop's thread or any other.
 */
final class UpstreamConnector {

    /** What the client offers in ALPN. */
    enum Alpn {
        /** No ALPN: opaque TCP. */
        NONE(List.of()),
        /** HTTP/1.1 only. */
        HTTP_1_1(List.of(ApplicationProtocolNames.HTTP_1_1)),
        /** h2 preferred, HTTP/1.1 if the server does not speak h2. */
        H2(List.of(ApplicationProtocolNames.HTTP_2, ApplicationProtocolNames.HTTP_1_1));

        final List<String> protocols;

        Alpn(List<String> protocols) {
            this.protocols = protocols;
        }
    }

    /** The SPIFFE ID the upstream proved, set on every channel this connector hands out. */
    static final AttributeKey<SpiffeId> PEER = AttributeKey.valueOf("keel.upstream.peer");

    private record Contexts(X509Material material, SslContext none, SslContext http1, SslContext h2) {
        SslContext forAlpn(Alpn alpn) {
            return switch (alpn) {
                case NONE -> none;
                case HTTP_1_1 -> http1;
                case H2 -> h2;
            };
        }
    }

    private final TlsContextHolder tls;
    private final ProxyMetrics metrics;
    private final Class<? extends SocketChannel> channelClass;
    private final Duration connectTimeout;
    private volatile Contexts contexts;

    UpstreamConnector(TlsContextHolder tls, ProxyMetrics metrics, Class<? extends SocketChannel> channelClass,
            Duration connectTimeout) {
        this.tls = tls;
        this.metrics = metrics;
        this.channelClass = channelClass;
        this.connectTimeout = connectTimeout;
    }

    /**
     * A new connection to {@code route}'s upstream on {@code loop}, handshake and secure naming done.
     * Fails with {@link IllegalStateException} when there is no valid SVID (fail closed).
     */
    Future<Channel> connect(Route route, EventLoop loop, Alpn alpn) {
        Promise<Channel> promise = loop.newPromise();
        SslContext context;
        try {
            context = contexts().forAlpn(alpn);
        } catch (IllegalStateException | SSLException e) {
            return promise.setFailure(e);
        }
        String host = route.upstream().getHostString();
        int port = route.upstream().getPort();
        Bootstrap bootstrap = new Bootstrap().group(loop).channel(channelClass)
                .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, (int) connectTimeout.toMillis())
                .option(ChannelOption.TCP_NODELAY, true)
                .option(ChannelOption.ALLOCATOR, PooledByteBufAllocator.DEFAULT)
                .handler(new ChannelInitializer<SocketChannel>() {
                    @Override
                    protected void initChannel(SocketChannel ch) {
                        ch.pipeline().addLast("tls", context.newHandler(ch.alloc(), host, port));
                    }
                });
        ChannelFuture connecting = bootstrap.connect(route.upstream());
        connecting.addListener(connected -> {
            if (!connected.isSuccess()) {
                promise.tryFailure(connected.cause());
                return;
            }
            Channel channel = connecting.channel();
            SslHandler ssl = channel.pipeline().get(SslHandler.class);
            ssl.handshakeFuture().addListener(handshake -> {
                if (!handshake.isSuccess()) {
                    channel.close();
                    promise.tryFailure(handshake.cause());
                    return;
                }
                Optional<SpiffeId> peer = PeerIdentity.of(ssl);
                if (peer.isEmpty() || !route.allowedIds().contains(peer.get())) {
                    metrics.secureNamingFailure(route.destination());
                    channel.close();
                    promise.tryFailure(new SecureNamingException(route.destination(), peer, route.allowedIds()));
                    return;
                }
                channel.attr(PEER).set(peer.get());
                if (!promise.trySuccess(channel)) {
                    channel.close();
                }
            });
        });
        return promise;
    }

    /** The protocol ALPN settled on a connected channel; HTTP/1.1 when the server chose none. */
    static String negotiated(Channel channel) {
        String protocol = channel.pipeline().get(SslHandler.class).applicationProtocol();
        return protocol == null ? ApplicationProtocolNames.HTTP_1_1 : protocol;
    }

    /** The proxy's own SPIFFE ID, if it has a valid SVID. */
    Optional<SpiffeId> self() {
        return tls.current().map(c -> c.material().spiffeId());
    }

    private Contexts contexts() throws SSLException {
        X509Material material = tls.current().map(TlsContextHolder.Contexts::material)
                .orElseThrow(() -> new IllegalStateException("no valid X.509-SVID: mTLS origination is not available"));
        Contexts cached = contexts;
        if (cached != null && cached.material() == material) {
            return cached;
        }
        synchronized (this) {
            cached = contexts;
            if (cached != null && cached.material() == material) {
                return cached;
            }
            // Once per rotation; a few milliseconds on whichever loop first needs the new SVID.
            Contexts built = new Contexts(material, TlsContexts.client(material, Alpn.NONE.protocols),
                    TlsContexts.client(material, Alpn.HTTP_1_1.protocols), TlsContexts.client(material, Alpn.H2.protocols));
            contexts = built;
            return built;
        }
    }
}
