package dev.keel.agent.workloadapi;

import static dev.keel.agent.workloadapi.FakeIdentities.entries;
import static dev.keel.agent.workloadapi.FakeIdentities.entry;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import dev.keel.agent.AgentMetrics;
import dev.keel.agent.attestor.UnixWorkloadAttestor;
import dev.keel.proto.workload.SpiffeWorkloadAPIGrpc;
import dev.keel.proto.workload.X509SVIDRequest;
import dev.keel.testing.TestPki;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.Server;
import io.grpc.ServerInterceptors;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.grpc.inprocess.InProcessServerBuilder;
import io.grpc.stub.MetadataUtils;
import java.time.Clock;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * A transport without peer credentials (in-process: no Unix socket, no SO_PEERCRED) must not get an
 * identity, whatever it sends: PermissionDenied, before any attestor runs.
 */
class CallerInterceptorTest {

    @Test
    void aConnectionWithoutPeerCredentialsIsDenied() throws Exception {
        TestPki pki = TestPki.create();
        FakeIdentities identities = new FakeIdentities(pki);
        identities.publish(entries(entry("e", "spiffe://cluster.local/ns/a/sa/b", "", ServerTestBase.MY_UID)));
        AgentMetrics metrics = new AgentMetrics(Clock.systemUTC());
        ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor();
        Streams streams = new Streams(timer, timer, Clock.systemUTC());
        WorkloadApiService service = new WorkloadApiService(identities,
                new CallerAttestation(List.of(UnixWorkloadAttestor.builder().build()), null, identities, metrics),
                metrics, streams);
        String name = InProcessServerBuilder.generateName();
        Server server = InProcessServerBuilder.forName(name)
                .addService(ServerInterceptors.intercept(service, new CallerInterceptor())).build().start();
        ManagedChannel channel = InProcessChannelBuilder.forName(name).build();
        try {
            Metadata headers = new Metadata();
            headers.put(CallerInterceptor.SECURITY_HEADER, "true");
            SpiffeWorkloadAPIGrpc.SpiffeWorkloadAPIBlockingStub stub = SpiffeWorkloadAPIGrpc.newBlockingStub(channel)
                    .withInterceptors(MetadataUtils.newAttachHeadersInterceptor(headers));

            StatusRuntimeException e = catchThrowableOfType(StatusRuntimeException.class,
                    () -> stub.fetchX509SVID(X509SVIDRequest.getDefaultInstance()).next());

            assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.PERMISSION_DENIED);
            assertThat(e.getStatus().getDescription()).isEqualTo(CallerInterceptor.NO_PEER_CREDENTIALS);
            assertThat(identities.subscribers()).isZero();
        } finally {
            channel.shutdownNow();
            server.shutdownNow();
            server.awaitTermination(5, TimeUnit.SECONDS);
            timer.shutdownNow();
        }
    }
}
