package dev.keel.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.keel.ca.CaDirectory;
import dev.keel.ca.CitadelCa;
import dev.keel.ca.IssuancePolicy;
import dev.keel.ca.KeyResolver;
import dev.keel.ca.server.CaServer;
import dev.keel.identity.Pem;
import dev.keel.proto.ca.v1.AttestNodeRequest;
import dev.keel.proto.ca.v1.AttestNodeResponse;
import dev.keel.proto.ca.v1.FetchEntriesRequest;
import dev.keel.proto.ca.v1.FetchEntriesResponse;
import dev.keel.proto.ca.v1.KeelCertificateAuthorityGrpc;
import dev.keel.proto.ca.v1.SignWorkloadSVIDRequest;
import dev.keel.testing.TestCsr;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.GrpcSslContexts;
import io.grpc.netty.NettyChannelBuilder;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslProvider;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The operator's commands against a running CA: a token from {@code keel ca token create} attests a
 * node, and entries created and deleted with {@code keel ca entry} reach the node without a restart.
 */
class KeelCaNodeAttestationTest extends ConsoleTest {

    @TempDir
    Path tmp;

    @Test
    void tokensAndEntriesFromTheCliReachARunningCa() throws Exception {
        Path dir = tmp.resolve("ca");
        assertThat(Keel.run("ca", "init", "--data-dir", dir.toString())).isZero();
        CaDirectory.LoadedCa loaded = CaDirectory.load(dir, Clock.systemUTC(), KeyResolver.files(dir));
        X509Certificate root = loaded.signingCa().roots().get(0);
        try (CitadelCa ca = CitadelCa.open(loaded, IssuancePolicy.DEFAULT, List.of(), Clock.systemUTC());
                CaServer server = CaServer.builder(ca).host("127.0.0.1").grpcPort(0).bundlePort(-1).build().start()) {
            out.reset();
            assertThat(Keel.run("ca", "token", "create", "--dir", dir.toString(), "--node", "worker-1")).isZero();
            Matcher token = Pattern.compile("(?m)^token: +(\\S+)$").matcher(stdout());
            assertThat(token.find()).isTrue();

            TestCsr nodeCsr = TestCsr.builder().build();
            ManagedChannel anonymous = channel(server, root, null, null);
            AttestNodeResponse attested;
            try {
                var stub = KeelCertificateAuthorityGrpc.newBlockingStub(anonymous).withDeadlineAfter(20, TimeUnit.SECONDS);
                attested = stub.attestNode(AttestNodeRequest.newBuilder().setJoinToken(token.group(1))
                        .setCsr(nodeCsr.pem()).build());
                assertThatThrownBy(() -> stub.attestNode(AttestNodeRequest.newBuilder().setJoinToken(token.group(1))
                        .setCsr(nodeCsr.pem()).build())).isInstanceOfSatisfying(StatusRuntimeException.class,
                        e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.UNAUTHENTICATED));
            } finally {
                anonymous.shutdownNow();
            }
            List<X509Certificate> chain = new ArrayList<>();
            attested.getCertChainList().forEach(pem -> chain.add(Pem.decodeCertificate(pem)));

            ManagedChannel node = channel(server, root, nodeCsr, chain);
            try {
                var stub = KeelCertificateAuthorityGrpc.newBlockingStub(node).withDeadlineAfter(20, TimeUnit.SECONDS);
                FetchEntriesResponse before = stub.fetchEntries(FetchEntriesRequest.getDefaultInstance());
                assertThat(before.getEntriesList()).isEmpty();

                out.reset();
                assertThat(Keel.run("ca", "entry", "create", "--dir", dir.toString(), "--spiffe-id",
                        "spiffe://cluster.local/ns/shop/sa/web", "--parent-id",
                        "spiffe://cluster.local/keel/node/worker-1", "--selector", "unix:uid:1000")).isZero();
                String id = stdout().strip();
                FetchEntriesResponse after = stub.fetchEntries(FetchEntriesRequest.newBuilder()
                        .setKnownRevision(before.getRevision()).build());
                assertThat(after.getEntriesList()).singleElement().satisfies(e -> assertThat(e.getId()).isEqualTo(id));
                assertThat(stub.signWorkloadSVID(SignWorkloadSVIDRequest.newBuilder()
                        .setSpiffeId("spiffe://cluster.local/ns/shop/sa/web").setEntryId(id)
                        .setCsr(TestCsr.builder().build().pem()).build()).getCertChainCount()).isEqualTo(2);

                assertThat(Keel.run("ca", "entry", "delete", "--dir", dir.toString(), id)).isZero();
                assertThat(stub.fetchEntries(FetchEntriesRequest.newBuilder().setKnownRevision(after.getRevision())
                        .build()).getEntriesList()).isEmpty();
                assertThatThrownBy(() -> stub.signWorkloadSVID(SignWorkloadSVIDRequest.newBuilder()
                        .setSpiffeId("spiffe://cluster.local/ns/shop/sa/web").setEntryId(id)
                        .setCsr(TestCsr.builder().build().pem()).build()))
                        .isInstanceOfSatisfying(StatusRuntimeException.class,
                                e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.PERMISSION_DENIED));
            } finally {
                node.shutdownNow();
            }
        }
    }

    private static ManagedChannel channel(CaServer server, X509Certificate root, TestCsr key, List<X509Certificate> chain)
            throws Exception {
        SslContextBuilder tls = GrpcSslContexts.configure(SslContextBuilder.forClient(), SslProvider.OPENSSL)
                .trustManager(root);
        if (key != null) {
            tls.keyManager(key.keyPair().getPrivate(), chain.toArray(new X509Certificate[0]));
        }
        return NettyChannelBuilder.forAddress("localhost", server.grpcPort()).sslContext(tls.build()).build();
    }
}
