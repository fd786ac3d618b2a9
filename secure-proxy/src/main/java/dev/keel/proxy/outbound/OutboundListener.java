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
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.timeout.IdleStateHandler;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.Objects;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The outbound listener (default 127.0.0.1:15001): the app sends plaintext HTTP/1.1 here; the
 * {@link RouteTable} picks the destination's inbound proxy by the Host header; the request goes
 * over mTLS originated with the proxy's own SVID (from the {@link TlsContextHolder}, whose client
 * ALPN should be http/1.1 or none), and only after the server's SPIFFE ID proved to be one allowed
 * for the destination ("secure naming"). A mismatch fails the request with 503 and counts
 * {@link ProxyMetrics#secureNamingFailure}. Upstream connections are kept alive and pooled per event
 * loop. Responses: 404 when no route, 503 when the upstream cannot be reached or authenticated, 504
 * on the request timeout, 413 for an oversized request body.
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
        pool = new UpstreamPool(tls, metrics, clientClass, Duration.ofSeconds(5), idleTimeout,
                16 * 1024 * 1024);
        try {
            server = new ServerBootstrap().group(group).channel(serverClass)
                    .childOption(ChannelOption.TCP_NODELAY, true)
                    .childHandler(new ChannelInitializer<SocketChannel>() {
                        @Override
                        protected void initChannel(SocketChannel ch) {
                            ch.pipeline().addLast(new IdleStateHandler(0, 0, idleTimeout.toMillis(), TimeUnit.MILLISECONDS));
                            ch.pipeline().addLast(new HttpServerCodec(8192, 32 * 1024, 8192));
                            ch.pipeline().addLast(new HttpObjectAggregator(maxBodyBytes));
                            ch.pipeline().addLast(new OutboundHandler(routes, pool, tls, metrics, requestTimeout));
                        }
                    })
                    .bind(address).sync().channel();
        } catch (InterruptedException | RuntimeException e) {
            group.shutdownGracefully(0, 1, TimeUnit.SECONDS);
            throw e;
        }
        log.info("Outbound listener on {}", server.localAddress());
        return this;
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
