package dev.keel.proxy.workload;

import com.google.protobuf.ByteString;
import dev.keel.identity.Bundle;
import dev.keel.identity.BundleJson;
import dev.keel.identity.BundleSource;
import dev.keel.identity.SpiffeId;
import dev.keel.identity.TrustDomain;
import dev.keel.identity.X509Svid;
import dev.keel.identity.X509SvidValidationException;
import dev.keel.identity.X509SvidVerifier;
import dev.keel.proto.workload.JWTBundlesRequest;
import dev.keel.proto.workload.JWTBundlesResponse;
import dev.keel.proto.workload.SpiffeWorkloadAPIGrpc;
import dev.keel.proto.workload.X509SVID;
import dev.keel.proto.workload.X509SVIDRequest;
import dev.keel.proto.workload.X509SVIDResponse;
import dev.keel.proxy.IdentitySource;
import dev.keel.proxy.X509Material;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;
import io.grpc.stub.MetadataUtils;
import io.netty.channel.epoll.EpollDomainSocketChannel;
import io.netty.channel.epoll.EpollEventLoopGroup;
import io.netty.channel.unix.DomainSocketAddress;
import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.cert.Certificate;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.security.spec.PKCS8EncodedKeySpec;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The proxy's identity from the node agent: a SPIFFE Workload API client over the agent's Unix
 * domain socket. It keeps one {@code FetchX509SVID} stream (and one {@code FetchJWTBundles} stream,
 * whose JWT authorities are merged into the bundles) open for as long as it runs, and reopens a
 * stream that ends or fails with capped exponential backoff and jitter, so an agent restart is
 * survived. While disconnected it keeps serving the last material, but never one whose leaf is
 * past its notAfter.
 *
 * <p>Thread-safe. Listeners are called on a gRPC or backoff thread and must not block.
 */
public final class WorkloadApiIdentitySource implements IdentitySource, AutoCloseable {

    /** The header every Workload API call must carry (SPIFFE Workload Endpoint, section 6.2). */
    public static final Metadata.Key<String> SECURITY_HEADER =
            Metadata.Key.of("workload.spiffe.io", Metadata.ASCII_STRING_MARSHALLER);

    private static final Logger log = LoggerFactory.getLogger(WorkloadApiIdentitySource.class);

    private final Path socketPath;
    private final Optional<SpiffeId> spiffeId;
    private final Clock clock;
    private final Duration initialBackoff;
    private final Duration maxBackoff;
    private final boolean jwtBundles;
    private final EpollEventLoopGroup group = new EpollEventLoopGroup(1);
    private final ScheduledExecutorService scheduler = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "keel-workload-api-backoff");
        t.setDaemon(true);
        return t;
    });
    private final ManagedChannel channel;
    private final SpiffeWorkloadAPIGrpc.SpiffeWorkloadAPIStub stub;
    private final Set<Consumer<X509Material>> listeners = ConcurrentHashMap.newKeySet();
    private final CompletableFuture<X509Material> first = new CompletableFuture<>();
    private final Object lock = new Object();
    private final Stream<X509SVIDResponse> x509Stream;
    private final Stream<JWTBundlesResponse> jwtStream;

    // Guarded by lock.
    private X509Material x509Only;
    private Map<TrustDomain, Map<String, PublicKey>> jwtAuthorities = Map.of();
    private volatile X509Material current;
    private volatile boolean closed;

    private WorkloadApiIdentitySource(Builder builder) {
        this.socketPath = builder.socketPath;
        this.spiffeId = Optional.ofNullable(builder.spiffeId);
        this.clock = builder.clock;
        this.initialBackoff = builder.initialBackoff;
        this.maxBackoff = builder.maxBackoff;
        this.jwtBundles = builder.jwtBundles;
        Metadata headers = new Metadata();
        headers.put(SECURITY_HEADER, "true");
        this.channel = NettyChannelBuilder.forAddress(new DomainSocketAddress(socketPath.toString()))
                .eventLoopGroup(group)
                .channelType(EpollDomainSocketChannel.class)
                .usePlaintext()
                .build();
        this.stub = SpiffeWorkloadAPIGrpc.newStub(channel)
                .withInterceptors(MetadataUtils.newAttachHeadersInterceptor(headers));
        this.x509Stream = new Stream<>("FetchX509SVID",
                observer -> stub.fetchX509SVID(X509SVIDRequest.getDefaultInstance(), observer), this::onX509);
        this.jwtStream = new Stream<>("FetchJWTBundles",
                observer -> stub.fetchJWTBundles(JWTBundlesRequest.getDefaultInstance(), observer), this::onJwtBundles);
    }

    public static Builder builder() {
        return new Builder();
    }

    /** Opens the streams; returns at once. Call once. */
    public WorkloadApiIdentitySource start() {
        x509Stream.open();
        if (jwtBundles) {
            jwtStream.open();
        }
        return this;
    }

    /** The socket this client talks to. */
    public Path socketPath() {
        return socketPath;
    }

    /**
     * Waits for the first material.
     *
     * @throws TimeoutException if none arrived within {@code timeout}
     */
    public X509Material awaitFirst(Duration timeout) throws InterruptedException, TimeoutException {
        try {
            return first.get(timeout.toNanos(), TimeUnit.NANOSECONDS);
        } catch (ExecutionException e) {
            throw new IllegalStateException("closed before the first material arrived", e.getCause());
        }
    }

    /** The latest material, or empty before the first one and once it expired without a successor. */
    @Override
    public Optional<X509Material> current() {
        X509Material material = current;
        if (material == null || !clock.instant().isBefore(material.leaf().getNotAfter().toInstant())) {
            return Optional.empty();
        }
        return Optional.of(material);
    }

    /** True while the X.509 stream is open and has delivered on this connection. */
    public boolean connected() {
        return x509Stream.connected;
    }

    @Override
    public AutoCloseable subscribe(Consumer<X509Material> listener) {
        Objects.requireNonNull(listener, "listener");
        Consumer<X509Material> handle = listener::accept;
        listeners.add(handle);
        return () -> listeners.remove(handle);
    }

    @Override
    public void close() {
        closed = true;
        x509Stream.cancel();
        jwtStream.cancel();
        scheduler.shutdownNow();
        channel.shutdownNow();
        try {
            channel.awaitTermination(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS);
        first.completeExceptionally(new IllegalStateException("closed"));
    }

    private void onX509(X509SVIDResponse response) {
        X509Material material;
        try {
            material = toMaterial(response);
        } catch (GeneralSecurityException | RuntimeException e) {
            // Fail closed on the update, keep serving what is still valid.
            log.warn("Ignoring an X.509-SVID update from the Workload API: {}", e.getMessage());
            return;
        }
        synchronized (lock) {
            x509Only = material;
            publish();
        }
    }

    private void onJwtBundles(JWTBundlesResponse response) {
        Map<TrustDomain, Map<String, PublicKey>> authorities = new HashMap<>();
        try {
            for (Map.Entry<String, ByteString> entry : response.getBundlesMap().entrySet()) {
                TrustDomain td = trustDomainOf(entry.getKey());
                Bundle parsed = BundleJson.parse(td, entry.getValue().toString(StandardCharsets.UTF_8));
                authorities.put(td, parsed.jwtAuthorities());
            }
        } catch (RuntimeException e) {
            log.warn("Ignoring a JWT bundles update from the Workload API: {}", e.getMessage());
            return;
        }
        synchronized (lock) {
            jwtAuthorities = Map.copyOf(authorities);
            if (x509Only != null) {
                publish();
            }
        }
    }

    // Holds lock.
    private void publish() {
        Map<TrustDomain, Bundle> bundles = new HashMap<>(x509Only.bundles());
        jwtAuthorities.forEach((td, keys) -> {
            Bundle bundle = bundles.get(td);
            // A trust domain known only for JWT still gets a bundle: JWT-SVIDs of it can be verified.
            bundles.put(td, bundle == null ? Bundle.builder(td).jwtAuthorities(keys).build()
                    : bundle.withJwtAuthorities(keys));
        });
        X509Material material = new X509Material(x509Only.spiffeId(), x509Only.chain(), x509Only.privateKey(), bundles);
        current = material;
        log.info("Workload API: new material {}", material);
        first.complete(material);
        for (Consumer<X509Material> listener : listeners) {
            try {
                listener.accept(material);
            } catch (RuntimeException e) {
                log.warn("An identity listener failed", e);
            }
        }
    }

    private X509Material toMaterial(X509SVIDResponse response) throws GeneralSecurityException {
        if (response.getSvidsCount() == 0) {
            throw new CertificateException("the response has no X.509-SVID");
        }
        X509SVID svid = response.getSvids(0);
        if (spiffeId.isPresent()) {
            svid = response.getSvidsList().stream()
                    .filter(s -> s.getSpiffeId().equals(spiffeId.get().toString()))
                    .findFirst()
                    .orElseThrow(() -> new CertificateException("no X.509-SVID for " + spiffeId.get() + " in the response"));
        }
        SpiffeId id = SpiffeId.parse(svid.getSpiffeId());
        List<X509Certificate> chain = certificates(svid.getX509Svid());
        PrivateKey key = privateKey(svid.getX509SvidKey().toByteArray(), chain.get(0));
        Map<TrustDomain, Bundle> bundles = new HashMap<>();
        for (Map.Entry<String, ByteString> federated : response.getFederatedBundlesMap().entrySet()) {
            TrustDomain td = trustDomainOf(federated.getKey());
            bundles.put(td, Bundle.of(td, certificates(federated.getValue())));
        }
        bundles.put(id.trustDomain(), Bundle.of(id.trustDomain(), certificates(svid.getBundle())));
        // Our own SVID must verify against our own bundle: never serve a chain peers will refuse.
        try {
            X509SvidVerifier.create(BundleSource.of(bundles.get(id.trustDomain())), clock).verify(chain);
        } catch (X509SvidValidationException e) {
            throw new CertificateException("the SVID of " + id + " does not verify: " + e.getMessage(), e);
        }
        if (!X509Svid.of(chain).spiffeId().equals(id)) {
            throw new CertificateException("spiffe_id " + id + " differs from the certificate's URI SAN");
        }
        return new X509Material(id, chain, key, bundles);
    }

    private static TrustDomain trustDomainOf(String key) {
        return key.startsWith("spiffe://") ? SpiffeId.parse(key).trustDomain() : TrustDomain.parse(key);
    }

    private static List<X509Certificate> certificates(ByteString der) throws CertificateException {
        if (der.isEmpty()) {
            throw new CertificateException("empty certificate list");
        }
        List<X509Certificate> certificates = new ArrayList<>();
        for (Certificate c : CertificateFactory.getInstance("X.509")
                .generateCertificates(new ByteArrayInputStream(der.toByteArray()))) {
            certificates.add((X509Certificate) c);
        }
        return certificates;
    }

    private static PrivateKey privateKey(byte[] pkcs8, X509Certificate leaf) throws GeneralSecurityException {
        String algorithm = leaf.getPublicKey().getAlgorithm();
        PrivateKey key = KeyFactory.getInstance(algorithm).generatePrivate(new PKCS8EncodedKeySpec(pkcs8));
        java.util.Arrays.fill(pkcs8, (byte) 0);
        return key;
    }

    /** One server stream that is reopened after it ends, with capped exponential backoff and jitter. */
    private final class Stream<T> {

        private final String name;
        private final Consumer<ClientResponseObserver<Object, T>> call;
        private final Consumer<T> onNext;
        private int failures;
        private volatile boolean connected;
        private volatile ClientCallStreamObserver<Object> requestStream;

        Stream(String name, Consumer<ClientResponseObserver<Object, T>> call, Consumer<T> onNext) {
            this.name = name;
            this.call = call;
            this.onNext = onNext;
        }

        void open() {
            if (closed) {
                return;
            }
            call.accept(new ClientResponseObserver<>() {
                @Override
                public void beforeStart(ClientCallStreamObserver<Object> stream) {
                    requestStream = stream;
                }

                @Override
                public void onNext(T value) {
                    connected = true;
                    failures = 0;
                    onNext.accept(value);
                }

                @Override
                public void onError(Throwable t) {
                    ended(t.getMessage());
                }

                @Override
                public void onCompleted() {
                    ended("completed by the agent");
                }
            });
        }

        private void ended(String why) {
            connected = false;
            if (closed) {
                return;
            }
            long delay = backoffMillis(failures++);
            log.warn("Workload API {} stream on {} ended ({}); reopening in {} ms", name, socketPath, why, delay);
            try {
                scheduler.schedule(this::open, delay, TimeUnit.MILLISECONDS);
            } catch (java.util.concurrent.RejectedExecutionException e) {
                // Closed meanwhile.
            }
        }

        void cancel() {
            ClientCallStreamObserver<Object> stream = requestStream;
            if (stream != null) {
                stream.cancel("closed", null);
            }
        }
    }

    /** Full jitter over [cap/2, cap] where cap doubles per failure up to the maximum. */
    long backoffMillis(int failures) {
        long cap = initialBackoff.toMillis() << Math.min(failures, 20);
        cap = Math.min(Math.max(cap, 1), maxBackoff.toMillis());
        return cap / 2 + ThreadLocalRandom.current().nextLong(cap / 2 + 1);
    }

    /** Builds a {@link WorkloadApiIdentitySource}; {@link #socketPath} is required. */
    public static final class Builder {

        private Path socketPath;
        private SpiffeId spiffeId;
        private Clock clock = Clock.systemUTC();
        private Duration initialBackoff = Duration.ofMillis(100);
        private Duration maxBackoff = Duration.ofSeconds(10);
        private boolean jwtBundles = true;

        Builder() {
        }

        /** The agent's socket, e.g. {@code /tmp/keel/agent.sock}. */
        public Builder socketPath(Path socketPath) {
            this.socketPath = Objects.requireNonNull(socketPath, "socketPath");
            return this;
        }

        /**
         * Parses {@code unix:///path} or {@code unix:/path} (the {@code SPIFFE_ENDPOINT_SOCKET}
         * forms) or a plain path.
         */
        public Builder endpoint(String endpoint) {
            Objects.requireNonNull(endpoint, "endpoint");
            String path = endpoint.startsWith("unix://") ? endpoint.substring("unix://".length())
                    : endpoint.startsWith("unix:") ? endpoint.substring("unix:".length()) : endpoint;
            if (!path.startsWith("/")) {
                throw new IllegalArgumentException("endpoint: " + endpoint + " (expected: unix:///absolute/path)");
            }
            return socketPath(Path.of(path));
        }

        /** Selects the SVID with this ID instead of the first (the default identity). */
        public Builder spiffeId(SpiffeId spiffeId) {
            this.spiffeId = Objects.requireNonNull(spiffeId, "spiffeId");
            return this;
        }

        public Builder clock(Clock clock) {
            this.clock = Objects.requireNonNull(clock, "clock");
            return this;
        }

        /** First reconnect delay (default 100 ms) and the cap (default 10 s). */
        public Builder backoff(Duration initial, Duration max) {
            Objects.requireNonNull(initial, "initial");
            Objects.requireNonNull(max, "max");
            if (initial.isNegative() || initial.isZero()) {
                throw new IllegalArgumentException("initial backoff: " + initial + " (expected: > 0)");
            }
            if (max.compareTo(initial) < 0) {
                throw new IllegalArgumentException("max backoff: " + max + " (expected: >= initial " + initial + ")");
            }
            this.initialBackoff = initial;
            this.maxBackoff = max;
            return this;
        }

        /** Whether to stream JWT bundles too (default true). */
        public Builder jwtBundles(boolean jwtBundles) {
            this.jwtBundles = jwtBundles;
            return this;
        }

        public WorkloadApiIdentitySource build() {
            if (socketPath == null) {
                throw new IllegalStateException("socketPath: not set");
            }
            if (socketPath.toString().getBytes(StandardCharsets.UTF_8).length > 107) {
                throw new IllegalArgumentException("socketPath: " + socketPath + " (expected: at most 107 bytes)");
            }
            return new WorkloadApiIdentitySource(this);
        }
    }
}
