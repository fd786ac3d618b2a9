package dev.keel.ca;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.keel.ca.auth.Caller;
import dev.keel.ca.auth.CallerAuthenticator;
import dev.keel.ca.auth.CallerCredentials;
import dev.keel.ca.node.EntrySpec;
import dev.keel.ca.node.PodReference;
import dev.keel.ca.node.RegistrationEntry;
import dev.keel.identity.KeyType;
import dev.keel.identity.TrustDomain;
import dev.keel.testing.TestCsr;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The node service without the network: the cases the end-to-end test cannot reach through one
 * server (no pod verifier configured, a non-X.509 caller claiming a node ID) and the audit trail.
 */
class NodeServiceTest {

    static final TrustDomain TD = TrustDomain.CLUSTER_LOCAL;
    static final String WEB = "spiffe://cluster.local/ns/shop/sa/web";

    /** A token authenticator that maps a token straight to a node ID: misconfigured, or malicious. */
    static final CallerAuthenticator NODE_BY_TOKEN = credentials -> credentials.bearerToken()
            .map(token -> new Caller(TD.node("node-a"), "jwt", "token"));

    @TempDir
    Path dir;

    CitadelCa ca;

    @BeforeEach
    void start() throws Exception {
        CaDirectory.LoadedCa loaded = CaDirectory.initSelfSigned(dir.resolve("ca"), TD, KeyType.EC_P256, Clock.systemUTC());
        ca = CitadelCa.open(loaded, IssuancePolicy.DEFAULT, List.of(NODE_BY_TOKEN), Clock.systemUTC());
    }

    @AfterEach
    void stop() {
        ca.close();
    }

    private CallerCredentials attest(String node) throws Exception {
        String token = ca.joinTokens().create(node, Duration.ofMinutes(5)).token();
        IssuedX509Svid svid = ca.nodeService().attestNode(token, TestCsr.builder().build().pem(), 0).join();
        assertThat(svid.spiffeId()).isEqualTo(TD.node(node));
        return new CallerCredentials(null, svid.chain());
    }

    private static CaException failure(CompletableFuture<?> future) {
        assertThatThrownBy(future::join).isInstanceOf(CompletionException.class);
        return CaService.unwrap(future.handle((ok, e) -> e).join());
    }

    private List<String> auditLines() throws Exception {
        return Files.readAllLines(ca.loaded().auditLog(), StandardCharsets.UTF_8);
    }

    @Test
    void kubernetesModeWithoutAPodVerifierIsAFailedPreconditionAndAudited() throws Exception {
        CallerCredentials node = attest("node-a");
        CaException e = failure(ca.nodeService().signWorkloadSvid(node, new WorkloadSvidRequest(WEB, "",
                new PodReference("shop", "web-1", "8f0c"), TestCsr.builder().build().pem(), 0)));
        assertThat(e.code()).isEqualTo(CaException.Code.FAILED_PRECONDITION);
        assertThat(e.getMessage()).contains("--kubernetes-pods");
        assertThat(auditLines()).last().asString().contains("\"outcome\":\"refused\"", "FAILED_PRECONDITION",
                "node:spiffe://cluster.local/keel/node/node-a pod:shop/web-1");
    }

    @Test
    void aNodeIdProvenByAnythingButAnX509SvidIsNotANode() throws Exception {
        RegistrationEntry entry = ca.entries().create(EntrySpec.of(WEB, "*", List.of("unix:uid:1")));
        CallerCredentials token = new CallerCredentials("anything", List.of());
        assertThat(failure(ca.nodeService().fetchEntries(token, 0)).code()).isEqualTo(CaException.Code.PERMISSION_DENIED);
        CaException e = failure(ca.nodeService().signWorkloadSvid(token,
                new WorkloadSvidRequest(WEB, entry.id(), null, TestCsr.builder().build().pem(), 0)));
        assertThat(e.code()).isEqualTo(CaException.Code.PERMISSION_DENIED);
        assertThat(e.getMessage()).contains("is not a node agent");
        assertThat(failure(ca.nodeService().mintWorkloadJwtSvid(token,
                new WorkloadJwtRequest(WEB, entry.id(), null, List.of("a"), 0))).code())
                .isEqualTo(CaException.Code.PERMISSION_DENIED);
    }

    @Test
    void fetchEntriesAnswersNotModifiedAndIsNotAuditedWhenItSucceeds() throws Exception {
        CallerCredentials node = attest("node-a");
        int before = auditLines().size();
        NodeEntries empty = ca.nodeService().fetchEntries(node, 0).join();
        assertThat(empty.notModified()).isTrue();
        RegistrationEntry entry = ca.entries().create(EntrySpec.of(WEB, TD.node("node-a").toString(), List.of("unix:uid:1")));
        NodeEntries one = ca.nodeService().fetchEntries(node, 0).join();
        assertThat(one.notModified()).isFalse();
        assertThat(one.revision()).isEqualTo(1);
        assertThat(one.entries()).containsExactly(entry);
        assertThat(ca.nodeService().fetchEntries(node, 1).join().notModified()).isTrue();
        assertThat(auditLines()).hasSize(before);
    }

    @Test
    void workloadIssuanceIsAuditedWithTheNodeAndTheEntry() throws Exception {
        CallerCredentials node = attest("node-a");
        RegistrationEntry entry = ca.entries().create(new EntrySpec(WEB, "*", List.of("unix:uid:1"), Duration.ofHours(2),
                Duration.ofMinutes(1), ""));
        IssuedX509Svid svid = ca.nodeService().signWorkloadSvid(node,
                new WorkloadSvidRequest(WEB, entry.id(), null, TestCsr.builder().build().pem(), 0)).join();
        assertThat(Duration.between(svid.leaf().getNotBefore().toInstant(), svid.notAfter()))
                .isLessThanOrEqualTo(Duration.ofHours(2).plus(IssuancePolicy.DEFAULT.backdate()))
                .isGreaterThan(Duration.ofMinutes(119));
        MintedJwtSvid jwt = ca.nodeService().mintWorkloadJwtSvid(node,
                new WorkloadJwtRequest(WEB, entry.id(), null, List.of("orders"), 3600)).join();
        assertThat(jwt.spiffeId()).hasToString(WEB);

        List<String> lines = auditLines();
        String via = "\"caller\":\"node:spiffe://cluster.local/keel/node/node-a entry:" + entry.id() + "\"";
        assertThat(lines.get(lines.size() - 2)).contains(via, "\"outcome\":\"issued\"", "\"spiffe_id\":\"" + WEB + "\"",
                svid.serial().toString(16));
        assertThat(lines.get(lines.size() - 1)).contains(via, "\"serial\":\"jwt:" + jwt.jwtId() + "\"");
    }

    @Test
    void unauthenticatedNodeCallsAreRefusedAndAudited() throws Exception {
        CaException e = failure(ca.nodeService().fetchEntries(CallerCredentials.none(), 0));
        assertThat(e.code()).isEqualTo(CaException.Code.UNAUTHENTICATED);
        assertThat(auditLines()).last().asString().contains("\"caller\":\"unauthenticated\"", "UNAUTHENTICATED");
        assertThat(Optional.ofNullable(e.getMessage())).isPresent();
    }
}
