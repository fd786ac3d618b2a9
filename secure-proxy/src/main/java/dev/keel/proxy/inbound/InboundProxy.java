package dev.keel.proxy.inbound;

import dev.keel.proxy.audit.PlaintextPeers;
import dev.keel.authz.Protocol;
import dev.keel.jwt.JwksCache;
import dev.keel.policy.source.DirectoryPolicySource;
import dev.keel.policy.source.PolicySource;
import dev.keel.proxy.ProxyConfig;
import dev.keel.proxy.ProxyMetrics;
import dev.keel.proxy.pipeline.PipelineHolder;
import dev.keel.proxy.pipeline.PipelineSettings;
import dev.keel.proxy.upstream.Http1ConnectionPool;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.channel.Channel;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollEventLoopGroup;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.channel.epoll.EpollSocketChannel;
import io.netty.channel.nio.NioEventLoopGroup;
import io.netty.channel.socket.ServerSocketChannel;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.time.Clock;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The inbound side of the proxy: the main listener ({@code inbound.port}, for traffic to
 * {@code app.port}) and one listener per declared port, each applying the PeerAuthentication mode of
 * its app port (STRICT, PERMISSIVE with TLS detection, DISABLE), then HTTP/1.1, HTTP/2 or opaque TCP,
 * the filter pipeline, and the app over pooled keep-alive connections. Netty with epoll where
 * available and the pooled direct allocator.
 *
 * <pre>{@code
 * ProxyConfig config = ProxyConfig.load(Path.of("proxy.yaml"));
 * try (IdentityServerTlsContexts tls = IdentityServerTlsContexts.create(identitySource);
 *      InboundProxy proxy = InboundProxy.builder(config).tls(tls).metrics(metrics).build().start()) {
 *     ...
 * }
 * }</pre>
 *
 * <p>Policies come from {@link #builder} {@code .pipelines(holder)}, or else from
 * {@code config.policyDirectory()} (watched; the proxy closes what it opened), or else none at all.
 * Thread-safe; {@link #close()} stops accepting, closes connections and waits for the event loops.
 */
public final class InboundProxy implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(InboundProxy.class);

    private final ProxyConfig config;
    private final ServerTlsContexts tls;
    private final ProxyMetrics metrics;
    private final Clock clock;
    private final PipelineHolder givenPipelines;
    private final Consumer<String> accessLogSink;
    private final Map<Integer, Integer> boundPorts = new LinkedHashMap<>();
    private PolicySource ownSource;
    private PipelineHolder pipelines;
    private EventLoopGroup boss;
    private EventLoopGroup workers;
    private Http1ConnectionPool upstream;
    private PlaintextPeers plaintextPeers;
    private int mainPort = -1;

    private InboundProxy(Builder b) {
        this.config = b.config;
        this.tls = b.tls;
        this.metrics = b.metrics;
        this.clock = b.clock;
        this.givenPipelines = b.pipelines;
        this.accessLogSink = b.accessLogSink;
    }

    public static Builder builder(ProxyConfig config) {
        return new Builder(config);
    }

    /** Binds every listener; returns this. */
    public synchronized InboundProxy start() {
        if (boss != null) {
            throw new IllegalStateException("already started");
        }
        pipelines = givenPipelines;
        PipelineSettings settings = PipelineSettings.from(config);
        if (pipelines == null) {
            if (config.policyDirectory().isPresent()) {
                try {
                    ownSource = DirectoryPolicySource.open(config.policyDirectory().get(),
                            new DirectoryPolicySource.Options(config.workload().namespace(), Duration.ofMillis(100),
                                    Duration.ofSeconds(2)));
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
                pipelines = PipelineHolder.following(ownSource, settings, JwksCache.create());
            } else {
                pipelines = PipelineHolder.withoutPolicies(settings, JwksCache.create());
            }
        }
        boolean epoll = Epoll.isAvailable();
        Class<? extends ServerSocketChannel> serverType = epoll ? EpollServerSocketChannel.class : NioServerSocketChannel.class;
        Class<? extends SocketChannel> clientType = epoll ? EpollSocketChannel.class : NioSocketChannel.class;
        // workerThreads 0 is Netty's default. The listeners accept on the worker loops too: with one
        // thread (a proxy pinned to a core) a separate acceptor would only add a thread hop per connection.
        workers = epoll ? new EpollEventLoopGroup(config.workerThreads()) : new NioEventLoopGroup(config.workerThreads());
        boss = workers;
        upstream = new Http1ConnectionPool(clientType, 64 * 1024 * 1024, Duration.ofSeconds(5), Duration.ofSeconds(60));
        InboundServices services = new InboundServices(config, pipelines, tls, metrics, upstream,
                new AccessLog(accessLogSink), clock);
        plaintextPeers = services.plaintextPeers();
        try {
            ProxyConfig.Inbound in = config.inbound();
            int appPort = config.app().port();
            Protocol mainProtocol = in.settingsFor(appPort).map(ProxyConfig.PortSettings::protocol).orElse(Protocol.HTTP);
            mainPort = bind(services, serverType, new ListenerSpec(in.host(), in.port(), appPort, mainProtocol,
                    new InetSocketAddress(config.app().host(), appPort)));
            for (ProxyConfig.PortSettings p : in.ports()) {
                if (p.port() == appPort) {
                    continue;
                }
                boundPorts.put(p.port(), bind(services, serverType, new ListenerSpec(in.host(), p.listenPort(), p.port(),
                        p.protocol(), new InetSocketAddress(config.app().host(), p.port()))));
            }
        } catch (RuntimeException e) {
            close();
            throw e;
        }
        LOG.info("inbound listening on {}:{} for app port {}{}", config.inbound().host(), mainPort, config.app().port(),
                boundPorts.isEmpty() ? "" : ", and " + boundPorts + " (app port=listener port)");
        return this;
    }

    private int bind(InboundServices services, Class<? extends ServerSocketChannel> serverType, ListenerSpec spec) {
        Channel ch = new ServerBootstrap().group(boss, workers).channel(serverType)
                .option(ChannelOption.SO_BACKLOG, 1024)
                .option(ChannelOption.SO_REUSEADDR, true)
                .childOption(ChannelOption.ALLOCATOR, PooledByteBufAllocator.DEFAULT)
                .childOption(ChannelOption.TCP_NODELAY, true)
                .childHandler(new InboundInitializer(services, spec))
                .bind(spec.host(), spec.listenPort())
                .syncUninterruptibly()
                .channel();
        return ((InetSocketAddress) ch.localAddress()).getPort();
    }

    /** The bound port of the main listener. */
    public synchronized int port() {
        if (mainPort < 0) {
            throw new IllegalStateException("not started");
        }
        return mainPort;
    }

    /** The bound port of the listener for declared app port {@code appPort}. */
    public synchronized int port(int appPort) {
        Integer p = boundPorts.get(appPort);
        if (p == null) {
            throw new IllegalArgumentException("appPort: " + appPort + " (expected one of " + boundPorts.keySet() + ")");
        }
        return p;
    }

    /** The peers that connected without mutual TLS; empty before {@link #start}. */
    public synchronized PlaintextPeers plaintextPeers() {
        return plaintextPeers == null ? new PlaintextPeers(1, clock) : plaintextPeers;
    }

    /** The pipeline holder in use (after {@link #start()}). */
    public synchronized PipelineHolder pipelines() {
        return pipelines;
    }

    @Override
    public synchronized void close() {
        if (upstream != null) {
            upstream.close();
        }
        if (boss != null) {
            workers.shutdownGracefully(0, 2, TimeUnit.SECONDS).syncUninterruptibly();
        }
        if (ownSource != null) {
            pipelines.close();
            ownSource.close();
            ownSource = null;
        }
    }

    /** Builds an {@link InboundProxy}; {@code tls} and {@code metrics} are required. */
    public static final class Builder {
        private final ProxyConfig config;
        private ServerTlsContexts tls;
        private ProxyMetrics metrics;
        private PipelineHolder pipelines;
        private Clock clock = Clock.systemUTC();
        private Consumer<String> accessLogSink;

        Builder(ProxyConfig config) {
            this.config = Objects.requireNonNull(config, "config");
        }

        public Builder tls(ServerTlsContexts tls) {
            this.tls = Objects.requireNonNull(tls, "tls");
            return this;
        }

        public Builder metrics(ProxyMetrics metrics) {
            this.metrics = Objects.requireNonNull(metrics, "metrics");
            return this;
        }

        /** The pipeline to use instead of one following {@code config.policyDirectory()}; the caller closes it. */
        public Builder pipelines(PipelineHolder pipelines) {
            this.pipelines = Objects.requireNonNull(pipelines, "pipelines");
            return this;
        }

        public Builder clock(Clock clock) {
            this.clock = Objects.requireNonNull(clock, "clock");
            return this;
        }

        /** Where the JSON access log lines go instead of the slf4j logger {@code keel.access}. */
        public Builder accessLog(Consumer<String> sink) {
            this.accessLogSink = Objects.requireNonNull(sink, "sink");
            return this;
        }

        public InboundProxy build() {
            Objects.requireNonNull(tls, "tls");
            Objects.requireNonNull(metrics, "metrics");
            return new InboundProxy(this);
        }
    }
}
