package dev.keel.agent.cache;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.keel.agent.AgentConfig;
import dev.keel.agent.IdentitySnapshot;
import dev.keel.agent.KubernetesPod;
import dev.keel.agent.RegistrationEntry;
import dev.keel.agent.Selector;
import dev.keel.agent.WorkloadIdentityException;
import dev.keel.agent.WorkloadSvid;
import dev.keel.agent.ca.Await;
import dev.keel.agent.ca.NodeIdentityStore;
import dev.keel.identity.Bundle;
import dev.keel.identity.BundleJson;
import dev.keel.identity.KeyPairs;
import dev.keel.identity.KeyType;
import dev.keel.identity.SpiffeId;
import dev.keel.identity.X509Svid;
import dev.keel.proto.ca.v1.SignWorkloadSVIDRequest;
import io.grpc.Status;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.security.Signature;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/** X.509-SVIDs: issuance, rotation, CA outages, entry and bundle changes. */
class SvidManagerTest extends AgentFixture {

    @Test
    void issuesAnSvidForEachEntryAndPublishesSnapshots() throws Exception {
        ca.setEntries(List.of(ca.entry("a", X, "unix:uid:1000"), ca.entry("b", Y, "unix:uid:1001", "unix:gid:50")));

        startReady(config().build());

        IdentitySnapshot snapshot = manager.current();
        assertThat(snapshot.entries()).extracting(RegistrationEntry::id).containsExactly("a", "b");
        assertThat(snapshot.entries().get(1).selectors())
                .containsExactlyInAnyOrder(Selector.parse("unix:uid:1001"), Selector.parse("unix:gid:50"));
        assertThat(snapshot.bundle()).contains(ca.bundle());
        for (RegistrationEntry entry : snapshot.entries()) {
            WorkloadSvid svid = snapshot.svidsByEntryId().get(entry.id());
            X509Svid verified = ca.pki().verifier().verify(svid.chain());
            assertThat(verified.spiffeId()).isEqualTo(entry.spiffeId());
            assertThat(svid.entry()).isEqualTo(entry);
            assertThat(svid.chain()).containsExactly(svid.leaf(), ca.pki().intermediate()); // not the root the CA appended
            assertThat(holdsKeyOf(svid)).isTrue();
            assertThat(svid.privateKey().getAlgorithm()).isEqualTo("EC");
        }
        assertThat(snapshot.validSvidsFor(snapshot.entriesFor(Set.of(Selector.parse("unix:uid:1000"))), clock.instant()))
                .extracting(s -> s.entry().id()).containsExactly("a");
        assertThat(ca.signRequests).extracting(SignWorkloadSVIDRequest::getEntryId).containsExactlyInAnyOrder("a", "b");
        assertThat(ca.signRequests).allSatisfy(r -> assertThat(r.hasKubernetesPod()).isFalse());
        Await.until("the subscriber saw the snapshot", () -> !seen.isEmpty()
                && seen.get(seen.size() - 1).version() == manager.current().version());
        for (int i = 1; i < seen.size(); i++) {
            assertThat(seen.get(i).version()).isGreaterThan(seen.get(i - 1).version());
        }
        String metricsText = text();
        assertThat(metricsText).contains("keel_agent_registration_entries 2");
        assertThat(metricsText).contains("keel_agent_svid_expiry_seconds{entry_id=\"a\",spiffe_id=\"" + X + "\"} 3600");
        assertThat(metricsText).contains("keel_agent_node_svid_expiry_seconds 21600");
        assertThat(manager.nodeId()).isEqualTo(ca.nodeId());
    }

    @Test
    void rotatesEachSvidAtAboutHalfItsLifetime() throws Exception {
        ca.setEntries(List.of(ca.entry("a", X, "unix:uid:1000")));
        startReady(config().build());
        WorkloadSvid first = svid("a");
        long version = manager.current().version();

        // Due between 40% and 60% of the hour.
        advance(Duration.ofMinutes(23));
        settle();
        assertThat(svid("a").leaf()).isEqualTo(first.leaf());
        assertThat(ca.calls("SignWorkloadSVID")).isEqualTo(1);

        advance(Duration.ofMinutes(14));
        Await.until("the SVID is rotated", () -> svid("a").leaf() != first.leaf());

        WorkloadSvid second = svid("a");
        assertThat(second.notAfter()).isAfter(first.notAfter());
        assertThat(second.leaf().getPublicKey()).isNotEqualTo(first.leaf().getPublicKey());
        assertThat(manager.current().version()).isGreaterThan(version);
        Await.until("subscribers see the rotation", () -> seen.stream()
                .anyMatch(s -> s.svidsByEntryId().get("a") != null && s.svidsByEntryId().get("a").leaf() == second.leaf()));
    }

    @Test
    void whileTheCaIsDownValidSvidsAreServedRetriedWithBackoffAndDroppedAtExpiryThenRecovered() throws Exception {
        ca.setEntries(List.of(ca.entry("a", X, "unix:uid:1000")));
        startReady(config().build());
        WorkloadSvid first = svid("a");
        ca.failAll(Status.UNAVAILABLE.withDescription("CA restarting"));

        advance(Duration.ofMinutes(37));
        Await.until("a rotation attempt", () -> ca.calls("SignWorkloadSVID") == 2);
        for (int attempt = 3; attempt <= 6; attempt++) {
            int expected = attempt;
            advance(Duration.ofSeconds(61)); // beyond the backoff cap: exactly one more attempt each time
            Await.until("retry " + attempt, () -> ca.calls("SignWorkloadSVID") == expected);
        }
        settle();
        assertThat(svid("a").leaf()).isSameAs(first.leaf());
        assertThat(metrics.caReachable()).isFalse();

        advance(Duration.between(clock.instant(), first.notAfter()));
        Await.until("the expired SVID is dropped", () -> svid("a") == null);
        IdentitySnapshot snapshot = manager.current();
        assertThat(snapshot.entries()).extracting(RegistrationEntry::id).containsExactly("a");
        assertThat(snapshot.validSvidsFor(snapshot.entries(), clock.instant())).isEmpty();
        assertThat(seen.get(seen.size() - 1).svidsByEntryId()).doesNotContainKey("a");

        ca.failAll(null);
        advance(Duration.ofSeconds(61));
        Await.until("the agent recovers", () -> svid("a") != null);
        assertThat(svid("a").isValidAt(clock.instant())).isTrue();
        settle();
        assertThat(metrics.caReachable()).isTrue();
    }

    @Test
    void aStoppedCaIsRetriedAndTheAgentRecoversWhenItIsBack() throws Exception {
        ca.workloadTtl(Duration.ofHours(4));
        ca.setEntries(List.of(ca.entry("a", X, "unix:uid:1000")));
        startReady(config().build());
        WorkloadSvid first = svid("a");
        ca.stop();

        advance(Duration.ofMinutes(150));
        Await.until("a failed rotation", () -> text().contains(
                "keel_agent_ca_request_failures_total{code=\"UNAVAILABLE\",method=\"SignWorkloadSVID\"}"));
        assertThat(svid("a").leaf()).isSameAs(first.leaf());

        ca.restart();
        for (int i = 0; i < 20 && svid("a").leaf() == first.leaf(); i++) {
            advance(Duration.ofSeconds(61));
            settle();
        }
        assertThat(svid("a").leaf()).isNotSameAs(first.leaf());
    }

    @Test
    void aDeletedEntryLosesItsSvid() throws Exception {
        ca.setEntries(List.of(ca.entry("a", X, "unix:uid:1000"), ca.entry("b", Y, "unix:uid:1001")));
        startReady(config().build());

        ca.setEntries(List.of(ca.entry("a", X, "unix:uid:1000")));
        sync();

        assertThat(manager.current().entries()).extracting(RegistrationEntry::id).containsExactly("a");
        assertThat(manager.current().svidsByEntryId()).containsOnlyKeys("a");
        assertThat(ca.calls("SignWorkloadSVID")).isEqualTo(2);
    }

    @Test
    void deletingEntriesBeforeOthersKeepsTheRest() throws Exception {
        // Removal while walking the entries once threw ConcurrentModificationException unless the
        // deleted entry happened to be the last one.
        ca.setEntries(List.of(ca.entry("a", X, "unix:uid:1000"), ca.entry("b", Y, "unix:uid:1001"),
                ca.entry("c", Y, "unix:uid:1002")));
        startReady(config().build());

        ca.setEntries(List.of(ca.entry("c", Y, "unix:uid:1002")));
        sync();

        assertThat(manager.current().entries()).extracting(RegistrationEntry::id).containsExactly("c");
        assertThat(manager.current().svidsByEntryId()).containsOnlyKeys("c");
    }

    @Test
    void changedEntriesAreReissuedAndAnOldSpiffeIdIsNeverServedForTheNewEntry() throws Exception {
        ca.setEntries(List.of(ca.entry("a", X, "unix:uid:1000")));
        startReady(config().build());
        WorkloadSvid first = svid("a");

        // Selectors only: the same SVID, under the new entry.
        ca.setEntries(List.of(ca.entry("a", X, "unix:uid:2000")));
        sync();
        assertThat(svid("a").leaf()).isSameAs(first.leaf());
        assertThat(svid("a").entry().selectors()).containsExactly(Selector.parse("unix:uid:2000"));
        assertThat(ca.calls("SignWorkloadSVID")).isEqualTo(1);

        // A new TTL: re-issued with it.
        ca.setEntries(List.of(ca.entry("a", X, "unix:uid:2000").toBuilder().setX509SvidTtlSeconds(7200).build()));
        sync();
        Await.until("re-issued with the new TTL", () -> svid("a").leaf() != first.leaf());
        assertThat(ca.signRequests).extracting(SignWorkloadSVIDRequest::getValiditySeconds).containsExactly(0L, 7200L);
        assertThat(svid("a").notAfter()).isEqualTo(clock.instant().plus(Duration.ofHours(2)));

        // A new SPIFFE ID: re-issued for it.
        ca.setEntries(List.of(ca.entry("a", Y, "unix:uid:2000")));
        sync();
        Await.until("re-issued for the new ID", () -> svid("a") != null
                && svid("a").entry().spiffeId().equals(SpiffeId.parse(Y)));
        assertThat(X509Svid.of(svid("a").chain()).spiffeId()).isEqualTo(SpiffeId.parse(Y));
        Await.until("subscribers saw it", () -> seen.get(seen.size() - 1).version() == manager.current().version());
        for (IdentitySnapshot snapshot : seen) {
            for (WorkloadSvid svid : snapshot.svidsByEntryId().values()) {
                assertThat(X509Svid.of(svid.chain()).spiffeId()).as("version %d", snapshot.version())
                        .isEqualTo(svid.entry().spiffeId());
            }
        }
    }

    @Test
    void entriesTheAgentMayNotServeAreIgnored() throws Exception {
        ca.setEntries(List.of(
                ca.entry("a", X, "unix:uid:1000"),
                ca.entry("other-node", Y, "unix:uid:1").toBuilder().setParentId("spiffe://cluster.local/keel/node/n2").build(),
                ca.entry("other-td", "spiffe://other.example/ns/a/sa/x", "unix:uid:2"),
                ca.entry("k8s:reserved", Y, "unix:uid:3"),
                ca.entry("no-selectors", Y)));

        startReady(config().build());

        assertThat(manager.current().entries()).extracting(RegistrationEntry::id).containsExactly("a");
    }

    @Test
    void aNewerBundleFromTheCaIsTakenSavedAndPublished() throws Exception {
        ca.setEntries(List.of(ca.entry("a", X, "unix:uid:1000")));
        startReady(config().build());

        Bundle rotated = ca.rotateBundle(ca.bundle().toBuilder()
                .putJwtAuthority("jwt-1", KeyPairs.generate(KeyType.EC_P256).getPublic()).build());
        sync();

        Await.until("the new bundle is published", () -> manager.current().bundle().orElseThrow().equals(rotated));
        assertThat(rotated.sequenceNumber()).hasValue(2);
        assertThat(BundleJson.parse(ca.trustDomain(), Files.readString(tmp.resolve("agent").resolve(NodeIdentityStore.BUNDLE),
                StandardCharsets.UTF_8))).isEqualTo(rotated);
        assertThat(manager.caClient().trustBundle()).isEqualTo(rotated);
        Await.until("subscribers saw it", () -> seen.get(seen.size() - 1).bundle().orElseThrow().equals(rotated));
    }

    @Test
    void aFailingSubscriberDoesNotStopTheOthers() throws Exception {
        ca.setEntries(List.of(ca.entry("a", X, "unix:uid:1000")));
        startReady(config().build());
        AtomicInteger calls = new AtomicInteger();
        manager.subscribe(snapshot -> {
            throw new IllegalStateException("listener bug");
        });
        AutoCloseable counting = manager.subscribe(snapshot -> calls.incrementAndGet());

        ca.setEntries(List.of(ca.entry("a", X, "unix:uid:1000"), ca.entry("b", Y, "unix:uid:1001")));
        sync();
        Await.until("the second listener is called", () -> calls.get() > 0);
        settle();

        counting.close();
        int before = calls.get();
        ca.setEntries(List.of(ca.entry("a", X, "unix:uid:1000")));
        sync();
        Await.until("the change is published", () -> manager.current().entries().size() == 1);
        assertThat(calls.get()).isEqualTo(before);
    }

    @Test
    void restartsFromTheDataDirectoryWithoutTokenOrBootstrapBundle() throws Exception {
        ca.setEntries(List.of(ca.entry("a", X, "unix:uid:1000")));
        startReady(config().build());
        manager.close();
        manager = null;
        seen.clear();

        AgentConfig again = config().bootstrapBundle(null).joinToken(null).build();
        startReady(again);

        assertThat(ca.calls("AttestNode")).isEqualTo(1);
        assertThat(svid("a")).isNotNull();
    }

    @Test
    void startupFailsClearlyWithoutATrustBundle() throws Exception {
        AgentConfig config = config().bootstrapBundle(null).build();
        assertThatThrownBy(() -> start(config)).hasMessageContaining("no trust bundle");
    }

    @Test
    void startupFailsClearlyWithoutANodeSvidOrToken() throws Exception {
        AgentConfig config = config().joinToken(null).build();
        assertThatThrownBy(() -> start(config)).isInstanceOf(WorkloadIdentityException.class)
                .hasMessageContaining("no join token");
    }

    @Test
    void rsaWorkloadKeysWhenConfigured() throws Exception {
        ca.setEntries(List.of(ca.entry("a", X, "unix:uid:1000")));
        startReady(config().keyType(KeyType.RSA_2048).build());

        assertThat(svid("a").privateKey().getAlgorithm()).isEqualTo("RSA");
        assertThat(holdsKeyOf(svid("a"))).isTrue();
    }

    @Test
    void theConfiguredTtlIsRequestedForEntriesWithoutOne() throws Exception {
        ca.setEntries(List.of(ca.entry("a", X, "unix:uid:1000")));
        startReady(config().workloadSvidTtl(Duration.ofMinutes(10)).build());

        assertThat(ca.signRequests).extracting(SignWorkloadSVIDRequest::getValiditySeconds).containsExactly(600L);
        assertThat(svid("a").notAfter()).isEqualTo(clock.instant().plus(Duration.ofMinutes(10)));
    }

    @Test
    void admitPodNeedsKubernetesMode() throws Exception {
        startReady(config().build());
        assertThatThrownBy(() -> manager.admitPod(new KubernetesPod("a", "web-0", "uid-1", "x")))
                .isInstanceOf(UnsupportedOperationException.class);
    }

    static boolean holdsKeyOf(WorkloadSvid svid) throws Exception {
        String algorithm = svid.privateKey().getAlgorithm().equals("EC") ? "SHA256withECDSA" : "SHA256withRSA";
        Signature signer = Signature.getInstance(algorithm);
        signer.initSign(svid.privateKey());
        signer.update(new byte[] {1, 2, 3});
        byte[] signature = signer.sign();
        Signature verifier = Signature.getInstance(algorithm);
        X509Certificate leaf = svid.leaf();
        verifier.initVerify(leaf.getPublicKey());
        verifier.update(new byte[] {1, 2, 3});
        return verifier.verify(signature);
    }

    String text() {
        try {
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            metrics.writeText(out);
            return out.toString(StandardCharsets.UTF_8);
        } catch (java.io.IOException e) {
            throw new IllegalStateException(e);
        }
    }
}
