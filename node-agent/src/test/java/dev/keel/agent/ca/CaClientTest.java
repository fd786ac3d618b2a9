package dev.keel.agent.ca;

import static org.assertj.core.api.Assertions.assertThat;

import dev.keel.agent.AgentConfig.JoinToken;
import dev.keel.agent.AgentMetrics;
import dev.keel.agent.WorkloadIdentityException;
import dev.keel.agent.ca.internal.Csrs;
import dev.keel.identity.KeyType;
import dev.keel.identity.Pem;
import dev.keel.identity.SpiffeId;
import dev.keel.identity.X509Svid;
import dev.keel.proto.ca.v1.AttestNodeResponse;
import io.grpc.Status;
import java.io.ByteArrayOutputStream;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** The CA client against the fake CA over real TLS on loopback. */
class CaClientTest {

    static final String CA_ID = "spiffe://cluster.local/keel/ca";

    final AgentMetrics metrics = new AgentMetrics(Clock.systemUTC());
    final List<AutoCloseable> resources = new ArrayList<>();

    @AfterEach
    void close() throws Exception {
        for (AutoCloseable resource : resources) {
            resource.close();
        }
    }

    FakeCa ca(FakeCa.Builder builder) throws Exception {
        FakeCa ca = builder.build();
        resources.add(ca);
        return ca;
    }

    CaClient client(FakeCa ca, Duration deadline) {
        CaClient client = CaClient.builder("127.0.0.1", ca.port(), ca.pki().bundle()).deadline(deadline)
                .metrics(metrics).build();
        resources.add(0, client);
        return client;
    }

    static WorkloadIdentityException failureOf(CompletableFuture<?> call) {
        try {
            call.get(15, TimeUnit.SECONDS);
        } catch (ExecutionException e) {
            assertThat(e.getCause()).isInstanceOf(WorkloadIdentityException.class);
            return (WorkloadIdentityException) e.getCause();
        } catch (Exception e) {
            throw new AssertionError(e);
        }
        throw new AssertionError("the call succeeded");
    }

    static List<X509Certificate> chainOf(List<String> pems) {
        List<X509Certificate> chain = new ArrayList<>();
        pems.forEach(pem -> chain.addAll(Pem.decodeCertificates(pem)));
        return chain;
    }

    @Test
    void attestsTheNodeOverServerAuthenticatedTls() throws Exception {
        FakeCa ca = ca(FakeCa.builder());
        CaClient client = client(ca, Duration.ofSeconds(10));
        String token = ca.newJoinToken();
        Csrs.KeyAndCsr key = Csrs.generate(KeyType.EC_P256);

        AttestNodeResponse response = client.attestNode(JoinToken.of(token), key.csrPem()).get(15, TimeUnit.SECONDS);

        X509Svid svid = ca.pki().verifier().verify(chainOf(response.getCertChainList()));
        assertThat(svid.spiffeId()).isEqualTo(ca.nodeId());
        assertThat(svid.leaf().getPublicKey()).isEqualTo(key.keyPair().getPublic());
        assertThat(ca.clientLeaves("AttestNode")).isEmpty();
        assertThat(ca.tokenOutstanding(token)).isFalse();
        assertThat(client.caId()).isEqualTo(SpiffeId.parse(CA_ID));
        assertThat(text(metrics)).contains("keel_agent_ca_request_duration_seconds_count{method=\"AttestNode\"} 1");
    }

    @Test
    void refusesAServerWhoseSpiffeIdIsNotTheCas() throws Exception {
        FakeCa impostor = ca(FakeCa.builder().servingId("spiffe://cluster.local/ns/default/sa/web"));
        CaClient client = client(impostor, Duration.ofSeconds(10));

        WorkloadIdentityException failure = failureOf(client.fetchBundle());

        assertThat(failure.getMessage()).isEqualTo("CA FetchBundle: UNAVAILABLE: TLS handshake failed: the server "
                + "presented the X.509-SVID of spiffe://cluster.local/ns/default/sa/web (expected: the CA, " + CA_ID + ")");
        assertThat(impostor.calls("FetchBundle")).isZero();
    }

    @Test
    void refusesAServerWhoseChainDoesNotVerifyAgainstTheBundle() throws Exception {
        FakeCa impostor = ca(FakeCa.builder().untrustedServingCertificate());
        CaClient client = client(impostor, Duration.ofSeconds(10));

        WorkloadIdentityException failure = failureOf(client.fetchBundle());

        assertThat(failure.getMessage()).contains("UNTRUSTED").contains("does not verify");
        assertThat(impostor.calls("FetchBundle")).isZero();
    }

    @Test
    void refusesACaOfAnotherTrustDomain() throws Exception {
        FakeCa impostor = ca(FakeCa.builder().servingId("spiffe://other.example/keel/ca"));
        CaClient client = client(impostor, Duration.ofSeconds(10));

        assertThat(failureOf(client.fetchBundle()).getMessage()).contains("NO_BUNDLE");
        assertThat(impostor.calls("FetchBundle")).isZero();
    }

    @ParameterizedTest
    @EnumSource(value = Status.Code.class, names = {"UNAVAILABLE", "DEADLINE_EXCEEDED", "RESOURCE_EXHAUSTED", "INTERNAL",
        "PERMISSION_DENIED", "INVALID_ARGUMENT", "UNAUTHENTICATED", "NOT_FOUND", "FAILED_PRECONDITION"})
    void mapsStatusCodesToTransientOrPermanentFailuresAndCountsThem(Status.Code code) throws Exception {
        FakeCa ca = ca(FakeCa.builder());
        CaClient client = client(ca, Duration.ofSeconds(10));
        ca.fail("FetchBundle", Status.fromCode(code).withDescription("told to fail"));

        WorkloadIdentityException failure = failureOf(client.fetchBundle());

        boolean expectTransient = code == Status.Code.UNAVAILABLE || code == Status.Code.DEADLINE_EXCEEDED
                || code == Status.Code.RESOURCE_EXHAUSTED || code == Status.Code.INTERNAL;
        assertThat(failure.isTransient()).isEqualTo(expectTransient);
        assertThat(failure.getMessage()).isEqualTo("CA FetchBundle: " + code + ": told to fail");
        assertThat(text(metrics)).containsPattern("keel_agent_ca_request_failures_total\\{[^}]*code=\"" + code
                + "\"[^}]*\\} 1");
        assertThat(metrics.caReachable()).isEqualTo(code != Status.Code.UNAVAILABLE && code != Status.Code.DEADLINE_EXCEEDED);
    }

    @Test
    void everyCallHasADeadline() throws Exception {
        FakeCa ca = ca(FakeCa.builder());
        CaClient client = client(ca, Duration.ofMillis(300));
        CountDownLatch stalled = new CountDownLatch(1);
        ca.stall(stalled);
        try {
            WorkloadIdentityException failure = failureOf(client.fetchBundle());
            assertThat(failure.getMessage()).startsWith("CA FetchBundle: DEADLINE_EXCEEDED");
            assertThat(failure.isTransient()).isTrue();
        } finally {
            stalled.countDown();
        }
    }

    @Test
    void anUnreachableCaIsATransientFailureBeforeTheRequestWasSent() throws Exception {
        FakeCa ca = ca(FakeCa.builder());
        int closedPort;
        try (ServerSocket socket = new ServerSocket(0)) {
            closedPort = socket.getLocalPort();
        }
        CaClient client = CaClient.builder("127.0.0.1", closedPort, ca.pki().bundle()).metrics(metrics).build();
        resources.add(0, client);

        WorkloadIdentityException failure = failureOf(client.fetchBundle());

        assertThat(failure.isTransient()).isTrue();
        assertThat(failure.getMessage()).startsWith("CA FetchBundle: UNAVAILABLE");
        assertThat(NodeIdentity.neverReachedCa(failure)).isTrue();
    }

    @Test
    void presentsTheNodeSvidAndSwitchesToANewChannelWhenItChanges() throws Exception {
        FakeCa ca = ca(FakeCa.builder());
        CaClient client = client(ca, Duration.ofSeconds(10));
        assertThat(failureOf(client.fetchEntries(0)).getMessage()).contains("UNAUTHENTICATED");
        assertThat(client.hasClientIdentity()).isFalse();

        NodeSvid first = attest(ca, client);
        client.useClientIdentity(first.privateKey(), first.chain());
        client.fetchEntries(0).get(15, TimeUnit.SECONDS);
        assertThat(ca.clientLeaves("FetchEntries")).containsExactly(first.leaf());

        NodeSvid second = attest(ca, client);
        client.useClientIdentity(second.privateKey(), second.chain());
        client.fetchEntries(0).get(15, TimeUnit.SECONDS);
        client.fetchEntries(0).get(15, TimeUnit.SECONDS);
        assertThat(ca.clientLeaves("FetchEntries")).containsExactly(first.leaf(), second.leaf(), second.leaf());
        assertThat(client.hasClientIdentity()).isTrue();
    }

    @Test
    void aCallInFlightFinishesOnTheOldChannelWhenTheIdentityChanges() throws Exception {
        FakeCa ca = ca(FakeCa.builder());
        CaClient client = client(ca, Duration.ofSeconds(10));
        NodeSvid first = attest(ca, client);
        NodeSvid second = attest(ca, client);
        client.useClientIdentity(first.privateKey(), first.chain());
        CountDownLatch stalled = new CountDownLatch(1);
        ca.stall(stalled);
        CompletableFuture<?> inFlight = client.fetchEntries(0);
        Await.until("the call reached the CA", () -> ca.calls("FetchEntries") == 1);

        client.useClientIdentity(second.privateKey(), second.chain());
        stalled.countDown();
        ca.stall(null);

        inFlight.get(15, TimeUnit.SECONDS);
        client.fetchEntries(0).get(15, TimeUnit.SECONDS);
        assertThat(ca.clientLeaves("FetchEntries")).containsExactly(first.leaf(), second.leaf());
    }

    private static NodeSvid attest(FakeCa ca, CaClient client) throws Exception {
        Csrs.KeyAndCsr key = Csrs.generate(KeyType.EC_P256);
        AttestNodeResponse response = client.attestNode(JoinToken.of(ca.newJoinToken()), key.csrPem())
                .get(15, TimeUnit.SECONDS);
        return NodeSvid.of(chainOf(response.getCertChainList()), key.keyPair().getPrivate());
    }

    static String text(AgentMetrics metrics) throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        metrics.writeText(out);
        return out.toString(StandardCharsets.UTF_8);
    }
}
