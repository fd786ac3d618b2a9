package dev.keel.agent.ca;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.keel.agent.AgentConfig.JoinToken;
import dev.keel.agent.AgentMetrics;
import dev.keel.agent.WorkloadIdentityException;
import dev.keel.identity.BundleJson;
import dev.keel.identity.Pem;
import dev.keel.testing.FakeClock;
import io.grpc.Status;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Node attestation, persistence and renewal against the fake CA over real TLS, with time driven by a
 * fake clock and a scheduler that follows it.
 */
class NodeIdentityTest {

    @TempDir
    Path tmp;

    FakeClock clock;
    FakeClockScheduler scheduler;
    FakeCa ca;
    Path dataDir;
    final List<AutoCloseable> resources = new ArrayList<>();

    @BeforeEach
    void setUp() throws Exception {
        clock = FakeClock.now();
        scheduler = new FakeClockScheduler(clock);
        ca = FakeCa.start(clock);
        ca.nodeTtl(Duration.ofHours(1));
        dataDir = tmp.resolve("agent");
    }

    @AfterEach
    void tearDown() throws Exception {
        for (AutoCloseable resource : resources) {
            resource.close();
        }
        ca.close();
        scheduler.shutdownNow();
    }

    CaClient client() {
        CaClient client = CaClient.builder("127.0.0.1", ca.port(), ca.pki().bundle()).clock(clock)
                .metrics(new AgentMetrics(clock)).build();
        resources.add(client);
        return client;
    }

    NodeIdentity start(CaClient client, String token) throws Exception {
        NodeIdentity identity = NodeIdentity.start(client, NodeIdentityStore.open(dataDir),
                Optional.ofNullable(token).map(JoinToken::of), 0.5, clock, scheduler);
        resources.add(0, identity);
        return identity;
    }

    @Test
    void attestsWithAJoinTokenAndKeepsTheIdentityOnDiskReadableByTheAgentOnly() throws Exception {
        String token = ca.newJoinToken();
        CaClient client = client();

        NodeIdentity identity = start(client, token);

        assertThat(identity.spiffeId()).isEqualTo(ca.nodeId());
        assertThat(ca.calls("AttestNode")).isEqualTo(1);
        assertThat(ca.tokenOutstanding(token)).isFalse();
        assertThat(client.hasClientIdentity()).isTrue();
        assertThat(mode(dataDir)).isEqualTo("rwx------");
        for (String file : List.of(NodeIdentityStore.NODE_KEY, NodeIdentityStore.NODE_SVID, NodeIdentityStore.BUNDLE)) {
            assertThat(mode(dataDir.resolve(file))).as(file).isEqualTo("rw-------");
        }
        try (Stream<Path> files = Files.list(dataDir)) {
            assertThat(files.map(p -> p.getFileName().toString())).containsExactlyInAnyOrder(
                    NodeIdentityStore.NODE_KEY, NodeIdentityStore.NODE_SVID, NodeIdentityStore.BUNDLE);
        }
        String keyPem = Files.readString(dataDir.resolve(NodeIdentityStore.NODE_KEY));
        assertThat(keyPem).startsWith("-----BEGIN PRIVATE KEY-----");
        assertThat(Pem.decodePrivateKey(keyPem)).isEqualTo(identity.current().privateKey());
        List<X509Certificate> stored = Pem.decodeCertificates(Files.readString(dataDir.resolve(NodeIdentityStore.NODE_SVID)));
        assertThat(stored).isEqualTo(identity.current().chain());
        assertThat(stored.get(0).getPublicKey().getAlgorithm()).isEqualTo("EC");
        assertThat(BundleJson.parse(ca.trustDomain(), Files.readString(dataDir.resolve(NodeIdentityStore.BUNDLE),
                StandardCharsets.UTF_8))).isEqualTo(ca.bundle());
        assertThat(client.trustBundle()).isEqualTo(ca.bundle());

        // The CA sees the node SVID on the calls that need it.
        client.fetchEntries(0).get(15, TimeUnit.SECONDS);
        assertThat(ca.clientLeaves("FetchEntries")).containsExactly(identity.current().leaf());
    }

    @Test
    void aRestartUsesTheStoredNodeSvidWithoutAToken() throws Exception {
        NodeIdentity first = start(client(), ca.newJoinToken());
        X509Certificate leaf = first.current().leaf();
        first.close();

        CaClient client = client();
        NodeIdentity second = start(client, null);

        assertThat(second.current().leaf()).isEqualTo(leaf);
        assertThat(ca.calls("AttestNode")).isEqualTo(1);
        client.fetchEntries(0).get(15, TimeUnit.SECONDS);
        assertThat(ca.clientLeaves("FetchEntries")).containsExactly(leaf);
    }

    @Test
    void aStoredNodeSvidIsUsedEvenWhenATokenIsGivenSoTheTokenIsNotWasted() throws Exception {
        start(client(), ca.newJoinToken()).close();
        String spare = ca.newJoinToken();

        start(client(), spare);

        assertThat(ca.calls("AttestNode")).isEqualTo(1);
        assertThat(ca.tokenOutstanding(spare)).isTrue();
    }

    @Test
    void withoutANodeSvidOrATokenTheErrorSaysWhatIsMissing() {
        assertThatThrownBy(() -> start(client(), null))
                .isInstanceOf(WorkloadIdentityException.class)
                .hasMessageContaining("there is no node SVID in " + dataDir)
                .hasMessageContaining("no join token was given")
                .satisfies(e -> assertThat(((WorkloadIdentityException) e).isTransient()).isFalse());
        assertThat(ca.calls("AttestNode")).isZero();
    }

    @Test
    void anExpiredStoredNodeSvidNeedsANewTokenAndTheErrorSaysItExpired() throws Exception {
        NodeIdentity first = start(client(), ca.newJoinToken());
        first.close();
        clock.advance(Duration.ofHours(2));

        assertThatThrownBy(() -> start(client(), null))
                .isInstanceOf(WorkloadIdentityException.class)
                .hasMessageContaining("(" + ca.nodeId() + ") expired at " + first.notAfter())
                .hasMessageContaining("no join token was given");

        NodeIdentity again = start(client(), ca.newJoinToken());
        assertThat(again.notAfter()).isAfter(clock.instant());
        assertThat(ca.calls("AttestNode")).isEqualTo(2);
    }

    @Test
    void aRefusedTokenIsNotRetried() {
        assertThatThrownBy(() -> start(client(), "not-a-token"))
                .isInstanceOf(WorkloadIdentityException.class)
                .hasMessageContaining("PERMISSION_DENIED: join token unknown")
                .hasMessageContaining("create a new one");
        assertThat(ca.calls("AttestNode")).isEqualTo(1);
        assertThat(dataDir.resolve(NodeIdentityStore.NODE_KEY)).doesNotExist();
    }

    @Test
    void aTokenIsNotRetriedAfterAnyAnswerFromTheCaEvenATransientOne() {
        String token = ca.newJoinToken();
        ca.fail("AttestNode", Status.UNAVAILABLE.withDescription("signer busy"));

        assertThatThrownBy(() -> start(client(), token))
                .isInstanceOf(WorkloadIdentityException.class)
                .hasMessageContaining("UNAVAILABLE: signer busy");
        assertThat(ca.calls("AttestNode")).isEqualTo(1);
        assertThat(ca.tokenOutstanding(token)).isFalse();
    }

    @Test
    void renewsAtAboutHalfItsLifetimeOverMtlsWithANewKeyPersistedFirst() throws Exception {
        CaClient client = client();
        NodeIdentity identity = start(client, ca.newJoinToken());
        NodeSvid first = identity.current();

        // Renewal is due between 40% and 60% of the hour.
        scheduler.advance(Duration.ofMinutes(23));
        scheduler.awaitIdle();
        assertThat(ca.calls("CreateCertificate")).isZero();

        scheduler.advance(Duration.ofMinutes(14));
        Await.until("the node SVID is renewed", () -> identity.current() != first);

        NodeSvid renewed = identity.current();
        assertThat(ca.clientLeaves("CreateCertificate")).containsExactly(first.leaf());
        assertThat(renewed.spiffeId()).isEqualTo(first.spiffeId());
        assertThat(renewed.leaf().getPublicKey()).isNotEqualTo(first.leaf().getPublicKey());
        assertThat(renewed.notAfter()).isAfter(first.notAfter());
        assertThat(renewed.chain()).hasSize(2); // the root the CA appended is not kept
        NodeSvid stored = NodeIdentityStore.open(dataDir).loadNodeSvid().orElseThrow();
        assertThat(stored.chain()).isEqualTo(renewed.chain());
        assertThat(stored.privateKey()).isEqualTo(renewed.privateKey());

        client.fetchEntries(0).get(15, TimeUnit.SECONDS);
        assertThat(ca.clientLeaves("FetchEntries")).containsExactly(renewed.leaf());
    }

    @Test
    void failedRenewalsAreRetriedWithBackoffWhileTheCurrentSvidKeepsBeingUsed() throws Exception {
        NodeIdentity identity = start(client(), ca.newJoinToken());
        NodeSvid first = identity.current();
        ca.fail("CreateCertificate", Status.UNAVAILABLE);

        scheduler.advance(Duration.ofMinutes(37));
        Await.until("a renewal attempt", () -> ca.calls("CreateCertificate") == 1);
        for (int attempt = 2; attempt <= 4; attempt++) {
            int expected = attempt;
            scheduler.awaitWaitingForTime(); // the retry is scheduled
            scheduler.advance(Duration.ofSeconds(61)); // beyond the backoff cap
            Await.until("renewal attempt " + attempt, () -> ca.calls("CreateCertificate") == expected);
        }
        assertThat(identity.current()).isSameAs(first);

        ca.fail("CreateCertificate", null);
        scheduler.awaitWaitingForTime();
        scheduler.advance(Duration.ofSeconds(61));
        Await.until("the node SVID is renewed", () -> identity.current() != first);
    }

    @Test
    void aRenewalInterruptedBetweenTheTwoRenamesIsCompletedOnLoad() throws Exception {
        NodeIdentityStore store = NodeIdentityStore.open(dataDir);
        NodeSvid old = nodeSvid();
        store.saveNodeSvid(old);
        NodeSvid next = nodeSvid();
        NodeIdentityStore other = NodeIdentityStore.open(tmp.resolve("other"));
        other.saveNodeSvid(next);
        // The crash: the new key is in place, the new certificate still pending.
        Files.copy(tmp.resolve("other").resolve(NodeIdentityStore.NODE_KEY), dataDir.resolve(NodeIdentityStore.NODE_KEY),
                java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        Files.copy(tmp.resolve("other").resolve(NodeIdentityStore.NODE_SVID), dataDir.resolve("node-svid.pem.new"));

        NodeSvid loaded = store.loadNodeSvid().orElseThrow();

        assertThat(loaded.chain()).isEqualTo(next.chain());
        assertThat(dataDir.resolve("node-svid.pem.new")).doesNotExist();
    }

    @Test
    void anIncompleteRenewalIsDiscardedAndTheOldPairKept() throws Exception {
        NodeIdentityStore store = NodeIdentityStore.open(dataDir);
        NodeSvid old = nodeSvid();
        store.saveNodeSvid(old);
        Files.writeString(dataDir.resolve("node-key.pem.new"), "-----BEGIN PRIVATE KEY-----\ntrunc");

        assertThat(store.loadNodeSvid().orElseThrow().chain()).isEqualTo(old.chain());
        assertThat(dataDir.resolve("node-key.pem.new")).doesNotExist();
    }

    @Test
    void aKeyThatDoesNotMatchTheCertificateIsRefused() throws Exception {
        NodeIdentityStore store = NodeIdentityStore.open(dataDir);
        store.saveNodeSvid(nodeSvid());
        NodeIdentityStore other = NodeIdentityStore.open(tmp.resolve("other"));
        other.saveNodeSvid(nodeSvid());
        Files.copy(tmp.resolve("other").resolve(NodeIdentityStore.NODE_KEY), dataDir.resolve(NodeIdentityStore.NODE_KEY),
                java.nio.file.StandardCopyOption.REPLACE_EXISTING);

        assertThatThrownBy(store::loadNodeSvid).hasMessageContaining("does not hold the key of the certificate");
    }

    private NodeSvid nodeSvid() {
        var leaf = ca.pki().leaf(ca.nodeId()).issue();
        return NodeSvid.of(leaf.chain(), leaf.privateKey());
    }

    private static String mode(Path path) throws Exception {
        return PosixFilePermissions.toString(Files.getPosixFilePermissions(path));
    }
}
