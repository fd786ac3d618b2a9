package dev.keel.agent.workloadapi;

import static dev.keel.agent.workloadapi.FakeIdentities.entries;
import static dev.keel.agent.workloadapi.FakeIdentities.entry;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatIllegalArgumentException;
import static org.assertj.core.api.Assertions.assertThatIllegalStateException;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import com.google.protobuf.Value;
import com.sun.security.auth.module.UnixSystem;
import dev.keel.agent.AttestationException;
import dev.keel.agent.KubernetesPod;
import dev.keel.agent.RegistrationEntry;
import dev.keel.agent.Selector;
import dev.keel.agent.WorkloadAttestor;
import dev.keel.agent.WorkloadIdentityException;
import dev.keel.agent.WorkloadProcess;
import dev.keel.agent.WorkloadSvid;
import dev.keel.agent.attestor.UnixWorkloadAttestor;
import dev.keel.identity.Bundle;
import dev.keel.identity.BundleJson;
import dev.keel.identity.TrustDomain;
import dev.keel.proto.workload.JWTBundlesRequest;
import dev.keel.proto.workload.JWTBundlesResponse;
import dev.keel.proto.workload.JWTSVIDRequest;
import dev.keel.proto.workload.JWTSVIDResponse;
import dev.keel.proto.workload.SpiffeWorkloadAPIGrpc;
import dev.keel.proto.workload.ValidateJWTSVIDRequest;
import dev.keel.proto.workload.ValidateJWTSVIDResponse;
import dev.keel.proto.workload.X509BundlesRequest;
import dev.keel.proto.workload.X509BundlesResponse;
import dev.keel.proto.workload.X509SVIDRequest;
import dev.keel.proto.workload.X509SVIDResponse;
import io.grpc.Context;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;
import org.junit.jupiter.api.Test;

/** The server over its real socket with a plain gRPC client: status codes, streams, lifecycle. */
class WorkloadApiServerTest extends ServerTestBase {

    private final RegistrationEntry web = entry("e-web", "spiffe://cluster.local/ns/shop/sa/web", "", MY_UID);

    @Test
    void aRequestWithoutTheSecurityHeaderIsInvalid() throws Exception {
        identities.publish(entries(web), identities.svid(web));
        try (RawClient client = new RawClient(socket)) {
            for (String header : new String[] {null, "false", "TRUE"}) {
                SpiffeWorkloadAPIGrpc.SpiffeWorkloadAPIBlockingStub stub = client.blocking(header);
                assertStatus(() -> stub.fetchX509SVID(X509SVIDRequest.getDefaultInstance()).next(),
                        Status.Code.INVALID_ARGUMENT, CallerInterceptor.MISSING_HEADER);
                assertStatus(() -> stub.fetchX509Bundles(X509BundlesRequest.getDefaultInstance()).next(),
                        Status.Code.INVALID_ARGUMENT, CallerInterceptor.MISSING_HEADER);
                assertStatus(() -> stub.fetchJWTBundles(JWTBundlesRequest.getDefaultInstance()).next(),
                        Status.Code.INVALID_ARGUMENT, CallerInterceptor.MISSING_HEADER);
                assertStatus(() -> stub.fetchJWTSVID(JWTSVIDRequest.newBuilder().addAudience("db").build()),
                        Status.Code.INVALID_ARGUMENT, CallerInterceptor.MISSING_HEADER);
                assertStatus(() -> stub.validateJWTSVID(ValidateJWTSVIDRequest.newBuilder().setAudience("db")
                        .setSvid("a.b.c").build()), Status.Code.INVALID_ARGUMENT, CallerInterceptor.MISSING_HEADER);
            }
        }
        assertThat(identities.jwtAudiences).isEmpty();
    }

    @Test
    void aCallerMatchingNoEntryIsDeniedOnEveryProfile() throws Exception {
        RegistrationEntry other = entry("e-other", "spiffe://cluster.local/ns/shop/sa/db", "", OTHER_UID);
        identities.publish(entries(other), identities.svid(other));
        try (RawClient client = new RawClient(socket)) {
            SpiffeWorkloadAPIGrpc.SpiffeWorkloadAPIBlockingStub stub = client.blocking();
            assertStatus(() -> stub.fetchX509SVID(X509SVIDRequest.getDefaultInstance()).next(),
                    Status.Code.PERMISSION_DENIED, "no identity issued");
            assertStatus(() -> stub.fetchX509Bundles(X509BundlesRequest.getDefaultInstance()).next(),
                    Status.Code.PERMISSION_DENIED, "no identity issued");
            assertStatus(() -> stub.fetchJWTBundles(JWTBundlesRequest.getDefaultInstance()).next(),
                    Status.Code.PERMISSION_DENIED, "no identity issued");
            assertStatus(() -> stub.fetchJWTSVID(JWTSVIDRequest.newBuilder().addAudience("db").build()),
                    Status.Code.PERMISSION_DENIED, "no identity issued");
        }
        assertThat(identities.jwtAudiences).isEmpty();
    }

    @Test
    void theCallerIsAttestedFromItsOwnPeerCredentials() throws Exception {
        AtomicReference<WorkloadProcess> seen = new AtomicReference<>();
        restart(List.of(recording(seen::set)), null);
        identities.publish(entries(entry("e", "spiffe://cluster.local/ns/a/sa/b", "", "test:any")));
        try (RawClient client = new RawClient(socket)) {
            client.blocking().fetchJWTSVID(JWTSVIDRequest.newBuilder().addAudience("db").build());
        }
        assertThat(seen.get().pid()).isEqualTo(ProcessHandle.current().pid());
        assertThat(seen.get().uid()).isEqualTo((int) UID);
        assertThat(seen.get().gid()).isEqualTo((int) new UnixSystem().getGid());
    }

    @Test
    void anAttestorFailureFailsClosedAndIsCounted() throws Exception {
        WorkloadAttestor failing = new WorkloadAttestor() {
            @Override
            public String type() {
                return "flaky";
            }

            @Override
            public Set<Selector> attest(WorkloadProcess process) throws AttestationException {
                throw new AttestationException("kubelet unreachable");
            }
        };
        restart(List.of(UnixWorkloadAttestor.builder().build(), failing), null);
        identities.publish(entries(web), identities.svid(web));
        try (RawClient client = new RawClient(socket)) {
            assertStatus(() -> client.blocking().fetchX509SVID(X509SVIDRequest.getDefaultInstance()).next(),
                    Status.Code.UNAVAILABLE, "workload attestation failed (flaky attestor): kubelet unreachable");
            assertStatus(() -> client.blocking().validateJWTSVID(ValidateJWTSVIDRequest.newBuilder()
                    .setAudience("db").setSvid("a.b.c").build()), Status.Code.UNAVAILABLE, "flaky attestor");
        }
        assertThat(metricsText()).contains("keel_agent_workload_attestation_failures_total{attestor=\"flaky\"} 2.0");
    }

    @Test
    void theStreamSendsTheValidSvidsOnlyNeverAnExpiredOne() throws Exception {
        RegistrationEntry api = entry("e-api", "spiffe://cluster.local/ns/shop/sa/api", "", MY_UID);
        WorkloadSvid expired = FakeIdentities.svid(web, pki.leaf(web.spiffeId()).expired().issue());
        WorkloadSvid valid = identities.svid(api);
        identities.publish(entries(web, api), expired, valid);
        try (RawClient client = new RawClient(socket)) {
            X509SVIDResponse response = client.blocking().fetchX509SVID(X509SVIDRequest.getDefaultInstance()).next();

            assertThat(response.getSvidsList()).extracting(svid -> svid.getSpiffeId())
                    .containsExactly("spiffe://cluster.local/ns/shop/sa/api");
            assertThat(certificates(response.getSvids(0).getX509Svid().toByteArray())).containsExactlyElementsOf(valid.chain());
            assertThat(certificates(response.getSvids(0).getBundle().toByteArray())).containsExactly(pki.root());
        }
    }

    @Test
    void aStreamWaitsForItsFirstSvidAndSkipsExpiredOnes() throws Exception {
        // A cold agent: the entry is there, its SVID not yet; then only an expired one.
        identities.publish(entries(web));
        try (RawClient client = new RawClient(socket)) {
            RawClient.Recorder<X509SVIDResponse> stream = new RawClient.Recorder<>();
            client.async().fetchX509SVID(X509SVIDRequest.getDefaultInstance(), stream);
            await("stream open", () -> server.openStreams() == 1);

            identities.publish(entries(web), FakeIdentities.svid(web, pki.leaf(web.spiffeId()).expired().issue()));
            WorkloadSvid fresh = identities.svid(web);
            identities.publish(entries(web), fresh);

            // The first message is the fresh SVID: neither the empty state nor the expired SVID was ever sent.
            X509SVIDResponse first = stream.nextResponse();
            assertThat(certificates(first.getSvids(0).getX509Svid().toByteArray()).get(0)).isEqualTo(fresh.leaf());
        }
    }

    @Test
    void aStreamSendsAnUpdateOnlyWhenSomethingChanged() throws Exception {
        WorkloadSvid svid = identities.svid(web);
        identities.publish(entries(web), svid);
        try (RawClient client = new RawClient(socket)) {
            RawClient.Recorder<X509SVIDResponse> stream = new RawClient.Recorder<>();
            client.async().fetchX509SVID(X509SVIDRequest.getDefaultInstance(), stream);
            stream.nextResponse();

            RegistrationEntry unrelated = entry("e-x", "spiffe://cluster.local/ns/x/sa/x", "", OTHER_UID);
            identities.publish(entries(web, unrelated), svid, identities.svid(unrelated));
            WorkloadSvid rotated = identities.svid(web);
            identities.publish(entries(web, unrelated), rotated);

            X509SVIDResponse next = stream.nextResponse();
            assertThat(certificates(next.getSvids(0).getX509Svid().toByteArray()).get(0)).isEqualTo(rotated.leaf());
        }
    }

    @Test
    void aDeletedEntryEndsTheStreamWithPermissionDenied() throws Exception {
        identities.publish(entries(web), identities.svid(web));
        try (RawClient client = new RawClient(socket)) {
            RawClient.Recorder<X509SVIDResponse> svids = new RawClient.Recorder<>();
            RawClient.Recorder<JWTBundlesResponse> bundles = new RawClient.Recorder<>();
            client.async().fetchX509SVID(X509SVIDRequest.getDefaultInstance(), svids);
            client.async().fetchJWTBundles(JWTBundlesRequest.getDefaultInstance(), bundles);
            svids.nextResponse();
            bundles.nextResponse();

            identities.publish(entries());

            StatusRuntimeException error = svids.nextError();
            assertThat(error.getStatus().getCode()).isEqualTo(Status.Code.PERMISSION_DENIED);
            assertThat(error.getStatus().getDescription()).isEqualTo(WorkloadApiService.NO_LONGER_ENTITLED);
            assertThat(bundles.nextError().getStatus().getCode()).isEqualTo(Status.Code.PERMISSION_DENIED);
        }
        await("subscriptions released", () -> identities.subscribers() == 0);
    }

    @Test
    void aCancelledStreamReleasesItsSubscription() throws Exception {
        identities.publish(entries(web), identities.svid(web));
        try (RawClient client = new RawClient(socket)) {
            Context.CancellableContext context = Context.current().withCancellation();
            RawClient.Recorder<X509SVIDResponse> stream = new RawClient.Recorder<>();
            context.run(() -> client.async().fetchX509SVID(X509SVIDRequest.getDefaultInstance(), stream));
            stream.nextResponse();
            assertThat(identities.subscribers()).isEqualTo(1);

            context.cancel(null);

            await("subscription released", () -> identities.subscribers() == 0 && server.openStreams() == 0);
        }
    }

    @Test
    void closingTheServerEndsOpenStreamsWithUnavailable() throws Exception {
        identities.publish(entries(web), identities.svid(web));
        try (RawClient client = new RawClient(socket)) {
            RawClient.Recorder<X509SVIDResponse> svids = new RawClient.Recorder<>();
            RawClient.Recorder<X509BundlesResponse> bundles = new RawClient.Recorder<>();
            client.async().fetchX509SVID(X509SVIDRequest.getDefaultInstance(), svids);
            client.async().fetchX509Bundles(X509BundlesRequest.getDefaultInstance(), bundles);
            svids.nextResponse();
            bundles.nextResponse();

            server.close();

            for (StatusRuntimeException error : List.of(svids.nextError(), bundles.nextError())) {
                assertThat(error.getStatus().getCode()).isEqualTo(Status.Code.UNAVAILABLE);
                assertThat(error.getStatus().getDescription()).isEqualTo(Streams.SHUTTING_DOWN);
            }
        }
        assertThat(identities.subscribers()).isZero();
        assertThat(Files.exists(socket)).isFalse();
    }

    @Test
    void aThousandConcurrentStreamsAllFollowUpdates() throws Exception {
        identities.publish(entries(web), identities.svid(web));
        int connections = 20;
        int streamsPerConnection = 50;
        List<RawClient> clients = new ArrayList<>();
        List<RawClient.Recorder<X509SVIDResponse>> streams = new ArrayList<>();
        try {
            for (int c = 0; c < connections; c++) {
                RawClient client = new RawClient(socket);
                clients.add(client);
                for (int s = 0; s < streamsPerConnection; s++) {
                    RawClient.Recorder<X509SVIDResponse> stream = new RawClient.Recorder<>();
                    client.async().fetchX509SVID(X509SVIDRequest.getDefaultInstance(), stream);
                    streams.add(stream);
                }
            }
            for (RawClient.Recorder<X509SVIDResponse> stream : streams) {
                stream.nextResponse();
            }
            WorkloadSvid rotated = identities.svid(web);
            identities.publish(entries(web), rotated);
            for (RawClient.Recorder<X509SVIDResponse> stream : streams) {
                assertThat(certificates(stream.nextResponse().getSvids(0).getX509Svid().toByteArray()).get(0))
                        .isEqualTo(rotated.leaf());
            }
            assertThat(server.openStreams()).isEqualTo(connections * streamsPerConnection);
            assertThat(metricsText()).contains("keel_agent_svids_served_total{type=\"x509_svid\"} 2000.0");
        } finally {
            for (RawClient client : clients) {
                client.close();
            }
        }
        await("all streams closed", () -> server.openStreams() == 0 && identities.subscribers() == 0);
    }

    @Test
    void fetchJwtSvidChecksItsRequest() throws Exception {
        RegistrationEntry api = entry("e-api", "spiffe://cluster.local/ns/shop/sa/api", "", MY_UID);
        identities.publish(entries(web, api));
        try (RawClient client = new RawClient(socket)) {
            SpiffeWorkloadAPIGrpc.SpiffeWorkloadAPIBlockingStub stub = client.blocking();
            assertStatus(() -> stub.fetchJWTSVID(JWTSVIDRequest.getDefaultInstance()), Status.Code.INVALID_ARGUMENT,
                    "audience must be specified");
            assertStatus(() -> stub.fetchJWTSVID(JWTSVIDRequest.newBuilder().addAudience("").build()),
                    Status.Code.INVALID_ARGUMENT, "audience: a value is empty");
            assertStatus(() -> stub.fetchJWTSVID(JWTSVIDRequest.newBuilder().addAudience("db").setSpiffeId("web").build()),
                    Status.Code.INVALID_ARGUMENT, "spiffe_id: SPIFFE ID: \"web\" does not start with \"spiffe://\"");
            assertStatus(() -> stub.fetchJWTSVID(JWTSVIDRequest.newBuilder().addAudience("db")
                            .setSpiffeId("spiffe://cluster.local/ns/shop/sa/db").build()),
                    Status.Code.PERMISSION_DENIED, "no identity issued for spiffe://cluster.local/ns/shop/sa/db");

            JWTSVIDResponse all = stub.fetchJWTSVID(JWTSVIDRequest.newBuilder().addAudience("db").addAudience("db").build());
            assertThat(all.getSvidsList()).extracting(svid -> svid.getSpiffeId())
                    .containsExactly("spiffe://cluster.local/ns/shop/sa/web", "spiffe://cluster.local/ns/shop/sa/api");
            assertThat(identities.jwtAudiences).containsOnly(List.of("db"));
            JWTSVIDResponse one = stub.fetchJWTSVID(JWTSVIDRequest.newBuilder().addAudience("db")
                    .setSpiffeId("spiffe://cluster.local/ns/shop/sa/api").build());
            assertThat(one.getSvidsList()).extracting(svid -> svid.getSpiffeId())
                    .containsExactly("spiffe://cluster.local/ns/shop/sa/api");

            identities.jwtFailure = new WorkloadIdentityException("CA unreachable", true, null);
            assertStatus(() -> stub.fetchJWTSVID(JWTSVIDRequest.newBuilder().addAudience("db").build()),
                    Status.Code.UNAVAILABLE, "could not get a JWT-SVID for spiffe://cluster.local/ns/shop/sa/web: CA unreachable");
            identities.jwtFailure = new WorkloadIdentityException("entry not bound to this node", false, null);
            assertStatus(() -> stub.fetchJWTSVID(JWTSVIDRequest.newBuilder().addAudience("db").build()),
                    Status.Code.PERMISSION_DENIED, "entry not bound to this node");
        }
    }

    @Test
    void validateJwtSvidChecksTheTokenAndReturnsItsClaims() throws Exception {
        identities.publish(entries(web), identities.svid(web));
        String token = identities.fetchJwtSvid(web, List.of("db")).join().token();
        try (RawClient client = new RawClient(socket)) {
            SpiffeWorkloadAPIGrpc.SpiffeWorkloadAPIBlockingStub stub = client.blocking();
            assertStatus(() -> stub.validateJWTSVID(ValidateJWTSVIDRequest.newBuilder().setSvid(token).build()),
                    Status.Code.INVALID_ARGUMENT, "audience must be specified");
            assertStatus(() -> stub.validateJWTSVID(ValidateJWTSVIDRequest.newBuilder().setAudience("db").build()),
                    Status.Code.INVALID_ARGUMENT, "svid must be specified");
            String tampered = token.substring(0, token.length() - 3) + (token.endsWith("AAA") ? "BBB" : "AAA");
            assertStatus(() -> stub.validateJWTSVID(ValidateJWTSVIDRequest.newBuilder().setAudience("db")
                    .setSvid(tampered).build()), Status.Code.INVALID_ARGUMENT, "JWT-SVID rejected [SIGNATURE]");

            ValidateJWTSVIDResponse response = stub.validateJWTSVID(ValidateJWTSVIDRequest.newBuilder()
                    .setAudience("db").setSvid(token).build());

            assertThat(response.getSpiffeId()).isEqualTo("spiffe://cluster.local/ns/shop/sa/web");
            Map<String, Value> claims = response.getClaims().getFieldsMap();
            assertThat(claims.get("sub").getStringValue()).isEqualTo("spiffe://cluster.local/ns/shop/sa/web");
            assertThat(claims.get("aud").getListValue().getValues(0).getStringValue()).isEqualTo("db");
            assertThat(claims.get("exp").getNumberValue()).isPositive();
            assertThat(claims).containsKeys("iat", "jti");
        }
    }

    @Test
    void jwtBundlesHoldTheJwtAuthoritiesOnly() throws Exception {
        identities.publish(entries(web), identities.svid(web));
        try (RawClient client = new RawClient(socket)) {
            JWTBundlesResponse response = client.blocking().fetchJWTBundles(JWTBundlesRequest.getDefaultInstance()).next();

            assertThat(response.getBundlesMap()).containsOnlyKeys("spiffe://cluster.local");
            String jwks = response.getBundlesMap().get("spiffe://cluster.local").toStringUtf8();
            assertThat(jwks).contains("\"use\":\"jwt-svid\"", "\"kid\":\"" + FakeIdentities.JWT_KID + "\"",
                    "\"kty\":\"EC\"", "\"crv\":\"P-256\"").doesNotContain("x509-svid", "x5c");
            Bundle parsed = BundleJson.parse(TrustDomain.CLUSTER_LOCAL, jwks);
            assertThat(parsed.jwtAuthorities()).isEqualTo(identities.bundle().jwtAuthorities());
            assertThat(parsed.x509Authorities()).isEmpty();
        }
    }

    @Test
    void duplicateHintsAreLeftOut() throws Exception {
        RegistrationEntry first = entry("e-1", "spiffe://cluster.local/ns/a/sa/one", "internal", MY_UID);
        RegistrationEntry second = entry("e-2", "spiffe://cluster.local/ns/a/sa/two", "internal", MY_UID);
        RegistrationEntry third = entry("e-3", "spiffe://cluster.local/ns/a/sa/three", "", MY_UID);
        identities.publish(entries(first, second, third), identities.svid(first), identities.svid(second),
                identities.svid(third));
        try (RawClient client = new RawClient(socket)) {
            X509SVIDResponse response = client.blocking().fetchX509SVID(X509SVIDRequest.getDefaultInstance()).next();

            assertThat(response.getSvidsList()).extracting(svid -> svid.getSpiffeId()).containsExactly(
                    "spiffe://cluster.local/ns/a/sa/one", "spiffe://cluster.local/ns/a/sa/three");
        }
    }

    @Test
    void kubernetesModeAdmitsTheCallersPodAndWaitsForItsSvid() throws Exception {
        KubernetesPod pod = new KubernetesPod("shop", "web-7d9f", "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0", "web");
        restart(List.of(), process -> Optional.of(pod));
        identities.publish(entries());
        RegistrationEntry podEntry = FakeIdentities.podEntry(pod);
        try (RawClient client = new RawClient(socket)) {
            RawClient.Recorder<X509SVIDResponse> stream = new RawClient.Recorder<>();
            client.async().fetchX509SVID(X509SVIDRequest.getDefaultInstance(), stream);
            await("stream open", () -> server.openStreams() == 1);
            assertThat(identities.admitted).isNotEmpty().containsOnly(pod);
            int admissions = identities.admitted.size();

            WorkloadSvid svid = identities.svid(podEntry);
            identities.publish(entries(podEntry), svid);

            X509SVIDResponse response = stream.nextResponse();
            assertThat(response.getSvids(0).getSpiffeId()).isEqualTo("spiffe://cluster.local/ns/shop/sa/web");
            // The open stream renews its pod's admission, so the agent does not forget a pod that streams.
            assertThat(identities.admitted).hasSizeGreaterThan(admissions).containsOnly(pod);

            // Once the agent has shown the pod's entry, deleting it ends the stream.
            identities.publish(entries());
            assertThat(stream.nextError().getStatus().getCode()).isEqualTo(Status.Code.PERMISSION_DENIED);
        }
    }

    @Test
    void theSocketIsOpenToEveryLocalUserAndReplacesAStaleOne() throws Exception {
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(socket))).isEqualTo("rwxrwxrwx");
        server.close();
        // A socket file left behind by a process that died: nobody listens on it.
        try (ServerSocketChannel stale = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
            stale.bind(UnixDomainSocketAddress.of(socket));
        }
        assertThat(Files.exists(socket)).isTrue();

        server = start(List.of(UnixWorkloadAttestor.builder().build()), null);

        identities.publish(entries(web), identities.svid(web));
        try (RawClient client = new RawClient(socket)) {
            assertThat(client.blocking().fetchX509SVID(X509SVIDRequest.getDefaultInstance()).next().getSvidsCount())
                    .isEqualTo(1);
        }
    }

    @Test
    void startRefusesALiveSocketAndAnythingThatIsNotASocket() throws Exception {
        WorkloadApiServer second = WorkloadApiServer.builder().socketPath(socket).identities(identities)
                .attestors(List.of(UnixWorkloadAttestor.builder().build())).metrics(metrics).build();
        assertThatThrownBy(second::start)
                .isInstanceOf(IOException.class).hasMessageContaining("another process is listening on " + socket);
        second.close();
        assertThat(Files.exists(socket)).as("the live server's socket is left alone").isTrue();

        Path file = dir.resolve("not-a-socket");
        Files.writeString(file, "precious");
        WorkloadApiServer onFile = WorkloadApiServer.builder().socketPath(file).identities(identities)
                .attestors(List.of(UnixWorkloadAttestor.builder().build())).metrics(metrics).build();
        assertThatThrownBy(onFile::start).isInstanceOf(IOException.class).hasMessageContaining("is not a socket");
        assertThat(Files.readString(file)).isEqualTo("precious");
    }

    @Test
    void theSocketDirectoryIsCreated() throws Exception {
        Path nested = dir.resolve("run/keel/agent.sock");
        WorkloadApiServer other = WorkloadApiServer.builder().socketPath(nested).identities(identities)
                .attestors(List.of(UnixWorkloadAttestor.builder().build())).metrics(metrics).build();
        other.start();
        try {
            assertThat(Files.exists(nested)).isTrue();
            assertThat(other.endpointAddress()).isEqualTo("unix://" + nested);
        } finally {
            other.close();
        }
        assertThat(Files.exists(nested)).isFalse();
    }

    @Test
    void theBuilderChecksItsArguments() {
        assertThatIllegalArgumentException().isThrownBy(() -> WorkloadApiServer.builder()
                .socketPath(Path.of("/tmp/" + "x".repeat(120))))
                .withMessageContaining("(expected: <= 107, the Unix socket address limit)");
        assertThatIllegalStateException().isThrownBy(() -> WorkloadApiServer.builder().build())
                .withMessage("socketPath: not set (required)");
        assertThatIllegalStateException().isThrownBy(() -> WorkloadApiServer.builder().socketPath(socket)
                .identities(identities).attestors(List.of()).metrics(metrics).build())
                .withMessageContaining("attestors: empty without a podResolver");
        assertThatIllegalStateException().isThrownBy(() -> WorkloadApiServer.builder().socketPath(socket)
                .identities(identities).attestors(List.of(UnixWorkloadAttestor.builder().build())).build())
                .withMessage("metrics: not set (required)");
    }

    private static WorkloadAttestor recording(Consumer<WorkloadProcess> sink) {
        return new WorkloadAttestor() {
            @Override
            public String type() {
                return "test";
            }

            @Override
            public Set<Selector> attest(WorkloadProcess process) {
                sink.accept(process);
                return Set.of(Selector.parse("test:any"));
            }
        };
    }

    private static List<X509Certificate> certificates(byte[] der) throws Exception {
        List<X509Certificate> out = new ArrayList<>();
        for (Object certificate : CertificateFactory.getInstance("X.509")
                .generateCertificates(new ByteArrayInputStream(der))) {
            out.add((X509Certificate) certificate);
        }
        return out;
    }

    private static void assertStatus(Runnable call, Status.Code code, String description) {
        StatusRuntimeException e = catchThrowableOfType(StatusRuntimeException.class, call::run);
        assertThat(e).as("expected %s", code).isNotNull();
        assertThat(e.getStatus().getCode()).as(String.valueOf(e.getStatus())).isEqualTo(code);
        assertThat(e.getStatus().getDescription()).contains(description);
    }
}
