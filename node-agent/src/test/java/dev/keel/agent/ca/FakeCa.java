package dev.keel.agent.ca;

import dev.keel.identity.Bundle;
import dev.keel.identity.BundleJson;
import dev.keel.identity.KeyPairs;
import dev.keel.identity.KeyType;
import dev.keel.identity.Pem;
import dev.keel.identity.SignatureAlgorithm;
import dev.keel.identity.SignatureVerifier;
import dev.keel.identity.SigningException;
import dev.keel.identity.SigningKey;
import dev.keel.identity.SpiffeId;
import dev.keel.identity.TrustDomain;
import dev.keel.identity.X509Svid;
import dev.keel.identity.X509SvidValidationException;
import dev.keel.proto.ca.v1.AttestNodeRequest;
import dev.keel.proto.ca.v1.AttestNodeResponse;
import dev.keel.proto.ca.v1.FetchBundleRequest;
import dev.keel.proto.ca.v1.FetchBundleResponse;
import dev.keel.proto.ca.v1.FetchEntriesRequest;
import dev.keel.proto.ca.v1.FetchEntriesResponse;
import dev.keel.proto.ca.v1.KeelCertificateAuthorityGrpc;
import dev.keel.proto.ca.v1.MintJWTSVIDRequest;
import dev.keel.proto.ca.v1.MintJWTSVIDResponse;
import dev.keel.proto.ca.v1.RegistrationEntry;
import dev.keel.proto.ca.v1.SignWorkloadSVIDRequest;
import dev.keel.proto.ca.v1.SignWorkloadSVIDResponse;
import dev.keel.proto.istio.v1.auth.IstioCertificateRequest;
import dev.keel.proto.istio.v1.auth.IstioCertificateResponse;
import dev.keel.proto.istio.v1.auth.IstioCertificateServiceGrpc;
import dev.keel.testing.TestLeaf;
import dev.keel.testing.TestPki;
import com.google.protobuf.ByteString;
import io.grpc.Context;
import io.grpc.Contexts;
import io.grpc.Grpc;
import io.grpc.Metadata;
import io.grpc.Server;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.ServerInterceptors;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.GrpcSslContexts;
import io.grpc.netty.NettyServerBuilder;
import io.grpc.stub.StreamObserver;
import io.netty.handler.ssl.ClientAuth;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslProvider;
import io.netty.handler.ssl.util.InsecureTrustManagerFactory;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.math.BigInteger;
import java.security.SecureRandom;
import java.security.cert.CertificateFactory;
import java.security.interfaces.RSAPublicKey;
import java.util.Date;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.PublicKey;
import java.security.cert.Certificate;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import javax.net.ssl.SSLPeerUnverifiedException;
import javax.net.ssl.SSLSession;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.AlgorithmIdentifier;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.ExtendedKeyUsage;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.cert.X509v3CertificateBuilder;
import org.bouncycastle.cert.jcajce.JcaX509ExtensionUtils;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.operator.ContentSigner;
import org.bouncycastle.operator.DefaultSignatureAlgorithmIdentifierFinder;
import org.bouncycastle.pkcs.PKCS10CertificationRequest;
import org.bouncycastle.pkcs.jcajce.JcaPKCS10CertificationRequest;

/**
 * An in-process fake of the CA's two gRPC services, served by grpc-netty over real TLS (BoringSSL) on
 * 127.0.0.1, signing with a {@link TestPki} intermediate. Honest where the agent's security depends
 * on it: join tokens are single use and consumed on any answer, the calls that need a node SVID check
 * the client certificate (chain and SPIFFE ID) at the fake's clock, CSR signatures are verified.
 * Knobs make it fail, stall, hold calls, and count what it saw. Thread-safe.
 */
public final class FakeCa implements AutoCloseable {

    public static final String NODE_NAME = "node-1";

    private final TestPki pki;
    private final Clock clock;
    private final SpiffeId nodeId;
    private final TestLeaf serving;
    private final KeyPair servingKey;
    private final Set<String> joinTokens = ConcurrentHashMap.newKeySet();
    private final Map<String, Status> failures = new ConcurrentHashMap<>();
    private volatile Status failAll;
    private volatile CountDownLatch stall;
    private volatile CountDownLatch mintGate;
    private volatile int releaseSigningAt;
    private final CountDownLatch signingGate = new CountDownLatch(1);
    private volatile Duration nodeTtl = Duration.ofHours(6);
    private volatile Duration workloadTtl = Duration.ofHours(1);
    private volatile Duration jwtTtl = Duration.ofMinutes(5);
    private volatile List<RegistrationEntry> entries = List.of();
    private final AtomicLong revision = new AtomicLong(1);
    private volatile Bundle bundle;
    private final Map<String, AtomicInteger> calls = new ConcurrentHashMap<>();
    private final AtomicInteger signInFlight = new AtomicInteger();
    private final AtomicInteger maxSignInFlight = new AtomicInteger();
    private final AtomicInteger mintInFlight = new AtomicInteger();
    private final AtomicInteger jwtSerial = new AtomicInteger();
    public final ConcurrentLinkedQueue<SignWorkloadSVIDRequest> signRequests = new ConcurrentLinkedQueue<>();
    public final ConcurrentLinkedQueue<MintJWTSVIDRequest> mintRequests = new ConcurrentLinkedQueue<>();
    /** The client leaf of each call that presented one, by method. */
    public final Map<String, ConcurrentLinkedQueue<X509Certificate>> clientLeaves = new ConcurrentHashMap<>();
    private Server server;
    private int port;

    private static final SecureRandom RANDOM = new SecureRandom();
    private static final Context.Key<List<X509Certificate>> PEER = Context.key("fake-ca-peer");

    private FakeCa(Builder builder) throws IOException {
        this.pki = TestPki.builder().trustDomain(builder.trustDomain).clock(builder.clock).build();
        this.clock = builder.clock;
        this.nodeId = builder.trustDomain.node(NODE_NAME);
        this.bundle = pki.bundle();
        this.servingKey = KeyPairs.generate(KeyType.EC_P256);
        TestPki.LeafBuilder leaf = pki.leaf(builder.servingId != null ? builder.servingId
                : SpiffeId.fromSegments(builder.trustDomain, "keel", "ca").toString())
                .keyPair(servingKey).dnsSan("localhost").ttl(Duration.ofHours(20));
        if (builder.untrusted) {
            leaf.signedByUntrustedRoot();
        }
        this.serving = leaf.issue();
        start(0);
    }

    public static Builder builder() {
        return new Builder();
    }

    /** A fake CA for {@code cluster.local} at {@code clock}'s time. */
    public static FakeCa start(Clock clock) throws IOException {
        return builder().clock(clock).build();
    }

    private void start(int port) throws IOException {
        SslContext tls = GrpcSslContexts.configure(
                SslContextBuilder.forServer(servingKey.getPrivate(), serving.chain().toArray(new X509Certificate[0])),
                SslProvider.OPENSSL)
                // The TLS layer accepts any client certificate; each call checks it as the CA would.
                .clientAuth(ClientAuth.OPTIONAL)
                .trustManager(InsecureTrustManagerFactory.INSTANCE)
                .build();
        ServerInterceptor peer = new ServerInterceptor() {
            @Override
            public <Q, R> ServerCall.Listener<Q> interceptCall(ServerCall<Q, R> call, Metadata headers,
                    ServerCallHandler<Q, R> next) {
                List<X509Certificate> chain = peerChain(call.getAttributes().get(Grpc.TRANSPORT_ATTR_SSL_SESSION));
                return Contexts.interceptCall(Context.current().withValue(PEER, chain), call, headers, next);
            }
        };
        server = NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", port))
                .sslContext(tls)
                .addService(ServerInterceptors.intercept(new KeelService(), peer))
                .addService(ServerInterceptors.intercept(new IstioService(), peer))
                .build()
                .start();
        this.port = server.getPort();
    }

    public TestPki pki() {
        return pki;
    }

    public int port() {
        return port;
    }

    public String address() {
        return "127.0.0.1:" + port();
    }

    public SpiffeId nodeId() {
        return nodeId;
    }

    public TrustDomain trustDomain() {
        return pki.trustDomain();
    }

    /** The root, PEM: what an operator gives the agent as its bootstrap bundle. */
    public Path writeBootstrapBundle(Path file) throws IOException {
        Files.writeString(file, pki.rootPem(), StandardCharsets.UTF_8);
        return file;
    }

    public String newJoinToken() {
        String token = "jt-" + Long.toHexString(Double.doubleToLongBits(Math.random()));
        joinTokens.add(token);
        return token;
    }

    public boolean tokenOutstanding(String token) {
        return joinTokens.contains(token);
    }

    /** Every call fails with {@code status} (null to stop). */
    public void failAll(Status status) {
        this.failAll = status;
    }

    /** Calls of {@code method} fail with {@code status} (null to stop). */
    public void fail(String method, Status status) {
        if (status == null) {
            failures.remove(method);
        } else {
            failures.put(method, status);
        }
    }

    /** Every call waits until the latch opens (or 10 s), to trip the client's deadline; null to stop. */
    public void stall(CountDownLatch latch) {
        this.stall = latch;
    }

    /** MintJWTSVID calls wait until the latch opens; null to stop. */
    public void holdMinting(CountDownLatch latch) {
        this.mintGate = latch;
    }

    /** SignWorkloadSVID calls wait until {@code n} of them are in flight at once (or 10 s), then all proceed. */
    public void holdSigningUntilConcurrent(int n) {
        this.releaseSigningAt = n;
    }

    public void nodeTtl(Duration ttl) {
        this.nodeTtl = ttl;
    }

    /** The lifetime of workload SVIDs requested without one. */
    public void workloadTtl(Duration ttl) {
        this.workloadTtl = ttl;
    }

    public void jwtTtl(Duration ttl) {
        this.jwtTtl = ttl;
    }

    /** Replaces the entries and bumps the revision. */
    public void setEntries(List<RegistrationEntry> entries) {
        this.entries = List.copyOf(entries);
        revision.incrementAndGet();
    }

    public long revision() {
        return revision.get();
    }

    /** An entry bound to this fake's node. */
    public RegistrationEntry entry(String id, String spiffeId, String... selectors) {
        return RegistrationEntry.newBuilder().setId(id).setSpiffeId(spiffeId).setParentId(nodeId.toString())
                .addAllSelectors(List.of(selectors)).build();
    }

    public Bundle bundle() {
        return bundle;
    }

    /** Publishes a new bundle with a higher sequence number. */
    public Bundle rotateBundle(Bundle next) {
        long sequence = bundle.sequenceNumber().orElse(0) + 1;
        bundle = next.withSequenceNumber(sequence);
        return bundle;
    }

    public int calls(String method) {
        AtomicInteger n = calls.get(method);
        return n == null ? 0 : n.get();
    }

    public int maxConcurrentSigning() {
        return maxSignInFlight.get();
    }

    public int mintsInFlight() {
        return mintInFlight.get();
    }

    public List<X509Certificate> clientLeaves(String method) {
        ConcurrentLinkedQueue<X509Certificate> leaves = clientLeaves.get(method);
        return leaves == null ? List.of() : new ArrayList<>(leaves);
    }

    /** Stops serving: the agent then sees a CA that is down (connection refused). */
    public void stop() throws InterruptedException {
        server.shutdownNow();
        server.awaitTermination(5, TimeUnit.SECONDS);
    }

    /** Serves again on the same port. */
    public void restart() throws IOException {
        start(port);
    }

    @Override
    public void close() {
        CountDownLatch s = stall;
        if (s != null) {
            s.countDown();
        }
        CountDownLatch m = mintGate;
        if (m != null) {
            m.countDown();
        }
        signingGate.countDown();
        try {
            stop();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    // ---- the services ----

    private final class KeelService extends KeelCertificateAuthorityGrpc.KeelCertificateAuthorityImplBase {

        @Override
        public void attestNode(AttestNodeRequest request, StreamObserver<AttestNodeResponse> response) {
            answer("AttestNode", response, () -> {
                // Consumed on any answer, as the CA does.
                boolean known = joinTokens.remove(request.getJoinToken());
                failIfAsked("AttestNode");
                if (!known) {
                    throw Status.PERMISSION_DENIED.withDescription("join token unknown, expired or already used")
                            .asRuntimeException();
                }
                Issued leaf = sign(nodeId, request.getCsr(), nodeTtl);
                return AttestNodeResponse.newBuilder()
                        .addCertChain(Pem.encodeCertificate(leaf.certificate()))
                        .addCertChain(Pem.encodeCertificate(leaf.issuer()))
                        .setBundle(ByteString.copyFromUtf8(BundleJson.encode(bundle)))
                        .build();
            });
        }

        @Override
        public void fetchEntries(FetchEntriesRequest request, StreamObserver<FetchEntriesResponse> response) {
            answer("FetchEntries", response, () -> {
                failIfAsked("FetchEntries");
                requireNode();
                long current = revision.get();
                if (request.getKnownRevision() == current) {
                    return FetchEntriesResponse.newBuilder().setRevision(current).setNotModified(true).build();
                }
                return FetchEntriesResponse.newBuilder().addAllEntries(entries).setRevision(current).build();
            });
        }

        @Override
        public void signWorkloadSVID(SignWorkloadSVIDRequest request, StreamObserver<SignWorkloadSVIDResponse> response) {
            answer("SignWorkloadSVID", response, () -> {
                int now = signInFlight.incrementAndGet();
                maxSignInFlight.accumulateAndGet(now, Math::max);
                try {
                    int releaseAt = releaseSigningAt;
                    if (releaseAt > 0) {
                        if (now >= releaseAt) {
                            signingGate.countDown();
                        }
                        signingGate.await(10, TimeUnit.SECONDS);
                    }
                    failIfAsked("SignWorkloadSVID");
                    requireNode();
                    signRequests.add(request);
                    SpiffeId id = SpiffeId.parse(request.getSpiffeId());
                    if (request.hasKubernetesPod()) {
                        if (request.getKubernetesPod().getUid().isEmpty()) {
                            throw Status.INVALID_ARGUMENT.withDescription("pod uid missing").asRuntimeException();
                        }
                    } else if (entries.stream().noneMatch(e -> e.getId().equals(request.getEntryId())
                            && e.getSpiffeId().equals(request.getSpiffeId()))) {
                        throw Status.PERMISSION_DENIED.withDescription("no entry " + request.getEntryId() + " for "
                                + id + " on " + nodeId).asRuntimeException();
                    }
                    Duration ttl = request.getValiditySeconds() > 0 ? Duration.ofSeconds(request.getValiditySeconds())
                            : workloadTtl;
                    Issued leaf = sign(id, request.getCsr(), ttl);
                    // With the root, as some CAs send it: the agent must not serve it on.
                    return SignWorkloadSVIDResponse.newBuilder()
                            .addCertChain(Pem.encodeCertificate(leaf.certificate()))
                            .addCertChain(Pem.encodeCertificate(leaf.issuer()))
                            .addCertChain(pki.rootPem())
                            .build();
                } finally {
                    signInFlight.decrementAndGet();
                }
            });
        }

        @Override
        public void mintJWTSVID(MintJWTSVIDRequest request, StreamObserver<MintJWTSVIDResponse> response) {
            answer("MintJWTSVID", response, () -> {
                mintInFlight.incrementAndGet();
                try {
                    CountDownLatch gate = mintGate;
                    if (gate != null) {
                        gate.await(10, TimeUnit.SECONDS);
                    }
                    failIfAsked("MintJWTSVID");
                    requireNode();
                    mintRequests.add(request);
                    Duration ttl = request.getTtlSeconds() > 0 ? Duration.ofSeconds(request.getTtlSeconds()) : jwtTtl;
                    return MintJWTSVIDResponse.newBuilder()
                            .setToken("jwt-" + jwtSerial.incrementAndGet() + "." + request.getSpiffeId())
                            .setExpiresAt(clock.instant().plus(ttl).getEpochSecond())
                            .build();
                } finally {
                    mintInFlight.decrementAndGet();
                }
            });
        }

        @Override
        public void fetchBundle(FetchBundleRequest request, StreamObserver<FetchBundleResponse> response) {
            answer("FetchBundle", response, () -> {
                failIfAsked("FetchBundle");
                Bundle current = bundle;
                return FetchBundleResponse.newBuilder()
                        .setBundle(ByteString.copyFromUtf8(BundleJson.encode(current)))
                        .setSequence(current.sequenceNumber().orElse(0))
                        .build();
            });
        }
    }

    private final class IstioService extends IstioCertificateServiceGrpc.IstioCertificateServiceImplBase {

        @Override
        public void createCertificate(IstioCertificateRequest request, StreamObserver<IstioCertificateResponse> response) {
            answer("CreateCertificate", response, () -> {
                failIfAsked("CreateCertificate");
                SpiffeId caller = requireNode();
                Issued leaf = sign(caller, request.getCsr(), nodeTtl);
                return IstioCertificateResponse.newBuilder()
                        .addCertChain(Pem.encodeCertificate(leaf.certificate()))
                        .addCertChain(Pem.encodeCertificate(leaf.issuer()))
                        .addCertChain(pki.rootPem())
                        .build();
            });
        }
    }

    private interface Handler<R> {
        R handle() throws Exception;
    }

    private <R> void answer(String method, StreamObserver<R> response, Handler<R> handler) {
        calls.computeIfAbsent(method, m -> new AtomicInteger()).incrementAndGet();
        List<X509Certificate> peer = PEER.get();
        if (!peer.isEmpty()) {
            clientLeaves.computeIfAbsent(method, m -> new ConcurrentLinkedQueue<>()).add(peer.get(0));
        }
        try {
            CountDownLatch s = stall;
            if (s != null) {
                s.await(10, TimeUnit.SECONDS);
            }
            Status all = failAll;
            if (all != null) {
                throw all.asRuntimeException();
            }
            R value = handler.handle();
            response.onNext(value);
            response.onCompleted();
        } catch (StatusRuntimeException e) {
            response.onError(e);
        } catch (Exception e) {
            response.onError(Status.INTERNAL.withDescription(e.toString()).asRuntimeException());
        }
    }

    private void failIfAsked(String method) {
        Status status = failures.get(method);
        if (status != null) {
            throw status.asRuntimeException();
        }
    }

    /** The caller's node SPIFFE ID from its verified client certificate, or UNAUTHENTICATED. */
    private SpiffeId requireNode() {
        List<X509Certificate> chain = PEER.get();
        if (chain.isEmpty()) {
            throw Status.UNAUTHENTICATED.withDescription("no client certificate").asRuntimeException();
        }
        X509Svid svid;
        try {
            svid = pki.verifier().verify(chain);
        } catch (X509SvidValidationException e) {
            throw Status.UNAUTHENTICATED.withDescription(e.getMessage()).asRuntimeException();
        }
        if (!svid.spiffeId().equals(nodeId)) {
            throw Status.PERMISSION_DENIED.withDescription(svid.spiffeId() + " is not a node").asRuntimeException();
        }
        return svid.spiffeId();
    }

    /**
     * Verifies the CSR's proof of possession and certifies its key as {@code id}, backdated a minute as
     * the CA does. Issued here rather than through {@link TestPki#leaf} so that the signatures go through
     * identity-core's fast signer and verifier: a thousand issuances then take a second, not ten.
     */
    private Issued sign(SpiffeId id, String csrPem, Duration ttl) throws Exception {
        PKCS10CertificationRequest csr = new PKCS10CertificationRequest(Pem.decodeCertificateRequest(csrPem));
        PublicKey key = new JcaPKCS10CertificationRequest(csr).getPublicKey();
        SignatureAlgorithm csrAlgorithm = algorithmOf(csr.getSignatureAlgorithm().getAlgorithm().getId());
        if (csrAlgorithm == null || !SignatureVerifier.of(key).verify(csrAlgorithm,
                csr.toASN1Structure().getCertificationRequestInfo().getEncoded(), csr.getSignature())) {
            throw Status.INVALID_ARGUMENT.withDescription("CSR signature does not verify").asRuntimeException();
        }
        Instant now = clock.instant().truncatedTo(ChronoUnit.SECONDS);
        X509Certificate issuer = pki.intermediate();
        SigningKey issuerKey = pki.intermediateSigningKey();
        boolean rsa = key instanceof RSAPublicKey;
        JcaX509ExtensionUtils utils = new JcaX509ExtensionUtils();
        X509v3CertificateBuilder builder = new JcaX509v3CertificateBuilder(
                X500Name.getInstance(issuer.getSubjectX500Principal().getEncoded()), new BigInteger(128, RANDOM),
                Date.from(now.minus(Duration.ofMinutes(1))), Date.from(now.plus(ttl)), new X500Name(""), key)
                .addExtension(Extension.basicConstraints, true, new BasicConstraints(false))
                .addExtension(Extension.keyUsage, true,
                        new KeyUsage(KeyUsage.digitalSignature | (rsa ? KeyUsage.keyEncipherment : 0)))
                .addExtension(Extension.extendedKeyUsage, false, new ExtendedKeyUsage(
                        new KeyPurposeId[] {KeyPurposeId.id_kp_serverAuth, KeyPurposeId.id_kp_clientAuth}))
                .addExtension(Extension.subjectKeyIdentifier, false, utils.createSubjectKeyIdentifier(key))
                .addExtension(Extension.authorityKeyIdentifier, false, utils.createAuthorityKeyIdentifier(issuer))
                .addExtension(Extension.subjectAlternativeName, true, new GeneralNames(
                        new GeneralName(GeneralName.uniformResourceIdentifier, id.toString())));
        SignatureAlgorithm algorithm = issuerKey.keyType().defaultSignatureAlgorithm();
        ByteArrayOutputStream tbs = new ByteArrayOutputStream();
        ContentSigner signer = new ContentSigner() {
            @Override
            public AlgorithmIdentifier getAlgorithmIdentifier() {
                return new DefaultSignatureAlgorithmIdentifierFinder().find(algorithm.jcaName());
            }

            @Override
            public OutputStream getOutputStream() {
                return tbs;
            }

            @Override
            public byte[] getSignature() {
                try {
                    return issuerKey.sign(algorithm, tbs.toByteArray());
                } catch (SigningException e) {
                    throw new IllegalStateException(e);
                }
            }
        };
        X509Certificate certificate = (X509Certificate) CertificateFactory.getInstance("X.509")
                .generateCertificate(new ByteArrayInputStream(builder.build(signer).getEncoded()));
        return new Issued(certificate, issuer);
    }

    private record Issued(X509Certificate certificate, X509Certificate issuer) {
    }

    private static SignatureAlgorithm algorithmOf(String oid) {
        for (SignatureAlgorithm algorithm : SignatureAlgorithm.values()) {
            if (algorithm.oid().equals(oid)) {
                return algorithm;
            }
        }
        return null;
    }

    private static List<X509Certificate> peerChain(SSLSession session) {
        if (session == null) {
            return List.of();
        }
        try {
            List<X509Certificate> chain = new ArrayList<>();
            for (Certificate certificate : session.getPeerCertificates()) {
                chain.add((X509Certificate) certificate);
            }
            return chain;
        } catch (SSLPeerUnverifiedException e) {
            return List.of();
        }
    }

    /** Configures a {@link FakeCa}. */
    public static final class Builder {

        private TrustDomain trustDomain = TrustDomain.CLUSTER_LOCAL;
        private Clock clock = Clock.systemUTC();
        private String servingId;
        private boolean untrusted;

        public Builder clock(Clock clock) {
            this.clock = clock;
            return this;
        }

        public Builder trustDomain(TrustDomain trustDomain) {
            this.trustDomain = trustDomain;
            return this;
        }

        /** Serves with an SVID for this ID instead of {@code spiffe://<td>/keel/ca}. */
        public Builder servingId(String servingId) {
            this.servingId = servingId;
            return this;
        }

        /** Serves with a certificate from an impostor root that looks like the real one. */
        public Builder untrustedServingCertificate() {
            this.untrusted = true;
            return this;
        }

        public FakeCa build() throws IOException {
            return new FakeCa(this);
        }
    }
}
