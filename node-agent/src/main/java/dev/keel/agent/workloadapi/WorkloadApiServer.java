package dev.keel.agent.workloadapi;

import dev.keel.agent.AgentMetrics;
import dev.keel.agent.PodResolver;
import dev.keel.agent.WorkloadAttestor;
import dev.keel.agent.WorkloadIdentities;
import io.grpc.Server;
import io.grpc.ServerInterceptors;
import io.grpc.netty.NettyServerBuilder;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollEventLoopGroup;
import io.netty.channel.epoll.EpollServerDomainSocketChannel;
import io.netty.channel.unix.DomainSocketAddress;
import io.netty.util.concurrent.DefaultThreadFactory;
import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The SPIFFE Workload API of the node agent: gRPC over a Unix domain socket (Netty epoll), wire
 * compatible with the SPIFFE Workload API and Workload Endpoint specifications.
 *
 * <p>Who the caller is comes from the kernel: the peer credentials of the connection (SO_PEERCRED),
 * run through the configured {@link WorkloadAttestor}s on every call; in Kubernetes mode (a
 * {@link PodResolver} is set) the caller's pod is also admitted with
 * {@link WorkloadIdentities#admitPod}. A caller gets exactly the SVIDs of the registration entries
 * its selectors satisfy; anything it sends about itself is ignored. The socket is connectable by every
 * local user, as SPIRE's is: authorization is by attestation, not by file permissions.
 *
 * <p>Limits: requests of at most {@value #MAX_INBOUND_MESSAGE_SIZE} bytes and
 * {@value #MAX_INBOUND_METADATA_SIZE} bytes of metadata, at most
 * {@value #MAX_CONCURRENT_CALLS_PER_CONNECTION} concurrent calls per connection.
 *
 * <pre>{@code
 * WorkloadApiServer server = WorkloadApiServer.builder()
 *         .socketPath(Path.of("/tmp/keel/agent.sock"))
 *         .identities(cache)
 *         .attestors(List.of(UnixWorkloadAttestor.builder().build()))
 *         .metrics(metrics)
 *         .build();
 * server.start();
 * }</pre>
 *
 * <p>Threads: Netty's epoll event loops only move bytes; calls run on a pool of
 * {@code max(8, 2 × cores)} threads, where attestation may block (reading {@code /proc}, asking the
 * Kubernetes API); open streams hold no thread between updates.
 *
 * <p>Thread-safe. {@link #close()} ends every open stream with Unavailable (clients reconnect with a
 * backoff), stops the server and removes the socket file.
 */
public final class WorkloadApiServer implements AutoCloseable {

    /** Largest request accepted: Workload API requests are a few audiences or one token. */
    public static final int MAX_INBOUND_MESSAGE_SIZE = 64 * 1024;
    /** Largest request metadata accepted. */
    public static final int MAX_INBOUND_METADATA_SIZE = 8 * 1024;
    /** Concurrent calls per connection: a workload needs a handful of streams. */
    public static final int MAX_CONCURRENT_CALLS_PER_CONNECTION = 64;
    /** sun_path is 108 bytes, with the terminating NUL. */
    static final int MAX_SOCKET_PATH_BYTES = 107;

    private static final Logger log = LoggerFactory.getLogger(WorkloadApiServer.class);
    private static final int SOCKET_MODE = 0140000;
    private static final int FILE_TYPE_MASK = 0170000;

    private final Path socketPath;
    private final WorkloadIdentities identities;
    private final List<WorkloadAttestor> attestors;
    private final PodResolver podResolver;
    private final AgentMetrics metrics;
    private final Clock clock;

    // Guarded by this.
    private boolean started;
    private boolean closed;
    /** Whether this server bound the socket file, and so may remove it. */
    private boolean bound;
    private Server server;
    private Streams streams;
    private EventLoopGroup boss;
    private EventLoopGroup workers;
    private ExecutorService callExecutor;
    private ScheduledThreadPoolExecutor timer;

    private WorkloadApiServer(Builder builder) {
        this.socketPath = builder.socketPath;
        this.identities = builder.identities;
        this.attestors = List.copyOf(builder.attestors);
        this.podResolver = builder.podResolver;
        this.metrics = builder.metrics;
        this.clock = builder.clock;
    }

    public static Builder builder() {
        return new Builder();
    }

    /** The socket this server listens on (absolute). */
    public Path socketPath() {
        return socketPath;
    }

    /** The socket as a SPIFFE endpoint address, {@code unix://<path>}, for {@code SPIFFE_ENDPOINT_SOCKET}. */
    public String endpointAddress() {
        return "unix://" + socketPath;
    }

    /**
     * Binds the socket and starts serving: creates the parent directory if needed, removes a stale
     * socket file left by a previous run, and makes the socket connectable by every local user.
     *
     * @throws IOException if the path exists and is not a socket, another process is listening on it,
     *     or binding fails
     * @throws IllegalStateException if started twice, or Netty's native epoll transport is unavailable
     */
    public synchronized void start() throws IOException {
        if (started) {
            throw new IllegalStateException("already started");
        }
        started = true;
        if (!Epoll.isAvailable()) {
            throw new IllegalStateException("the Workload API needs Netty's native epoll transport (Linux): "
                    + Epoll.unavailabilityCause());
        }
        prepareSocketPath(socketPath);
        boss = new EpollEventLoopGroup(1, new DefaultThreadFactory("keel-workload-api-accept", true));
        workers = new EpollEventLoopGroup(0, new DefaultThreadFactory("keel-workload-api-io", true));
        int threads = Math.max(8, 2 * Runtime.getRuntime().availableProcessors());
        ThreadPoolExecutor executor = new ThreadPoolExecutor(threads, threads, 60, TimeUnit.SECONDS,
                new LinkedBlockingQueue<>(), new DefaultThreadFactory("keel-workload-api", true));
        executor.allowCoreThreadTimeOut(true);
        callExecutor = executor;
        timer = new ScheduledThreadPoolExecutor(1, new DefaultThreadFactory("keel-workload-api-timer", true));
        timer.setRemoveOnCancelPolicy(true);
        streams = new Streams(callExecutor, timer, clock);
        WorkloadApiService service = new WorkloadApiService(identities,
                new CallerAttestation(attestors, podResolver, identities, metrics), metrics, streams);
        try {
            server = NettyServerBuilder.forAddress(new DomainSocketAddress(socketPath.toString()),
                            PeerCredentialsNegotiator.serverCredentials())
                    .channelType(EpollServerDomainSocketChannel.class)
                    .bossEventLoopGroup(boss)
                    .workerEventLoopGroup(workers)
                    .executor(callExecutor)
                    // gRPC sets TCP keepalive on every connection; a Unix socket has none, and Netty would log a
                    // warning per workload connection. A null child option removes it (applied after gRPC's own).
                    .withChildOption(ChannelOption.SO_KEEPALIVE, null)
                    .maxInboundMessageSize(MAX_INBOUND_MESSAGE_SIZE)
                    .maxInboundMetadataSize(MAX_INBOUND_METADATA_SIZE)
                    .maxConcurrentCallsPerConnection(MAX_CONCURRENT_CALLS_PER_CONNECTION)
                    .addService(ServerInterceptors.intercept(service, new CallerInterceptor()))
                    .build()
                    .start();
            bound = true;
            Files.setPosixFilePermissions(socketPath, PosixFilePermissions.fromString("rwxrwxrwx"));
        } catch (IOException | RuntimeException e) {
            stop();
            throw e;
        }
        log.info("Workload API listening on {}", endpointAddress());
    }

    /** How many streams are open (metrics, tests). */
    public int openStreams() {
        Streams current;
        synchronized (this) {
            current = streams;
        }
        return current == null ? 0 : current.openCount();
    }

    /** Ends open streams with Unavailable, stops the server and removes the socket file. Idempotent. */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        if (streams != null) {
            streams.closeAll();
        }
        stop();
        log.info("Workload API on {} closed", endpointAddress());
    }

    private void stop() {
        if (server != null) {
            server.shutdown();
            try {
                if (!server.awaitTermination(5, TimeUnit.SECONDS)) {
                    server.shutdownNow();
                    server.awaitTermination(5, TimeUnit.SECONDS);
                }
            } catch (InterruptedException e) {
                server.shutdownNow();
                Thread.currentThread().interrupt();
            }
        }
        if (timer != null) {
            timer.shutdownNow();
        }
        if (callExecutor != null) {
            callExecutor.shutdown();
        }
        for (EventLoopGroup group : new EventLoopGroup[] {boss, workers}) {
            if (group != null) {
                group.shutdownGracefully(0, 1, TimeUnit.SECONDS).awaitUninterruptibly(5, TimeUnit.SECONDS);
            }
        }
        if (!bound) {
            return;
        }
        bound = false;
        try {
            if (isSocket(socketPath)) {
                Files.deleteIfExists(socketPath);
            }
        } catch (IOException e) {
            log.warn("Cannot remove the Workload API socket {}: {}", socketPath, e.toString());
        }
    }

    private static void prepareSocketPath(Path path) throws IOException {
        Path parent = path.getParent();
        if (!Files.isDirectory(parent)) {
            try {
                Files.createDirectories(parent);
                // Every local user must reach the socket; the directory holds nothing else of ours.
                Files.setPosixFilePermissions(parent, PosixFilePermissions.fromString("rwxr-xr-x"));
            } catch (FileAlreadyExistsException e) {
                throw new IOException("cannot create the directory of the Workload API socket: " + parent
                        + " exists and is not a directory", e);
            }
        }
        if (!Files.exists(path, LinkOption.NOFOLLOW_LINKS)) {
            return;
        }
        if (!isSocket(path)) {
            throw new IOException(path + " exists and is not a socket; refusing to replace it");
        }
        boolean listening;
        try (SocketChannel probe = SocketChannel.open(StandardProtocolFamily.UNIX)) {
            listening = probe.connect(UnixDomainSocketAddress.of(path));
        } catch (IOException e) {
            listening = false;
        }
        if (listening) {
            throw new IOException("another process is listening on " + path + " (is an agent already running?)");
        }
        log.info("Removing the stale Workload API socket {}", path);
        Files.delete(path);
    }

    private static boolean isSocket(Path path) throws IOException {
        if (!Files.exists(path, LinkOption.NOFOLLOW_LINKS)) {
            return false;
        }
        try {
            Object mode = Files.getAttribute(path, "unix:mode", LinkOption.NOFOLLOW_LINKS);
            return mode instanceof Integer && ((Integer) mode & FILE_TYPE_MASK) == SOCKET_MODE;
        } catch (UnsupportedOperationException | IllegalArgumentException e) {
            return Files.readAttributes(path, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS).isOther();
        }
    }

    /** Configures a {@link WorkloadApiServer}. Not thread-safe. */
    public static final class Builder {

        private Path socketPath;
        private WorkloadIdentities identities;
        private final List<WorkloadAttestor> attestors = new ArrayList<>();
        private boolean attestorsSet;
        private PodResolver podResolver;
        private AgentMetrics metrics;
        private Clock clock = Clock.systemUTC();

        Builder() {
        }

        /** The socket to listen on; its absolute path must fit a Unix socket address (107 bytes). Required. */
        public Builder socketPath(Path socketPath) {
            Path absolute = Objects.requireNonNull(socketPath, "socketPath").toAbsolutePath().normalize();
            int bytes = absolute.toString().getBytes(StandardCharsets.UTF_8).length;
            if (bytes > MAX_SOCKET_PATH_BYTES) {
                throw new IllegalArgumentException("socketPath: " + absolute + " is " + bytes + " bytes (expected: <= "
                        + MAX_SOCKET_PATH_BYTES + ", the Unix socket address limit)");
            }
            this.socketPath = absolute;
            return this;
        }

        /** What is served. Required. */
        public Builder identities(WorkloadIdentities identities) {
            this.identities = Objects.requireNonNull(identities, "identities");
            return this;
        }

        /**
         * The workload attestors run on every call, replacing any set before; the caller's selectors are
         * the union of theirs. Required (may be empty in Kubernetes mode, where the pod is the identity).
         */
        public Builder attestors(List<? extends WorkloadAttestor> attestors) {
            Objects.requireNonNull(attestors, "attestors");
            List<WorkloadAttestor> copy = new ArrayList<>(attestors.size());
            for (WorkloadAttestor attestor : attestors) {
                copy.add(Objects.requireNonNull(attestor, "attestor"));
            }
            this.attestors.clear();
            this.attestors.addAll(copy);
            this.attestorsSet = true;
            return this;
        }

        /** Kubernetes mode: finds each caller's pod, which is then admitted as an identity. Optional. */
        public Builder podResolver(PodResolver podResolver) {
            this.podResolver = Objects.requireNonNull(podResolver, "podResolver");
            return this;
        }

        /** Where served SVIDs and attestation failures are counted. Required. */
        public Builder metrics(AgentMetrics metrics) {
            this.metrics = Objects.requireNonNull(metrics, "metrics");
            return this;
        }

        /** The clock SVID validity and JWT-SVID expiry are judged by (default: the system clock). */
        public Builder clock(Clock clock) {
            this.clock = Objects.requireNonNull(clock, "clock");
            return this;
        }

        /** A server, not started yet. */
        public WorkloadApiServer build() {
            if (socketPath == null) {
                throw new IllegalStateException("socketPath: not set (required)");
            }
            if (identities == null) {
                throw new IllegalStateException("identities: not set (required)");
            }
            if (!attestorsSet) {
                throw new IllegalStateException("attestors: not set (required)");
            }
            if (attestors.isEmpty() && podResolver == null) {
                throw new IllegalStateException("attestors: empty without a podResolver (expected: at least one "
                        + "attestor, or Kubernetes mode); no caller could ever be identified");
            }
            if (metrics == null) {
                throw new IllegalStateException("metrics: not set (required)");
            }
            return new WorkloadApiServer(this);
        }
    }
}
