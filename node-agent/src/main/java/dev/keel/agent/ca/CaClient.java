package dev.keel.agent.ca;

import dev.keel.agent.AgentConfig;
import dev.keel.agent.AgentMetrics;
import dev.keel.agent.WorkloadIdentityException;
import dev.keel.identity.Bundle;
import dev.keel.identity.SpiffeId;
import dev.keel.proto.ca.v1.AttestNodeRequest;
import dev.keel.proto.ca.v1.AttestNodeResponse;
import dev.keel.proto.ca.v1.FetchBundleRequest;
import dev.keel.proto.ca.v1.FetchBundleResponse;
import dev.keel.proto.ca.v1.FetchEntriesRequest;
import dev.keel.proto.ca.v1.FetchEntriesResponse;
import dev.keel.proto.ca.v1.KeelCertificateAuthorityGrpc;
import dev.keel.proto.ca.v1.MintJWTSVIDRequest;
import dev.keel.proto.ca.v1.MintJWTSVIDResponse;
import dev.keel.proto.ca.v1.SignWorkloadSVIDRequest;
import dev.keel.proto.ca.v1.SignWorkloadSVIDResponse;
import dev.keel.proto.istio.v1.auth.IstioCertificateRequest;
import dev.keel.proto.istio.v1.auth.IstioCertificateResponse;
import dev.keel.proto.istio.v1.auth.IstioCertificateServiceGrpc;
import io.grpc.CallOptions;
import io.grpc.ClientCall;
import io.grpc.ConnectivityState;
import io.grpc.ManagedChannel;
import io.grpc.MethodDescriptor;
import io.grpc.Status;
import io.grpc.netty.GrpcSslContexts;
import io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.ClientCalls;
import io.grpc.stub.StreamObserver;
import io.netty.handler.ssl.OpenSsl;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslProvider;
import java.security.PrivateKey;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The agent's client for the CA's {@code keel.ca.v1.KeelCertificateAuthority} and
 * {@code istio.v1.auth.IstioCertificateService}: gRPC over TLS (BoringSSL through netty-tcnative).
 *
 * <ul>
 *   <li>The CA is authenticated by its X.509-SVID {@code spiffe://<td>/keel/ca}, verified against the
 *       trust bundle the agent holds ({@link #trustBundle()}: the bootstrap bundle until the CA's own
 *       replaces it through {@link #updateTrustBundle}); no host name check (see
 *       {@link SpiffeServerTrustManager} for why).</li>
 *   <li>The agent authenticates with its node SVID once it has one ({@link #useClientIdentity}); a
 *       renewed node SVID brings a new channel, the old one is shut down gracefully (calls in flight
 *       finish on it).</li>
 *   <li>Every call has the configured deadline, is recorded in {@link AgentMetrics}, and fails with a
 *       {@link WorkloadIdentityException}: transient for UNAVAILABLE, DEADLINE_EXCEEDED,
 *       RESOURCE_EXHAUSTED, INTERNAL (and the other codes a retry can cure), permanent for
 *       PERMISSION_DENIED, INVALID_ARGUMENT, UNAUTHENTICATED, NOT_FOUND, FAILED_PRECONDITION,
 *       UNIMPLEMENTED, ALREADY_EXISTS, OUT_OF_RANGE.</li>
 * </ul>
 *
 * <p>Thread-safe. Calls are asynchronous: the returned futures complete on a gRPC thread, so
 * dependent stages that do real work should move to an executor of their own.
 */
public final class CaClient implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(CaClient.class);

    /** Method names as they appear in metrics. */
    public static final String ATTEST_NODE = "AttestNode";
    public static final String CREATE_CERTIFICATE = "CreateCertificate";
    public static final String FETCH_ENTRIES = "FetchEntries";
    public static final String SIGN_WORKLOAD_SVID = "SignWorkloadSVID";
    public static final String MINT_JWT_SVID = "MintJWTSVID";
    public static final String FETCH_BUNDLE = "FetchBundle";

    /** Large enough for tens of thousands of registration entries in one FetchEntries answer. */
    static final int MAX_INBOUND_MESSAGE_BYTES = 32 * 1024 * 1024;

    private final String host;
    private final int port;
    private final SpiffeId caId;
    private final Duration deadline;
    private final AgentMetrics metrics;
    private final SpiffeServerTrustManager trustManager;
    private volatile Bundle trust;
    private final Object channelLock = new Object();
    private volatile ManagedChannel channel;
    private volatile boolean clientIdentity;
    private boolean closed;

    private CaClient(Builder builder) {
        this.host = builder.host;
        this.port = builder.port;
        this.trust = builder.trust;
        this.caId = SpiffeId.fromSegments(builder.trust.trustDomain(), "keel", "ca");
        this.deadline = builder.deadline;
        this.metrics = builder.metrics;
        this.trustManager = new SpiffeServerTrustManager(() -> trust, caId, builder.clock);
        this.channel = newChannel(null, null);
    }

    /** A client for the CA at {@code host:port}, trusting {@code trust} (its trust domain is the agent's). */
    public static Builder builder(String host, int port, Bundle trust) {
        return new Builder(host, port, trust);
    }

    /** A client as {@code config} says, trusting {@code trust}. */
    public static CaClient create(AgentConfig config, Bundle trust, AgentMetrics metrics, Clock clock) {
        return builder(config.caHost(), config.caPort(), trust).deadline(config.caCallDeadline()).metrics(metrics)
                .clock(clock).build();
    }

    /** The SPIFFE ID the CA must present: {@code spiffe://<td>/keel/ca}. */
    public SpiffeId caId() {
        return caId;
    }

    /** The bundle the CA's certificate is verified against now. */
    public Bundle trustBundle() {
        return trust;
    }

    /**
     * Trusts {@code bundle} from the next handshake on (established connections stay).
     *
     * @throws IllegalArgumentException if it is for another trust domain or has no X.509 authority
     */
    public void updateTrustBundle(Bundle bundle) {
        Objects.requireNonNull(bundle, "bundle");
        if (!bundle.trustDomain().equals(trust.trustDomain())) {
            throw new IllegalArgumentException("bundle: for trust domain " + bundle.trustDomain() + " (expected: "
                    + trust.trustDomain() + ")");
        }
        if (bundle.x509Authorities().isEmpty()) {
            throw new IllegalArgumentException("bundle: no X.509 authority");
        }
        this.trust = bundle;
    }

    /**
     * Presents {@code chain} (the node SVID, leaf first) with {@code key} on every call from now on: new
     * calls go over a new channel, the previous channel is shut down gracefully.
     */
    public void useClientIdentity(PrivateKey key, List<X509Certificate> chain) {
        Objects.requireNonNull(key, "key");
        Objects.requireNonNull(chain, "chain");
        if (chain.isEmpty()) {
            throw new IllegalArgumentException("chain: empty");
        }
        ManagedChannel next = newChannel(key, chain);
        ManagedChannel previous;
        synchronized (channelLock) {
            if (closed) {
                next.shutdownNow();
                return;
            }
            previous = channel;
            channel = next;
            clientIdentity = true;
        }
        previous.shutdown();
    }

    /** Whether calls present a node SVID. */
    public boolean hasClientIdentity() {
        return clientIdentity;
    }

    /** Trades a join token and the CSR of a fresh node key for a node SVID (server-authenticated TLS). */
    public CompletableFuture<AttestNodeResponse> attestNode(AgentConfig.JoinToken token, String csrPem) {
        AttestNodeRequest request = AttestNodeRequest.newBuilder().setJoinToken(token.reveal()).setCsr(csrPem).build();
        return call(ATTEST_NODE, KeelCertificateAuthorityGrpc.getAttestNodeMethod(), request);
    }

    /** Renews the node SVID: over mTLS with the current one, for the same identity, with a new key. */
    public CompletableFuture<IstioCertificateResponse> createCertificate(String csrPem) {
        IstioCertificateRequest request = IstioCertificateRequest.newBuilder().setCsr(csrPem).build();
        return call(CREATE_CERTIFICATE, IstioCertificateServiceGrpc.getCreateCertificateMethod(), request);
    }

    /** The entries bound to this node, or {@code not_modified} when {@code knownRevision} is current. */
    public CompletableFuture<FetchEntriesResponse> fetchEntries(long knownRevision) {
        FetchEntriesRequest request = FetchEntriesRequest.newBuilder().setKnownRevision(knownRevision).build();
        return call(FETCH_ENTRIES, KeelCertificateAuthorityGrpc.getFetchEntriesMethod(), request);
    }

    public CompletableFuture<SignWorkloadSVIDResponse> signWorkloadSvid(SignWorkloadSVIDRequest request) {
        return call(SIGN_WORKLOAD_SVID, KeelCertificateAuthorityGrpc.getSignWorkloadSVIDMethod(), request);
    }

    public CompletableFuture<MintJWTSVIDResponse> mintJwtSvid(MintJWTSVIDRequest request) {
        return call(MINT_JWT_SVID, KeelCertificateAuthorityGrpc.getMintJWTSVIDMethod(), request);
    }

    /** The bundle of the agent's trust domain. */
    public CompletableFuture<FetchBundleResponse> fetchBundle() {
        FetchBundleRequest request = FetchBundleRequest.newBuilder().setTrustDomain(trust.trustDomain().name()).build();
        return call(FETCH_BUNDLE, KeelCertificateAuthorityGrpc.getFetchBundleMethod(), request);
    }

    /** Cancels calls in flight and closes the connections. */
    @Override
    public void close() {
        ManagedChannel current;
        synchronized (channelLock) {
            if (closed) {
                return;
            }
            closed = true;
            current = channel;
        }
        current.shutdownNow();
        try {
            current.awaitTermination(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /**
     * The {@link WorkloadIdentityException} behind a failed stage of one of this client's futures,
     * unwrapping {@link CompletionException}s; other throwables become a transient one.
     */
    public static WorkloadIdentityException failure(Throwable t) {
        Throwable cause = t;
        while ((cause instanceof CompletionException || cause instanceof ExecutionException) && cause.getCause() != null) {
            cause = cause.getCause();
        }
        if (cause instanceof WorkloadIdentityException) {
            return (WorkloadIdentityException) cause;
        }
        return new WorkloadIdentityException(String.valueOf(cause.getMessage()), true, cause);
    }

    private <Q, R> CompletableFuture<R> call(String method, MethodDescriptor<Q, R> descriptor, Q request) {
        CompletableFuture<R> result = new CompletableFuture<>();
        ManagedChannel current = channel;
        if (current.isShutdown()) {
            // A swap raced with this call, or the client is closed.
            synchronized (channelLock) {
                if (closed) {
                    result.completeExceptionally(new WorkloadIdentityException("CA " + method + ": the CA client is closed",
                            false, null));
                    return result;
                }
                current = channel;
            }
        }
        if (current.getState(false) == ConnectivityState.TRANSIENT_FAILURE) {
            // The agent's own backoff decides when to retry; gRPC's reconnect backoff (up to 2 min) must
            // not hold back recovery once the CA is back.
            current.resetConnectBackoff();
        }
        long start = System.nanoTime();
        ClientCall<Q, R> call = current.newCall(descriptor,
                CallOptions.DEFAULT.withDeadlineAfter(deadline.toNanos(), TimeUnit.NANOSECONDS));
        ClientCalls.asyncUnaryCall(call, request, new StreamObserver<R>() {
            private R value;

            @Override
            public void onNext(R response) {
                value = response;
            }

            @Override
            public void onError(Throwable t) {
                Status status = Status.fromThrowable(t);
                metrics.caFailure(method, status.getCode().name(), Duration.ofNanos(System.nanoTime() - start));
                result.completeExceptionally(map(method, status, t));
            }

            @Override
            public void onCompleted() {
                metrics.caRequest(method, Duration.ofNanos(System.nanoTime() - start));
                result.complete(value);
            }
        });
        return result;
    }

    /** The gRPC failure as the agent reports it: the code, the CA's description, and a TLS reason if any. */
    static WorkloadIdentityException map(String method, Status status, Throwable t) {
        StringBuilder message = new StringBuilder("CA ").append(method).append(": ").append(status.getCode());
        String tls = tlsReason(t);
        if (tls != null) {
            // gRPC's own description is then "io exception" and a pipeline dump: the TLS reason says more.
            message.append(": TLS handshake failed: ").append(tls);
        } else if (status.getDescription() != null) {
            String description = status.getDescription().strip();
            int newline = description.indexOf('\n');
            message.append(": ").append(newline < 0 ? description : description.substring(0, newline));
        }
        return new WorkloadIdentityException(message.toString(), isTransient(status.getCode()), t);
    }

    static boolean isTransient(Status.Code code) {
        switch (code) {
            case PERMISSION_DENIED:
            case INVALID_ARGUMENT:
            case UNAUTHENTICATED:
            case NOT_FOUND:
            case FAILED_PRECONDITION:
            case UNIMPLEMENTED:
            case ALREADY_EXISTS:
            case OUT_OF_RANGE:
                return false;
            default:
                // UNAVAILABLE, DEADLINE_EXCEEDED, RESOURCE_EXHAUSTED, INTERNAL, and UNKNOWN, ABORTED,
                // CANCELLED, DATA_LOSS: nothing says the same request will fail again.
                return true;
        }
    }

    /** The most specific reason in the cause chain when the TLS handshake failed, else null. */
    private static String tlsReason(Throwable t) {
        String reason = null;
        for (Throwable c = t; c != null && c.getCause() != c; c = c.getCause()) {
            if (c instanceof CertificateException || c instanceof SSLException) {
                reason = c.getMessage();
            }
        }
        return reason;
    }

    private ManagedChannel newChannel(PrivateKey key, List<X509Certificate> chain) {
        if (!OpenSsl.isAvailable()) {
            throw new IllegalStateException("BoringSSL (netty-tcnative) is not available: " + OpenSsl.unavailabilityCause());
        }
        SslContext tls;
        try {
            SslContextBuilder builder = GrpcSslContexts.configure(SslContextBuilder.forClient(), SslProvider.OPENSSL)
                    .trustManager(trustManager)
                    .protocols("TLSv1.3", "TLSv1.2");
            if (key != null) {
                builder.keyManager(key, chain.toArray(new X509Certificate[0]));
            }
            tls = builder.build();
        } catch (SSLException e) {
            throw new IllegalStateException("cannot build the TLS context for the CA client: " + e.getMessage(), e);
        }
        log.debug("new CA channel to {}:{} ({})", host, port, key == null ? "server-authenticated TLS" : "mTLS");
        return NettyChannelBuilder.forAddress(host, port)
                .sslContext(tls)
                .maxInboundMessageSize(MAX_INBOUND_MESSAGE_BYTES)
                .build();
    }

    /** Configures a {@link CaClient}. Not thread-safe. */
    public static final class Builder {

        private final String host;
        private final int port;
        private final Bundle trust;
        private Duration deadline = AgentConfig.DEFAULT_CA_CALL_DEADLINE;
        private AgentMetrics metrics;
        private Clock clock = Clock.systemUTC();

        Builder(String host, int port, Bundle trust) {
            this.host = Objects.requireNonNull(host, "host");
            if (port < 1 || port > 65535) {
                throw new IllegalArgumentException("port: " + port + " (expected: 1 to 65535)");
            }
            this.port = port;
            this.trust = Objects.requireNonNull(trust, "trust");
            if (trust.x509Authorities().isEmpty()) {
                throw new IllegalArgumentException("trust: no X.509 authority");
            }
        }

        /** The deadline of every call (default 10 s). */
        public Builder deadline(Duration deadline) {
            Objects.requireNonNull(deadline, "deadline");
            if (deadline.isNegative() || deadline.isZero()) {
                throw new IllegalArgumentException("deadline: " + deadline + " (expected: > 0)");
            }
            this.deadline = deadline;
            return this;
        }

        public Builder metrics(AgentMetrics metrics) {
            this.metrics = Objects.requireNonNull(metrics, "metrics");
            return this;
        }

        /** The clock the CA's certificate validity is checked at (default: the system clock). */
        public Builder clock(Clock clock) {
            this.clock = Objects.requireNonNull(clock, "clock");
            return this;
        }

        public CaClient build() {
            if (metrics == null) {
                metrics = new AgentMetrics(clock);
            }
            return new CaClient(this);
        }
    }
}
