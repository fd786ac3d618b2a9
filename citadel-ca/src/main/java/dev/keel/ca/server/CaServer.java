package dev.keel.ca.server;

import dev.keel.ca.CaException;
import dev.keel.ca.CaService;
import dev.keel.ca.CitadelCa;
import dev.keel.ca.NodeService;
import dev.keel.ca.TrustBundle;
import dev.keel.ca.crl.CrlPublisher;
import dev.keel.ca.crl.CrlSigner;
import io.grpc.Server;
import io.grpc.ServerInterceptors;
import io.grpc.netty.NettyServerBuilder;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.ServerChannel;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollEventLoopGroup;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.channel.nio.NioEventLoopGroup;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The CA's network face: gRPC over TLS ({@code istio.v1.auth.IstioCertificateService} and
 * {@code keel.ca.v1.KeelCertificateAuthority}) and the HTTPS SPIFFE bundle endpoint, both on
 * BoringSSL with the CA's own, self-renewing serving certificate.
 *
 * <p>Start with {@link #start()}, stop with {@link #close()}. Thread-safe.
 */
public final class CaServer implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(CaServer.class);

    /** Istio's CSRs are about 1 KiB; Keel refuses messages over 64 KiB before parsing them. */
    static final int MAX_MESSAGE_BYTES = 64 * 1024;
    static final int MAX_METADATA_BYTES = 16 * 1024;
    /**
     * How often revocations queued by {@code keel ca revoke} are audited and the CRL checked for a
     * changed list, a renewed intermediate or its half-life: one small file read when nothing changed.
     */
    static final long CRL_CHECK_SECONDS = 5;

    private final Builder config;
    private final ServingIdentity identity;
    private final EventLoopGroup boss;
    private final EventLoopGroup workers;
    private final ExecutorService handlers;
    private final ScheduledExecutorService renewer;
    /** Null unless the server publishes a CRL (built from a CitadelCa, bundle endpoint enabled). */
    private final CrlPublisher crl;
    private Server grpc;
    private Channel bundleChannel;

    private CaServer(Builder config) throws CaException {
        this.config = config;
        this.identity = new ServingIdentity(config.service.issuer(), config.hosts, config.clock);
        boolean epoll = Epoll.isAvailable();
        this.boss = epoll ? new EpollEventLoopGroup(1, threads("keel-ca-accept")) : new NioEventLoopGroup(1, threads("keel-ca-accept"));
        this.workers = epoll ? new EpollEventLoopGroup(config.ioThreads, threads("keel-ca-io"))
                : new NioEventLoopGroup(config.ioThreads, threads("keel-ca-io"));
        this.handlers = Executors.newFixedThreadPool(config.handlerThreads, threads("keel-ca-handler"));
        this.renewer = Executors.newSingleThreadScheduledExecutor(threads("keel-ca-renew"));
        this.crl = config.crlOf == null || config.bundlePort < 0 ? null
                : CrlPublisher.forCa(config.crlOf, config.crlSigner, config.clock);
    }

    /**
     * A server for {@code service} and {@code bundle} only: node attestation RPCs answer
     * UNIMPLEMENTED unless {@link Builder#nodeService} is set. Prefer {@link #builder(CitadelCa)}.
     */
    public static Builder builder(CaService service, TrustBundle bundle) {
        return new Builder(service, bundle);
    }

    /**
     * A server for everything {@code ca} serves, node attestation included, and its CRL at
     * {@code /crl} on the bundle endpoint (valid {@link CrlSigner#DEFAULT_VALIDITY}; see
     * {@link Builder#crlValidity}).
     */
    public static Builder builder(CitadelCa ca) {
        Builder builder = new Builder(ca.service(), ca.bundle()).nodeService(ca.nodeService());
        builder.crlOf = ca;
        return builder;
    }

    /** Binds both ports. */
    public CaServer start() throws IOException {
        Class<? extends ServerChannel> channelType = Epoll.isAvailable()
                ? EpollServerSocketChannel.class : NioServerSocketChannel.class;
        CallerCredentialsInterceptor credentials = new CallerCredentialsInterceptor();
        grpc = NettyServerBuilder.forAddress(new InetSocketAddress(config.host, config.grpcPort))
                .channelType(channelType)
                .bossEventLoopGroup(boss)
                .workerEventLoopGroup(workers)
                .executor(handlers)
                .sslContext(TlsContexts.grpcServer(identity.keyManager(), config.service.issuer().signingCa().roots()))
                .maxInboundMessageSize(MAX_MESSAGE_BYTES)
                .maxInboundMetadataSize(MAX_METADATA_BYTES)
                .addService(ServerInterceptors.intercept(new IstioCertificateGrpcService(config.service, handlers), credentials))
                .addService(ServerInterceptors.intercept(
                        new KeelCaGrpcService(config.service, config.nodeService, config.bundle, handlers), credentials))
                .build()
                .start();
        if (crl != null) {
            refreshCrl(); // once before serving: signing goes through the CA key, possibly in an HSM
        }
        if (config.bundlePort >= 0) {
            try {
                bundleChannel = new ServerBootstrap()
                        .group(boss, workers)
                        .channel(channelType)
                        .childHandler(new BundleEndpoint(TlsContexts.httpsServer(identity.keyManager()), config.bundle, crl))
                        .bind(config.host, config.bundlePort)
                        .sync()
                        .channel();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IOException("interrupted while binding the bundle endpoint", e);
            }
        }
        renewer.scheduleWithFixedDelay(this::renewServingCertificate, 1, 1, TimeUnit.MINUTES);
        if (crl != null) {
            renewer.scheduleWithFixedDelay(this::refreshCrl, CRL_CHECK_SECONDS, CRL_CHECK_SECONDS, TimeUnit.SECONDS);
        }
        return this;
    }

    private void refreshCrl() {
        try {
            if (crl.refreshIfDue()) {
                crl.current().ifPresent(signed -> log.info("signed CRL number {} ({} entries, next update {})",
                        signed.number(), signed.entries(), signed.nextUpdate()));
            }
        } catch (CaException | IOException | RuntimeException e) {
            // keep serving the last CRL: it is signed and valid until its nextUpdate; the next run retries
            log.warn("CRL refresh: {}", e.getMessage());
        }
    }

    private void renewServingCertificate() {
        try {
            if (identity.renewIfDue()) {
                log.info("renewed the CA serving certificate {}", identity.spiffeId());
            }
        } catch (CaException | RuntimeException e) {
            // keep serving the current certificate; it is still valid and the next run retries
            log.warn("cannot renew the CA serving certificate: {}", e.getMessage());
        }
    }

    public int grpcPort() {
        return grpc.getPort();
    }

    /** The bound bundle endpoint port, or -1 if disabled. */
    public int bundlePort() {
        return bundleChannel == null ? -1 : ((InetSocketAddress) bundleChannel.localAddress()).getPort();
    }

    /** The serving certificate clients see now. */
    public java.security.cert.X509Certificate servingCertificate() {
        return identity.keyManager().leaf();
    }

    /** Waits until the gRPC server terminates. */
    public void awaitTermination() throws InterruptedException {
        grpc.awaitTermination();
    }

    @Override
    public void close() {
        renewer.shutdownNow();
        if (bundleChannel != null) {
            bundleChannel.close().syncUninterruptibly();
        }
        if (grpc != null) {
            grpc.shutdown();
            try {
                if (!grpc.awaitTermination(5, TimeUnit.SECONDS)) {
                    grpc.shutdownNow();
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                grpc.shutdownNow();
            }
        }
        handlers.shutdown();
        boss.shutdownGracefully(0, 1, TimeUnit.SECONDS);
        workers.shutdownGracefully(0, 1, TimeUnit.SECONDS);
    }

    private static ThreadFactory threads(String prefix) {
        AtomicInteger n = new AtomicInteger();
        return runnable -> {
            Thread t = new Thread(runnable, prefix + "-" + n.incrementAndGet());
            t.setDaemon(true);
            return t;
        };
    }

    /** Configures a {@link CaServer}; defaults are Keel's documented ports on all interfaces. */
    public static final class Builder {

        private final CaService service;
        private final TrustBundle bundle;
        private NodeService nodeService;
        private String host = "0.0.0.0";
        private int grpcPort = 15012;
        private int bundlePort = 15014;
        private List<String> hosts = new ArrayList<>(List.of("localhost", "127.0.0.1"));
        private Clock clock = Clock.systemUTC();
        private int ioThreads = Math.max(1, Runtime.getRuntime().availableProcessors());
        private int handlerThreads = Math.max(8, 4 * Runtime.getRuntime().availableProcessors());
        private CitadelCa crlOf;
        private CrlSigner crlSigner = new CrlSigner(CrlSigner.DEFAULT_VALIDITY);

        Builder(CaService service, TrustBundle bundle) {
            this.service = Objects.requireNonNull(service, "service");
            this.bundle = Objects.requireNonNull(bundle, "bundle");
        }

        /** Serves AttestNode, FetchEntries, SignWorkloadSVID and MintJWTSVID for workloads through it. */
        public Builder nodeService(NodeService nodeService) {
            this.nodeService = Objects.requireNonNull(nodeService, "nodeService");
            return this;
        }

        /** The address to bind, e.g. {@code 127.0.0.1}. */
        public Builder host(String host) {
            this.host = Objects.requireNonNull(host, "host");
            return this;
        }

        /** 0 picks a free port. */
        public Builder grpcPort(int port) {
            this.grpcPort = checkPort("grpcPort", port);
            return this;
        }

        /** 0 picks a free port; -1 disables the bundle endpoint. */
        public Builder bundlePort(int port) {
            this.bundlePort = port == -1 ? -1 : checkPort("bundlePort", port);
            return this;
        }

        /** Host names and IP literals clients dial; they go into the serving certificate. */
        public Builder servingHosts(List<String> hosts) {
            this.hosts = new ArrayList<>(hosts);
            return this;
        }

        public Builder clock(Clock clock) {
            this.clock = Objects.requireNonNull(clock, "clock");
            return this;
        }

        /**
         * How long each CRL served at {@code /crl} is valid (thisUpdate to nextUpdate); a new one is
         * signed after half of it, or sooner when a certificate is revoked. Only servers built with
         * {@link CaServer#builder(CitadelCa)} publish a CRL.
         */
        public Builder crlValidity(Duration validity) {
            this.crlSigner = new CrlSigner(validity);
            return this;
        }

        public Builder handlerThreads(int threads) {
            if (threads < 1) {
                throw new IllegalArgumentException("handlerThreads: " + threads + " (expected: >= 1)");
            }
            this.handlerThreads = threads;
            return this;
        }

        public CaServer build() throws CaException {
            return new CaServer(this);
        }

        private static int checkPort(String name, int port) {
            if (port < 0 || port > 65535) {
                throw new IllegalArgumentException(name + ": " + port + " (expected: 0 to 65535)");
            }
            return port;
        }
    }
}
