package dev.keel.ca.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.keel.ca.IssuedX509Svid;
import dev.keel.ca.audit.AuditLogVerifier;
import dev.keel.ca.node.CreatedJoinToken;
import dev.keel.ca.node.EntrySpec;
import dev.keel.ca.node.KubernetesPodVerifier;
import dev.keel.ca.node.RegistrationEntries;
import dev.keel.ca.node.RegistrationEntry;
import dev.keel.identity.Bundle;
import dev.keel.identity.BundleJson;
import dev.keel.identity.Pem;
import dev.keel.identity.SpiffeId;
import dev.keel.identity.TrustDomain;
import dev.keel.identity.X509SvidVerifier;
import dev.keel.proto.ca.v1.AttestNodeRequest;
import dev.keel.proto.ca.v1.AttestNodeResponse;
import dev.keel.proto.ca.v1.FetchEntriesRequest;
import dev.keel.proto.ca.v1.FetchEntriesResponse;
import dev.keel.proto.ca.v1.KeelCertificateAuthorityGrpc;
import dev.keel.proto.ca.v1.KeelCertificateAuthorityGrpc.KeelCertificateAuthorityBlockingStub;
import dev.keel.proto.ca.v1.KubernetesPod;
import dev.keel.proto.ca.v1.MintJWTSVIDRequest;
import dev.keel.proto.ca.v1.MintJWTSVIDResponse;
import dev.keel.proto.ca.v1.SignWorkloadSVIDRequest;
import dev.keel.proto.ca.v1.SignWorkloadSVIDResponse;
import dev.keel.proto.istio.v1.auth.IstioCertificateRequest;
import dev.keel.proto.istio.v1.auth.IstioCertificateServiceGrpc;
import dev.keel.testing.TestCsr;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.server.mock.KubernetesCrudDispatcher;
import io.fabric8.kubernetes.client.server.mock.KubernetesMockServer;
import io.fabric8.mockwebserver.Context;
import io.fabric8.mockwebserver.MockWebServer;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.assertj.core.api.ThrowableAssert.ThrowingCallable;
import org.jose4j.jwt.JwtClaims;
import org.jose4j.jwt.consumer.JwtConsumerBuilder;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Node attestation as a node agent meets it, over gRPC/TLS on loopback: a join token traded for a
 * node SVID, renewal over mTLS, the entries bound to the node, workload X.509- and JWT-SVIDs for
 * them, and Kubernetes mode against fabric8's mock API server in CRUD mode. A node never obtains an
 * identity bound to another node.
 */
class NodeAttestationEndToEndTest {

    static final TrustDomain TD = TrustDomain.CLUSTER_LOCAL;
    static final String WEB = "spiffe://cluster.local/ns/shop/sa/web";
    static final String DB = "spiffe://cluster.local/ns/shop/sa/db";

    @TempDir
    static Path dir;

    static KubernetesMockServer kubernetes;
    static KubernetesClient kube;
    static TestCaServer fixture;
    static final List<ManagedChannel> channels = new CopyOnWriteArrayList<>();

    /** A node agent after attestation: its identity, key and SVID chain. */
    record Node(SpiffeId id, KeyPair key, List<X509Certificate> chain) {
    }

    @BeforeAll
    static void start() throws Exception {
        kubernetes = new KubernetesMockServer(new Context(), new MockWebServer(), new HashMap<>(),
                new KubernetesCrudDispatcher(List.of()), false);
        kubernetes.init();
        kube = kubernetes.createClient();
        fixture = TestCaServer.start(dir.resolve("ca"), List.of(), KubernetesPodVerifier.create(kube));
    }

    @AfterAll
    static void stop() {
        channels.forEach(ManagedChannel::shutdownNow);
        fixture.close();
        kube.close();
        kubernetes.destroy();
    }

    static KeelCertificateAuthorityBlockingStub anonymous() throws Exception {
        ManagedChannel channel = fixture.channel();
        channels.add(channel);
        return KeelCertificateAuthorityGrpc.newBlockingStub(channel).withDeadlineAfter(20, TimeUnit.SECONDS);
    }

    static ManagedChannel mtls(KeyPair key, List<X509Certificate> chain) throws Exception {
        ManagedChannel channel = fixture.channel(key, chain);
        channels.add(channel);
        return channel;
    }

    static KeelCertificateAuthorityBlockingStub as(Node node) throws Exception {
        return KeelCertificateAuthorityGrpc.newBlockingStub(mtls(node.key(), node.chain()))
                .withDeadlineAfter(20, TimeUnit.SECONDS);
    }

    static CreatedJoinToken token(String node) throws Exception {
        return fixture.ca.joinTokens().create(node, Duration.ofHours(1));
    }

    static Node attest(String name) throws Exception {
        TestCsr csr = TestCsr.builder().build();
        AttestNodeResponse response = anonymous().attestNode(AttestNodeRequest.newBuilder()
                .setJoinToken(token(name).token()).setCsr(csr.pem()).build());
        return new Node(TD.node(name), csr.keyPair(), decode(response.getCertChainList()));
    }

    static List<X509Certificate> decode(List<String> pems) {
        List<X509Certificate> chain = new ArrayList<>();
        pems.forEach(pem -> chain.add(Pem.decodeCertificate(pem)));
        return chain;
    }

    static String uriSan(X509Certificate certificate) throws Exception {
        return (String) certificate.getSubjectAlternativeNames().iterator().next().get(1);
    }

    static void assertStatus(ThrowingCallable call, Status.Code code, String... message) {
        assertThatThrownBy(call).isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
            assertThat(e.getStatus().getCode()).as(e.getStatus().toString()).isEqualTo(code);
            assertThat(e.getStatus().getDescription()).contains(message);
        });
    }

    /** Every answer leaves after its audit line is on disk, so the file already holds them all. */
    static String auditLog() throws Exception {
        return Files.readString(fixture.ca.loaded().auditLog(), StandardCharsets.UTF_8);
    }

    static RegistrationEntry entry(String spiffeId, String parent, Duration x509Ttl, Duration jwtTtl, String... selectors)
            throws Exception {
        return fixture.ca.entries().create(new EntrySpec(spiffeId, parent, List.of(selectors), x509Ttl, jwtTtl, "hint"));
    }

    static SignWorkloadSVIDRequest.Builder sign(String spiffeId, String entryId) {
        return SignWorkloadSVIDRequest.newBuilder().setSpiffeId(spiffeId).setEntryId(entryId)
                .setCsr(TestCsr.builder().build().pem());
    }

    // --- AttestNode ---------------------------------------------------------------------------------

    @Test
    void aJoinTokenBuysOneNodeSvidAndTheBundleThatVerifiesIt() throws Exception {
        CreatedJoinToken token = token("node-1");
        TestCsr csr = TestCsr.builder().build();
        AttestNodeResponse response = anonymous().attestNode(AttestNodeRequest.newBuilder()
                .setJoinToken(token.token()).setCsr(csr.pem()).setValiditySeconds(7200).build());

        List<X509Certificate> chain = decode(response.getCertChainList());
        assertThat(chain).hasSize(2); // leaf, intermediate; the root comes in the bundle
        assertThat(uriSan(chain.get(0))).isEqualTo("spiffe://cluster.local/keel/node/node-1");
        assertThat(chain.get(0).getPublicKey()).isEqualTo(csr.keyPair().getPublic());
        assertThat(Duration.between(chain.get(0).getNotBefore().toInstant(), chain.get(0).getNotAfter().toInstant()))
                .isLessThanOrEqualTo(Duration.ofHours(2).plusMinutes(1));
        Bundle bundle = BundleJson.parse(TD, response.getBundle().toStringUtf8());
        assertThat(bundle.x509Authorities()).containsExactly(fixture.root);
        X509SvidVerifier.create(td -> Optional.of(bundle), Clock.systemUTC()).verify(chain, Instant.now());

        assertStatus(() -> anonymous().attestNode(AttestNodeRequest.newBuilder().setJoinToken(token.token())
                .setCsr(TestCsr.builder().build().pem()).build()), Status.Code.UNAUTHENTICATED, "already used");

        String audit = auditLog();
        assertThat(audit).doesNotContain(token.token());
        assertThat(audit).contains("\"caller\":\"join_token:" + token.tokenId() + "\",\"spiffe_id\":\""
                + "spiffe://cluster.local/keel/node/node-1\"");
        assertThat(AuditLogVerifier.verify(fixture.ca.loaded().auditLog()).ok()).isTrue();
    }

    @Test
    void badTokensAndBadCsrsAreRefusedAndTheTokenIsSpentAnyway() throws Exception {
        assertStatus(() -> anonymous().attestNode(AttestNodeRequest.newBuilder().setJoinToken("B".repeat(43))
                .setCsr(TestCsr.builder().build().pem()).build()), Status.Code.UNAUTHENTICATED, "join_token", "unknown");
        assertStatus(() -> anonymous().attestNode(AttestNodeRequest.newBuilder()
                .setCsr(TestCsr.builder().build().pem()).build()), Status.Code.UNAUTHENTICATED, "join_token: missing");

        CreatedJoinToken other = token("node-2");
        assertStatus(() -> anonymous().attestNode(AttestNodeRequest.newBuilder().setJoinToken(other.token())
                        .setCsr(TestCsr.builder().uriSan(WEB).build().pem()).build()),
                Status.Code.PERMISSION_DENIED, "may not obtain " + WEB);
        assertStatus(() -> anonymous().attestNode(AttestNodeRequest.newBuilder().setJoinToken(other.token())
                .setCsr(TestCsr.builder().build().pem()).build()), Status.Code.UNAUTHENTICATED, "already used");

        CreatedJoinToken ca = token("node-3");
        assertStatus(() -> anonymous().attestNode(AttestNodeRequest.newBuilder().setJoinToken(ca.token())
                .setCsr(TestCsr.builder().requestCa().build().pem()).build()), Status.Code.INVALID_ARGUMENT, "CA certificate");
        CreatedJoinToken weak = token("node-4");
        assertStatus(() -> anonymous().attestNode(AttestNodeRequest.newBuilder().setJoinToken(weak.token())
                .setCsr(TestCsr.builder().weakRsa1024Key().build().pem()).build()), Status.Code.INVALID_ARGUMENT, "csr");
        CreatedJoinToken garbage = token("node-5");
        assertStatus(() -> anonymous().attestNode(AttestNodeRequest.newBuilder().setJoinToken(garbage.token())
                .setCsr("nonsense").build()), Status.Code.INVALID_ARGUMENT, "csr:");
        CreatedJoinToken negative = token("node-6");
        assertStatus(() -> anonymous().attestNode(AttestNodeRequest.newBuilder().setJoinToken(negative.token())
                .setCsr(TestCsr.builder().build().pem()).setValiditySeconds(-1).build()),
                Status.Code.INVALID_ARGUMENT, "validity_seconds");

        String audit = auditLog();
        for (CreatedJoinToken t : List.of(other, ca, weak, garbage, negative)) {
            assertThat(audit).doesNotContain(t.token()).contains("join_token:" + t.tokenId());
        }
        assertThat(audit).contains("\"outcome\":\"refused\"");
    }

    @Test
    void concurrentAttestationsWithOneTokenYieldOneNodeSvid() throws Exception {
        CreatedJoinToken token = token("node-race");
        int callers = 8;
        ExecutorService pool = Executors.newFixedThreadPool(callers);
        CountDownLatch go = new CountDownLatch(1);
        List<Future<Status.Code>> results = new ArrayList<>();
        for (int i = 0; i < callers; i++) {
            KeelCertificateAuthorityBlockingStub stub = anonymous();
            results.add(pool.submit(() -> {
                go.await();
                try {
                    stub.attestNode(AttestNodeRequest.newBuilder().setJoinToken(token.token())
                            .setCsr(TestCsr.builder().build().pem()).build());
                    return Status.Code.OK;
                } catch (StatusRuntimeException e) {
                    return e.getStatus().getCode();
                }
            }));
        }
        go.countDown();
        List<Status.Code> codes = new ArrayList<>();
        for (Future<Status.Code> result : results) {
            codes.add(result.get(30, TimeUnit.SECONDS));
        }
        pool.shutdown();
        assertThat(codes).containsOnlyOnce(Status.Code.OK);
        assertThat(codes.stream().filter(c -> c == Status.Code.UNAUTHENTICATED)).hasSize(callers - 1);
    }

    @Test
    void aNodeSvidRenewsOverMtlsWithIstiosCreateCertificate() throws Exception {
        Node node = attest("node-renew");
        var istio = IstioCertificateServiceGrpc.newBlockingStub(mtls(node.key(), node.chain()))
                .withDeadlineAfter(20, TimeUnit.SECONDS);
        for (TestCsr csr : List.of(TestCsr.builder().uriSan(node.id().toString()).build(), TestCsr.builder().build())) {
            List<String> renewed = istio.createCertificate(IstioCertificateRequest.newBuilder().setCsr(csr.pem())
                    .setValidityDuration(3600).build()).getCertChainList();
            assertThat(uriSan(Pem.decodeCertificate(renewed.get(0)))).isEqualTo(node.id().toString());
        }
        assertStatus(() -> istio.createCertificate(IstioCertificateRequest.newBuilder()
                .setCsr(TestCsr.builder().uriSan(WEB).build().pem()).build()), Status.Code.PERMISSION_DENIED, "may not obtain");
    }

    // --- FetchEntries -------------------------------------------------------------------------------

    @Test
    void aNodeFetchesOnlyTheEntriesBoundToItAndSeesTheClisChangesWithoutARestart() throws Exception {
        Node a = attest("fetch-a");
        RegistrationEntry mine = entry(WEB, a.id().toString(), Duration.ofHours(1), Duration.ZERO, "unix:uid:1000");
        RegistrationEntry everyone = entry(DB, "*", Duration.ZERO, Duration.ZERO, "unix:uid:2000");
        RegistrationEntry theirs = entry(WEB, TD.node("fetch-b").toString(), Duration.ZERO, Duration.ZERO, "unix:uid:1000");

        KeelCertificateAuthorityBlockingStub stub = as(a);
        FetchEntriesResponse first = stub.fetchEntries(FetchEntriesRequest.getDefaultInstance());
        assertThat(first.getNotModified()).isFalse();
        assertThat(first.getEntriesList()).extracting(e -> e.getId()).contains(mine.id(), everyone.id())
                .doesNotContain(theirs.id());
        var wire = first.getEntriesList().stream().filter(e -> e.getId().equals(mine.id())).findFirst().orElseThrow();
        assertThat(wire.getSpiffeId()).isEqualTo(WEB);
        assertThat(wire.getParentId()).isEqualTo(a.id().toString());
        assertThat(wire.getSelectorsList()).containsExactly("unix:uid:1000");
        assertThat(wire.getX509SvidTtlSeconds()).isEqualTo(3600);
        assertThat(wire.getHint()).isEqualTo("hint");

        FetchEntriesResponse same = stub.fetchEntries(FetchEntriesRequest.newBuilder()
                .setKnownRevision(first.getRevision()).build());
        assertThat(same.getNotModified()).isTrue();
        assertThat(same.getEntriesList()).isEmpty();

        // The CLI is another process with its own store on the same data directory.
        RegistrationEntries cli = RegistrationEntries.open(fixture.dataDir, TD, Clock.systemUTC());
        RegistrationEntry added = cli.create(EntrySpec.of("spiffe://cluster.local/ns/shop/sa/cache", a.id().toString(),
                List.of("unix:uid:3000")));
        cli.delete(mine.id());
        FetchEntriesResponse changed = stub.fetchEntries(FetchEntriesRequest.newBuilder()
                .setKnownRevision(first.getRevision()).build());
        assertThat(changed.getNotModified()).isFalse();
        assertThat(changed.getRevision()).isGreaterThan(first.getRevision());
        assertThat(changed.getEntriesList()).extracting(e -> e.getId()).contains(added.id(), everyone.id())
                .doesNotContain(mine.id(), theirs.id());
    }

    @Test
    void onlyANodeSvidMayFetchEntriesOrAskForWorkloads() throws Exception {
        assertStatus(() -> anonymous().fetchEntries(FetchEntriesRequest.getDefaultInstance()),
                Status.Code.UNAUTHENTICATED, "no credential");

        TestCsr workloadCsr = TestCsr.builder().uriSan(WEB).build();
        IssuedX509Svid workload = fixture.ca.service().issueAsOperator("test", workloadCsr.pem(), Duration.ZERO).join();
        var asWorkload = KeelCertificateAuthorityGrpc.newBlockingStub(mtls(workloadCsr.keyPair(), workload.chain()))
                .withDeadlineAfter(20, TimeUnit.SECONDS);
        assertStatus(() -> asWorkload.fetchEntries(FetchEntriesRequest.getDefaultInstance()),
                Status.Code.PERMISSION_DENIED, "is not a node agent");
        RegistrationEntry everyone = entry("spiffe://cluster.local/ns/shop/sa/any", "*", Duration.ZERO, Duration.ZERO,
                "unix:uid:4000");
        assertStatus(() -> asWorkload.signWorkloadSVID(sign(everyone.spiffeId().toString(), everyone.id()).build()),
                Status.Code.PERMISSION_DENIED, "is not a node agent");
        assertStatus(() -> asWorkload.mintJWTSVID(MintJWTSVIDRequest.newBuilder().setEntryId(everyone.id())
                .setSpiffeId(everyone.spiffeId().toString()).addAudience("x").build()),
                Status.Code.PERMISSION_DENIED, "is not a node agent");
    }

    // --- SignWorkloadSVID ---------------------------------------------------------------------------

    @Test
    void aNodeGetsWorkloadSvidsForItsEntriesWithTheEntrysTtl() throws Exception {
        Node a = attest("sign-a");
        RegistrationEntry web = entry(WEB, a.id().toString(), Duration.ofMinutes(30), Duration.ZERO, "unix:uid:1");
        RegistrationEntry everyone = entry(DB, "*", Duration.ZERO, Duration.ZERO, "unix:uid:5");
        KeelCertificateAuthorityBlockingStub stub = as(a);

        TestCsr csr = TestCsr.builder().uriSan(WEB).build();
        SignWorkloadSVIDResponse response = stub.signWorkloadSVID(SignWorkloadSVIDRequest.newBuilder()
                .setSpiffeId(WEB).setEntryId(web.id()).setCsr(csr.pem()).setValiditySeconds(86_400).build());
        List<X509Certificate> chain = decode(response.getCertChainList());
        assertThat(chain).hasSize(2);
        assertThat(uriSan(chain.get(0))).isEqualTo(WEB);
        assertThat(chain.get(0).getPublicKey()).isEqualTo(csr.keyPair().getPublic());
        assertThat(Duration.between(Instant.now(), chain.get(0).getNotAfter().toInstant()))
                .isBetween(Duration.ofMinutes(28), Duration.ofMinutes(30));

        X509Certificate db = decode(stub.signWorkloadSVID(sign(DB, everyone.id()).build()).getCertChainList()).get(0);
        assertThat(uriSan(db)).isEqualTo(DB);

        assertThat(auditLog()).contains("\"caller\":\"node:" + a.id() + " entry:" + web.id() + "\",\"spiffe_id\":\""
                + WEB + "\"");
    }

    @Test
    void aCompromisedNodeCannotObtainIdentitiesBoundToAnotherNode() throws Exception {
        Node a = attest("evil-a");
        Node b = attest("good-b");
        RegistrationEntry onB = entry("spiffe://cluster.local/ns/bank/sa/payments", b.id().toString(), Duration.ZERO,
                Duration.ZERO, "unix:uid:100");
        RegistrationEntry onA = entry(WEB, a.id().toString(), Duration.ZERO, Duration.ZERO, "unix:uid:100");
        KeelCertificateAuthorityBlockingStub evil = as(a);
        String payments = onB.spiffeId().toString();

        assertStatus(() -> evil.signWorkloadSVID(sign(payments, onB.id()).build()), Status.Code.PERMISSION_DENIED,
                "entry_id: no entry " + onB.id() + " is bound to " + a.id());
        assertStatus(() -> evil.mintJWTSVID(MintJWTSVIDRequest.newBuilder().setSpiffeId(payments).setEntryId(onB.id())
                .addAudience("bank").build()), Status.Code.PERMISSION_DENIED, "is bound to " + a.id());
        // Its own entry, but another SPIFFE ID: in the request or in the CSR.
        assertStatus(() -> evil.signWorkloadSVID(sign(payments, onA.id()).build()), Status.Code.PERMISSION_DENIED,
                "spiffe_id: " + payments + " is not the SPIFFE ID of entry " + onA.id());
        assertStatus(() -> evil.signWorkloadSVID(SignWorkloadSVIDRequest.newBuilder().setSpiffeId(WEB).setEntryId(onA.id())
                .setCsr(TestCsr.builder().uriSan(payments).build().pem()).build()), Status.Code.PERMISSION_DENIED,
                "may not obtain " + payments);
        assertStatus(() -> evil.signWorkloadSVID(SignWorkloadSVIDRequest.newBuilder().setSpiffeId(WEB).setEntryId(onA.id())
                .setCsr(TestCsr.builder().uriSan(WEB).uriSan(payments).build().pem()).build()), Status.Code.INVALID_ARGUMENT,
                "2 URI SANs");
        assertStatus(() -> evil.signWorkloadSVID(sign(WEB, "no-such-entry").build()), Status.Code.PERMISSION_DENIED,
                "no entry no-such-entry");
        // Its own node identity is renewed through CreateCertificate, never through an entry.
        assertStatus(() -> evil.signWorkloadSVID(sign(b.id().toString(), onA.id()).build()), Status.Code.PERMISSION_DENIED,
                "is not the SPIFFE ID of entry");
        // The real node still can.
        assertThat(as(b).signWorkloadSVID(sign(payments, onB.id()).build()).getCertChainCount()).isEqualTo(2);

        assertThat(auditLog()).contains("\"caller\":\"node:" + a.id() + " entry:" + onB.id() + "\"")
                .contains("\"outcome\":\"refused\"");
    }

    @Test
    void malformedWorkloadRequestsAreInvalidArguments() throws Exception {
        Node a = attest("malformed-a");
        RegistrationEntry web = entry(WEB, a.id().toString(), Duration.ZERO, Duration.ZERO, "unix:uid:7");
        KeelCertificateAuthorityBlockingStub stub = as(a);
        assertStatus(() -> stub.signWorkloadSVID(sign(WEB, "").build()), Status.Code.INVALID_ARGUMENT, "entry_id: empty");
        assertStatus(() -> stub.signWorkloadSVID(sign("", web.id()).build()), Status.Code.INVALID_ARGUMENT, "spiffe_id: empty");
        assertStatus(() -> stub.signWorkloadSVID(sign("spiffe://x/../y", web.id()).build()), Status.Code.INVALID_ARGUMENT,
                "spiffe_id:");
        assertStatus(() -> stub.signWorkloadSVID(sign(WEB, web.id()).setValiditySeconds(-3).build()),
                Status.Code.INVALID_ARGUMENT, "validity_seconds");
        assertStatus(() -> stub.signWorkloadSVID(sign(WEB, web.id()).setCsr("nonsense").build()),
                Status.Code.INVALID_ARGUMENT, "csr:");
        assertStatus(() -> stub.signWorkloadSVID(sign(WEB, web.id()).setKubernetesPod(KubernetesPod.newBuilder()
                .setNamespace("shop").setName("web").setUid("u")).build()), Status.Code.INVALID_ARGUMENT, "both set");
    }

    // --- MintJWTSVID with entry_id ------------------------------------------------------------------

    @Test
    void aNodeMintsJwtSvidsForItsEntriesCappedToTheEntrysTtl() throws Exception {
        Node a = attest("jwt-a");
        RegistrationEntry web = entry(WEB, a.id().toString(), Duration.ZERO, Duration.ofSeconds(90), "unix:uid:9");
        KeelCertificateAuthorityBlockingStub stub = as(a);
        MintJWTSVIDResponse minted = stub.mintJWTSVID(MintJWTSVIDRequest.newBuilder().setSpiffeId(WEB)
                .setEntryId(web.id()).addAudience("orders").setTtlSeconds(3600).build());
        Bundle bundle = fixture.ca.bundle().bundle();
        JwtClaims claims = new JwtConsumerBuilder()
                .setVerificationKey(bundle.jwtAuthorities().values().iterator().next())
                .setExpectedAudience("orders").setRequireExpirationTime().build().processToClaims(minted.getToken());
        assertThat(claims.getSubject()).isEqualTo(WEB);
        assertThat(minted.getExpiresAt() - claims.getIssuedAt().getValue()).isEqualTo(90);

        // Without entry_id a node still mints for its own identity, as before.
        MintJWTSVIDResponse own = stub.mintJWTSVID(MintJWTSVIDRequest.newBuilder().addAudience("ca").build());
        assertThat(new JwtConsumerBuilder().setVerificationKey(bundle.jwtAuthorities().values().iterator().next())
                .setExpectedAudience("ca").build().processToClaims(own.getToken()).getSubject()).isEqualTo(a.id().toString());
        assertStatus(() -> stub.mintJWTSVID(MintJWTSVIDRequest.newBuilder().setSpiffeId(WEB).setEntryId(web.id()).build()),
                Status.Code.INVALID_ARGUMENT, "audience");
    }

    // --- Kubernetes mode ----------------------------------------------------------------------------

    static Pod pod(String namespace, String name, String node, String serviceAccount, Consumer<PodBuilder> edit) {
        PodBuilder builder = new PodBuilder().withNewMetadata().withNamespace(namespace).withName(name).endMetadata()
                .withNewSpec().withNodeName(node).withServiceAccountName(serviceAccount)
                .addNewContainer().withName("app").withImage("app:1").endContainer().endSpec();
        edit.accept(builder);
        return kube.pods().inNamespace(namespace).resource(builder.build()).create();
    }

    static KubernetesPod ref(Pod pod) {
        return KubernetesPod.newBuilder().setNamespace(pod.getMetadata().getNamespace())
                .setName(pod.getMetadata().getName()).setUid(pod.getMetadata().getUid()).build();
    }

    @Test
    void inKubernetesModeANodeGetsTheIdentityOfPodsScheduledOnIt() throws Exception {
        Node a = attest("k8s-a");
        Pod web = pod("shop", "web-1", "k8s-a", "web", b -> { });
        assertThat(web.getMetadata().getUid()).isNotEmpty();
        KeelCertificateAuthorityBlockingStub stub = as(a);

        X509Certificate leaf = decode(stub.signWorkloadSVID(SignWorkloadSVIDRequest.newBuilder().setSpiffeId(WEB)
                .setKubernetesPod(ref(web)).setCsr(TestCsr.builder().build().pem()).build()).getCertChainList()).get(0);
        assertThat(uriSan(leaf)).isEqualTo(WEB);
        MintJWTSVIDResponse jwt = stub.mintJWTSVID(MintJWTSVIDRequest.newBuilder().setSpiffeId(WEB)
                .setKubernetesPod(ref(web)).addAudience("orders").build());
        assertThat(jwt.getToken()).isNotEmpty();
        assertThat(auditLog()).contains("\"caller\":\"node:" + a.id() + " pod:shop/web-1\"");
    }

    @Test
    void inKubernetesModePodsElsewhereRecreatedOrFinishedAreRefused() throws Exception {
        Node a = attest("k8s-evil");
        KeelCertificateAuthorityBlockingStub stub = as(a);
        Pod elsewhere = pod("bank", "payments-1", "k8s-good", "payments", b -> { });
        String payments = "spiffe://cluster.local/ns/bank/sa/payments";
        SignWorkloadSVIDRequest.Builder request = SignWorkloadSVIDRequest.newBuilder().setSpiffeId(payments)
                .setCsr(TestCsr.builder().build().pem());

        assertStatus(() -> stub.signWorkloadSVID(request.setKubernetesPod(ref(elsewhere)).build()),
                Status.Code.PERMISSION_DENIED, "runs on node k8s-good, not on the caller's node k8s-evil");
        assertStatus(() -> stub.mintJWTSVID(MintJWTSVIDRequest.newBuilder().setSpiffeId(payments)
                .setKubernetesPod(ref(elsewhere)).addAudience("bank").build()), Status.Code.PERMISSION_DENIED, "runs on node");

        Pod local = pod("bank", "batch-1", "k8s-evil", "batch", b -> { });
        assertStatus(() -> stub.signWorkloadSVID(request.setKubernetesPod(ref(local)).build()),
                Status.Code.PERMISSION_DENIED, "is not the identity of pod bank/batch-1 (spiffe://cluster.local/ns/bank/sa/batch");
        assertStatus(() -> stub.signWorkloadSVID(request.setSpiffeId("spiffe://cluster.local/ns/bank/sa/batch")
                .setKubernetesPod(ref(local).toBuilder().setUid("0000-stale")).build()),
                Status.Code.PERMISSION_DENIED, "has uid");
        assertStatus(() -> stub.signWorkloadSVID(request.setKubernetesPod(ref(local).toBuilder().setName("gone")).build()),
                Status.Code.PERMISSION_DENIED, "does not exist");
        assertStatus(() -> stub.signWorkloadSVID(request.setKubernetesPod(ref(local).toBuilder().setNamespace("Bad_NS"))
                .build()), Status.Code.INVALID_ARGUMENT, "kubernetes_pod.namespace");

        Pod done = pod("bank", "job-1", "k8s-evil", "batch", b -> b.withNewStatus().withPhase("Succeeded").endStatus());
        if (done.getStatus() == null || !"Succeeded".equals(done.getStatus().getPhase())) {
            done.setStatus(new io.fabric8.kubernetes.api.model.PodStatusBuilder().withPhase("Succeeded").build());
            done = kube.pods().inNamespace("bank").resource(done).updateStatus();
        }
        Pod finished = done;
        assertStatus(() -> stub.signWorkloadSVID(request.setKubernetesPod(ref(finished)).build()),
                Status.Code.PERMISSION_DENIED, "has terminated (phase Succeeded)");
    }
}
