package dev.keel.proxy.workload;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.keel.agent.RegistrationEntry;
import dev.keel.identity.Bundle;
import dev.keel.identity.KeyPairs;
import dev.keel.identity.KeyType;
import dev.keel.identity.SpiffeId;
import dev.keel.identity.TrustDomain;
import dev.keel.proxy.X509Material;
import dev.keel.proxy.tls.TlsContextHolder;
import io.netty.handler.ssl.ClientAuth;
import dev.keel.testing.FakeClock;
import dev.keel.testing.TestLeaf;
import dev.keel.testing.TestPki;
import java.security.KeyPair;
import java.security.Signature;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeoutException;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class WorkloadApiIdentitySourceTest {

    static final SpiffeId FRONTEND = SpiffeId.parse("spiffe://cluster.local/ns/shop/sa/frontend");
    static final SpiffeId ADMIN = SpiffeId.parse("spiffe://cluster.local/ns/shop/sa/admin");

    TestPki pki;
    FakeAgent agent;
    WorkloadApiIdentitySource source;

    @BeforeEach
    void setUp() throws Exception {
        pki = TestPki.create();
        agent = new FakeAgent().start();
    }

    @AfterEach
    void tearDown() throws Exception {
        if (source != null) {
            source.close();
        }
        agent.close();
    }

    private WorkloadApiIdentitySource.Builder client() {
        return WorkloadApiIdentitySource.builder().socketPath(agent.socket)
                .backoff(Duration.ofMillis(20), Duration.ofMillis(200));
    }

    private static Map<RegistrationEntry, TestLeaf> svids(Object... entryLeafPairs) {
        Map<RegistrationEntry, TestLeaf> map = new LinkedHashMap<>();
        for (int i = 0; i < entryLeafPairs.length; i += 2) {
            map.put((RegistrationEntry) entryLeafPairs[i], (TestLeaf) entryLeafPairs[i + 1]);
        }
        return map;
    }

    @Test
    void firstMaterialIsTheDefaultSvidWithItsKeyAndBundle() throws Exception {
        TestLeaf leaf = pki.leaf(FRONTEND).issue();
        agent.publish(pki.bundle(), svids(FakeAgent.entry("e1", FRONTEND), leaf,
                FakeAgent.entry("e2", ADMIN), pki.leaf(ADMIN).issue()));
        source = client().build().start();

        X509Material material = source.awaitFirst(Duration.ofSeconds(10));

        assertThat(material.spiffeId()).isEqualTo(FRONTEND);
        assertThat(material.chain()).isEqualTo(leaf.chain());
        assertThat(material.bundles().get(TrustDomain.CLUSTER_LOCAL).x509Authorities())
                .isEqualTo(pki.bundle().x509Authorities());
        assertKeyMatches(material);
        assertThat(source.current()).contains(material);
        assertThat(source.connected()).isTrue();
        assertThat(material.toString()).doesNotContain("PRIVATE");
    }

    @Test
    void selectsTheConfiguredSpiffeId() throws Exception {
        agent.publish(pki.bundle(), svids(FakeAgent.entry("e1", FRONTEND), pki.leaf(FRONTEND).issue(),
                FakeAgent.entry("e2", ADMIN), pki.leaf(ADMIN).issue()));
        source = client().spiffeId(ADMIN).build().start();

        assertThat(source.awaitFirst(Duration.ofSeconds(10)).spiffeId()).isEqualTo(ADMIN);
    }

    @Test
    void rotationIsPublishedToSubscribers() throws Exception {
        RegistrationEntry entry = FakeAgent.entry("e1", FRONTEND);
        agent.publish(pki.bundle(), svids(entry, pki.leaf(FRONTEND).issue()));
        source = client().build().start();
        List<X509Material> seen = new CopyOnWriteArrayList<>();
        source.subscribe(seen::add);
        X509Material first = source.awaitFirst(Duration.ofSeconds(10));

        TestLeaf rotated = pki.leaf(FRONTEND).issue();
        agent.publish(pki.bundle(), svids(entry, rotated));

        await("rotated material", () -> !seen.isEmpty() && seen.get(seen.size() - 1).leaf().equals(rotated.certificate()));
        assertThat(source.current().orElseThrow().leaf()).isEqualTo(rotated.certificate())
                .isNotEqualTo(first.leaf());
        assertKeyMatches(source.current().orElseThrow());
    }

    @Test
    void tlsContextsFollowTheAgentsRotations() throws Exception {
        RegistrationEntry entry = FakeAgent.entry("e1", FRONTEND);
        TestLeaf first = pki.leaf(FRONTEND).issue();
        agent.publish(pki.bundle(), svids(entry, first));
        source = client().build().start();
        source.awaitFirst(Duration.ofSeconds(10));
        try (TlsContextHolder holder = TlsContextHolder.follow(source, ClientAuth.REQUIRE, List.of("http/1.1"))) {
            assertThat(holder.current().orElseThrow().material().leaf()).isEqualTo(first.certificate());

            TestLeaf second = pki.leaf(FRONTEND).issue();
            agent.publish(pki.bundle(), svids(entry, second));

            await("TLS contexts rebuilt with the rotated SVID",
                    () -> holder.current().orElseThrow().material().leaf().equals(second.certificate()));
            assertThat(holder.server().isServer()).isTrue();
        }
    }

    @Test
    void survivesAnAgentRestartKeepingTheLastMaterialMeanwhile() throws Exception {
        RegistrationEntry entry = FakeAgent.entry("e1", FRONTEND);
        agent.publish(pki.bundle(), svids(entry, pki.leaf(FRONTEND).issue()));
        source = client().build().start();
        X509Material before = source.awaitFirst(Duration.ofSeconds(10));

        agent.stop();
        await("stream noticed the agent went away", () -> !source.connected());
        assertThat(source.current()).as("last material kept while disconnected").contains(before);

        TestLeaf after = pki.leaf(FRONTEND).issue();
        agent.publish(pki.bundle(), svids(entry, after));
        agent.start();

        await("reconnected and got the new SVID",
                () -> source.current().map(m -> m.leaf().equals(after.certificate())).orElse(false));
        assertThat(source.connected()).isTrue();
    }

    @Test
    void neverServesMaterialPastItsNotAfter() throws Exception {
        FakeClock clock = FakeClock.now();
        TestLeaf leaf = pki.leaf(FRONTEND).ttl(Duration.ofHours(1)).issue();
        agent.publish(pki.bundle(), svids(FakeAgent.entry("e1", FRONTEND), leaf));
        source = client().clock(clock).build().start();
        source.awaitFirst(Duration.ofSeconds(10));
        assertThat(source.current()).isPresent();

        clock.set(leaf.certificate().getNotAfter().toInstant());

        assertThat(source.current()).isEmpty();
    }

    @Test
    void svidOfAnotherCaIsIgnored() throws Exception {
        TestPki other = TestPki.create();
        agent.publish(pki.bundle(), svids(FakeAgent.entry("e1", FRONTEND), other.leaf(FRONTEND).issue()));
        source = client().build().start();

        assertThatThrownBy(() -> source.awaitFirst(Duration.ofMillis(500))).isInstanceOf(TimeoutException.class);
        assertThat(source.current()).isEmpty();
    }

    @Test
    void jwtAuthoritiesAreMergedIntoTheBundle() throws Exception {
        KeyPair jwtKey = KeyPairs.generate(KeyType.EC_P256);
        Bundle bundle = pki.bundle().toBuilder().putJwtAuthority("kid-1", jwtKey.getPublic()).build();
        agent.publish(bundle, svids(FakeAgent.entry("e1", FRONTEND), pki.leaf(FRONTEND).issue()));
        source = client().build().start();
        source.awaitFirst(Duration.ofSeconds(10));

        await("JWT authorities", () -> source.current()
                .map(m -> m.bundles().get(TrustDomain.CLUSTER_LOCAL).jwtAuthority("kid-1").isPresent()).orElse(false));
        assertThat(source.current().orElseThrow().bundles().get(TrustDomain.CLUSTER_LOCAL).jwtAuthorities().get("kid-1"))
                .isEqualTo(jwtKey.getPublic());
    }

    @Test
    void builderRejectsBadArguments() {
        assertThatThrownBy(() -> WorkloadApiIdentitySource.builder().build())
                .hasMessageContaining("socketPath");
        assertThatThrownBy(() -> WorkloadApiIdentitySource.builder().endpoint("tcp://127.0.0.1:1"))
                .hasMessageContaining("expected: unix:///absolute/path");
        assertThatThrownBy(() -> WorkloadApiIdentitySource.builder().backoff(Duration.ZERO, Duration.ofSeconds(1)))
                .hasMessageContaining("expected: > 0");
        assertThat(WorkloadApiIdentitySource.builder().endpoint("unix:///tmp/keel/agent.sock").build().socketPath())
                .hasToString("/tmp/keel/agent.sock");
    }

    @Test
    void backoffIsCappedAndJittered() {
        WorkloadApiIdentitySource s = client().build();
        try {
            for (int i = 0; i < 40; i++) {
                assertThat(s.backoffMillis(i)).isBetween(5L, 200L);
            }
            assertThat(s.backoffMillis(0)).isBetween(10L, 20L);
        } finally {
            s.close();
        }
    }

    private static void assertKeyMatches(X509Material material) throws Exception {
        String algorithm = material.leaf().getPublicKey().getAlgorithm().equals("EC") ? "SHA256withECDSA" : "SHA256withRSA";
        Signature signer = Signature.getInstance(algorithm);
        signer.initSign(material.privateKey());
        signer.update(new byte[] {1, 2, 3});
        byte[] signature = signer.sign();
        Signature verifier = Signature.getInstance(algorithm);
        verifier.initVerify(material.leaf().getPublicKey());
        verifier.update(new byte[] {1, 2, 3});
        assertThat(verifier.verify(signature)).isTrue();
    }

    static void await(String what, BooleanSupplier condition) throws InterruptedException {
        for (int i = 0; i < 1000; i++) {
            if (condition.getAsBoolean()) {
                return;
            }
            Thread.sleep(10);
        }
        throw new AssertionError("not within 10 s: " + what);
    }
}
