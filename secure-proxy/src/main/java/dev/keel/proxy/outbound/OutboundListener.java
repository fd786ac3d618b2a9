package dev.keel.proxy.outbound;

import dev.keel.proxy.ProxyMetrics;
import dev.keel.proxy.tls.TlsContextHolder;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.ServerChannel;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollEventLoopGroup;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.channel.epoll.EpollSocketChannel;
import io.netty.channel.nio.NioEventLoopGroup;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.buffer.PooledByteBufAllocator;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The outbound listener (default 127.0.0.1:15001): the app sends plaintext HTTP/1.1 or h2c (prior
 * knowledge) here; the {@link RouteTable} picks the destination's inbound proxy by the Host header
 * (h2: {@code :authority}); the request goes over mTLS originated with the proxy's own SVID (the
 * material the {@link TlsContextHolder} currently holds; ALPN is chosen here per route, whatever the
 * holder's client ALPN), and only after the server's SPIFFE ID proved to be one allowed for the
 * destination ("secure naming"). A mismatch fails the request with 503 and counts
 * {@link ProxyMetrics#secureNamingFailure}. Upstream HTTP/1.1 connections are kept alive and pooled
 * per event loop; upstream h2 (for h2c from the app, or a route with {@link RouteProtocol#HTTP2})
 * multiplexes every exchange on one connection per loop and route. Responses: 404 when no route,
 * 503 when the upstream cannot be reached or authenticated, 504 on the request timeout, 413 for an
 * oversized request body.
 *
 * <p>Each {@link RouteProtocol#TCP} route gets its own listener on its {@code listenPort}: the bytes
 * of every connection go over mTLS to the route's upstream, secure naming checked at the handshake
 * (a mismatch closes the app connection and is counted). TCP routes are bound at {@link #start()};
 * a later route table change affects HTTP routes only.
 *
 * <p>Metrics are Istio's with {@code reporter="source"}. Rotation: every new upstream handshake
 * uses the SVID current at that moment; established connections, app side and upstream side, are
 * left as they are.
 *
 * <p>Thread-safe to start and close. The route table supplier is read once per request.
 */
public final class OutboundListener implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(OutboundListener.class);

    private final InetSocketAddress address;
    private final Supplier<RouteTable> routes;
    private final TlsContextHolder tls;
    private final ProxyMetrics metrics;
    private final Duration requestTimeout;
    private final Duration idleTimeout;
    private final int maxBodyBytes;
    private final int threads;
    private final int maxConcurrentStreams;
    private final Map<String, Integer> tcpPorts = new LinkedHashMap<>();
    private final List<Channel> tcpServers = new ArrayList<>();
    private EventLoopGroup group;
    private UpstreamPool pool;
    private Channel server;

    private OutboundListener(Builder builder) {
        this.address = builder.address;
        this.routes = builder.routes;
        this.tls = builder.tls;
        this.metrics = builder.metrics;
        this.requestTimeout = builder.requestTimeout;
        this.idleTimeout = builder.idleTimeout;
        this.maxBodyBytes = builder.maxBodyBytes;
        this.threads = builder.threads;
        this.maxConcurrentStreams = builder.maxConcurrentStreams;
    }

    public static Builder builder() {
        return new Builder();
    }

    /** Binds the listener; throws when the port is taken. */
    public synchronized OutboundListener start() throws InterruptedException {
        if (server != null) {
            throw new IllegalStateException("already started");
        }
        boolean epoll = Epoll.isAvailable();
        group = epoll ? new EpollEventLoopGroup(threads) : new NioEventLoopGroup(threads);
        Class<? extends ServerChannel> serverClass = epoll ? EpollServerSocketChannel.class : NioServerSocketChannel.class;
        Class<? extends SocketChannel> clientClass = epoll ? EpollSocketChannel.class : NioSocketChannel.class;
        UpstreamConnector connector = new UpstreamConnector(tls, metrics, clientClass, Duration.ofSeconds(5));
        SourceLabels labels = new SourceLabels(connector::self);
        pool = new UpstreamPool(connector, idleTimeout, 16 * 1024 * 1024);
        try {
            server = new ServerBootstrap().group(group).channel(serverClass)
                    .childOption(ChannelOption.TCP_NODELAY, true)
                    .childOption(ChannelOption.ALLOCATOR, PooledByteBufAllocator.DEFAULT)
                    .childHandler(new HttpOutboundInitializer(routes, pool, labels, metrics, requestTimeout, idleTimeout,
                            maxBodyBytes, maxConcurrentStreams))
                    .bind(address).sync().channel();
            for (RouteTable.Route route : routes.get().tcpRoutes()) {
                Channel tcp = new ServerBootstrap().group(group).channel(serverClass)
                        .childOption(ChannelOption.TCP_NODELAY, true)
                        .childOption(ChannelOption.AUTO_READ, false)
                        .childOption(ChannelOption.ALLOCATOR, PooledByteBufAllocator.DEFAULT)
                        .childHandler(new ChannelInitializer<SocketChannel>() {
                            @Override
                            protected void initChannel(SocketChannel ch) {
                                ch.pipeline().addLast(new TcpOutboundHandler(route, connector, labels, metrics));
                            }
                        })
                        .bind(new InetSocketAddress(address.getAddress(), route.listenPort())).sync().channel();
                tcpServers.add(tcp);
                tcpPorts.put(route.destination(), ((InetSocketAddress) tcp.localAddress()).getPort());
            }
        } catch (InterruptedException | RuntimeException e) {
            tcpServers.forEach(Channel::close);
            if (server != null) {
                server.close();
                server = null;
            }
            group.shutdownGracefully(0, 1, TimeUnit.SECONDS);
            throw e;
        }
        log.info("Outbound listener on {}{}", server.localAddress(), tcpPorts.isEmpty() ? "" : ", TCP routes " + tcpPorts);
        return this;
    }

    /** The bound port of the TCP route for {@code host:port} (as declared), e.g. {@code db.shop:5432}. */
    public synchronized int tcpPort(String destination) {
        Integer port = tcpPorts.get(RouteTable.normalize(destination));
        if (port == null) {
            throw new IllegalArgumentException("destination: " + destination + " (expected one of the TCP routes "
                    + tcpPorts.keySet() + ")");
        }
        return port;
    }

    /** The bound port (useful when configured with port 0). */
    public int port() {
        return ((InetSocketAddress) server.localAddress()).getPort();
    }

    /** True while bound (a readiness check for the admin server). */
    public boolean listening() {
        Channel channel = server;
        return channel != null && channel.isActive();
    }

    @Override
    public synchronized void close() {
        if (server == null) {
            return;
        }
        server.close().syncUninterruptibly();
        tcpServers.forEach(tcp -> tcp.close().syncUninterruptibly());
        tcpServers.clear();
        tcpPorts.clear();
        pool.closeIdle();
        group.shutdownGracefully(0, 2, TimeUnit.SECONDS).syncUninterruptibly();
        server = null;
    }

    /** Builds an {@link OutboundListener}; routes, tls and metrics are required. */
    public static final class Builder {

        private InetSocketAddress address = new InetSocketAddress(InetAddress.getLoopbackAddress(), 15001);
        private Supplier<RouteTable> routes;
        private TlsContextHolder tls;
        private ProxyMetrics metrics;
        private Duration requestTimeout = Duration.ofSeconds(30);
        private Duration idleTimeout = Duration.ofMinutes(1);
        private int maxBodyBytes = 8 * 1024 * 1024;
        private int threads = 1;
        private int maxConcurrentStreams = 100;

        Builder() {
        }

        /** Port on 127.0.0.1 (default 15001; 0 for any free port). */
        public Builder port(int port) {
            if (port < 0 || port > 65535) {
                throw new IllegalArgumentException("port: " + port + " (expected: 0..65535)");
            }
            return address(new InetSocketAddress(InetAddress.getLoopbackAddress(), port));
        }

        public Builder address(InetSocketAddress address) {
            this.address = Objects.requireNonNull(address, "address");
            return this;
        }

        /** A fixed route table. */
        public Builder routes(RouteTable routes) {
            Objects.requireNonNull(routes, "routes");
            return routes(() -> routes);
        }

        /** The current route table, read per request (swap it atomically on config change). */
        public Builder routes(Supplier<RouteTable> routes) {
            this.routes = Objects.requireNonNull(routes, "routes");
            return this;
        }

        public Builder tls(TlsContextHolder tls) {
            this.tls = Objects.requireNonNull(tls, "tls");
            return this;
        }

        public Builder metrics(ProxyMetrics metrics) {
            this.metrics = Objects.requireNonNull(metrics, "metrics");
            return this;
        }

        /** Time from sending a request to its response (default 30 s; then 504). */
        public Builder requestTimeout(Duration timeout) {
            this.requestTimeout = positive(timeout, "requestTimeout");
            return this;
        }

        /** Idle time after which app and upstream connections are closed (default 1 min). */
        public Builder idleTimeout(Duration timeout) {
            this.idleTimeout = positive(timeout, "idleTimeout");
            return this;
        }

        /** Largest request body accepted (default 8 MiB; larger gets 413). */
        public Builder maxBodyBytes(int maxBodyBytes) {
            if (maxBodyBytes < 0) {
                throw new IllegalArgumentException("maxBodyBytes: " + maxBodyBytes + " (expected: >= 0)");
            }
            this.maxBodyBytes = maxBodyBytes;
            return this;
        }

        /** Event loop threads (default 1). */
        public Builder threads(int threads) {
            if (threads < 1) {
                throw new IllegalArgumentException("threads: " + threads + " (expected: >= 1)");
            }
            this.threads = threads;
            return this;
        }

        /** Streams an h2c app connection may have open at once (default 100). */
        public Builder maxConcurrentStreams(int maxConcurrentStreams) {
            if (maxConcurrentStreams < 1) {
                throw new IllegalArgumentException("maxConcurrentStreams: " + maxConcurrentStreams + " (expected: >= 1)");
            }
            this.maxConcurrentStreams = maxConcurrentStreams;
            return this;
        }

        private static Duration positive(Duration value, String name) {
            Objects.requireNonNull(value, name);
            if (value.isZero() || value.isNegative()) {
                throw new IllegalArgumentException(name + ": " + value + " (expected: > 0)");
            }
            return value;
        }

        public OutboundListener build() {
            if (routes == null) {
                throw new IllegalStateException("routes: not set");
            }
            if (tls == null) {
                throw new IllegalStateException("tls: not set");
            }
            if (metrics == null) {
                throw new IllegalStateException("metrics: not set");
            }
            return new OutboundListener(this);
        }
    }
}
