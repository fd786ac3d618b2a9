package dev.keel.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;

import dev.keel.identity.Pem;
import dev.keel.proto.workload.SpiffeWorkloadAPIGrpc;
import dev.keel.proto.workload.X509SVIDRequest;
import dev.keel.proto.workload.X509SVIDResponse;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.NettyChannelBuilder;
import io.netty.channel.epoll.EpollDomainSocketChannel;
import io.netty.channel.epoll.EpollEventLoopGroup;
import io.netty.channel.unix.DomainSocketAddress;
import io.spiffe.svid.jwtsvid.JwtSvid;
import io.spiffe.svid.x509svid.X509Svid;
import io.spiffe.workloadapi.DefaultWorkloadApiClient;
import io.spiffe.workloadapi.Watcher;
import io.spiffe.workloadapi.WorkloadApiClient;
import io.spiffe.workloadapi.X509Context;
import java.io.IOException;
import java.math.BigInteger;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.CertPathValidator;
import java.security.cert.CertificateFactory;
import java.security.cert.PKIXParameters;
import java.security.cert.TrustAnchor;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 4's proof, with every part a real process on loopback: {@code keel ca serve} and
 * {@code keel agent run} as their own JVMs, the operator's {@code keel ca token|entry} commands, and
 * the SPIFFE project's own Java client ({@code java-spiffe-core}) as the workload.
 */
class KeelAgentEndToEndTest extends ConsoleTest {

    private static final String WORKLOAD_ID = "spiffe://cluster.local/ns/demo/sa/app";

    @TempDir
    Path tmp;

    private Path socketDir;
    private Path socket;
    private Path caDir;
    private int caPort;
    private int adminPort;
    private KeelProcess ca;
    private KeelProcess agent;

    @BeforeEach
    void shortSocketPath() throws IOException {
        // A Unix socket path must fit in 108 bytes; @TempDir paths can be longer.
        socketDir = Files.createTempDirectory(Path.of("/tmp"), "keel-e2e-");
        socket = socketDir.resolve("agent.sock");
    }

    @AfterEach
    void stopEverything() throws Exception {
        if (agent != null) {
            agent.close();
        }
        if (ca != null) {
            ca.close();
        }
        try (Stream<Path> files = Files.walk(socketDir)) {
            files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        }
    }

    @Test
    void aWorkloadGetsRotatedSvidsThroughACaOutageAndLosesThemWhenItsEntryIsDeleted() throws Exception {
        caDir = tmp.resolve("ca");
        assertThat(Keel.run("ca", "init", "--data-dir", caDir.toString())).isZero();
        caPort = freePort();
        adminPort = freePort();
        ca = startCa();

        // The operator: a join token for node-1, and an entry binding this process's uid to an identity.
        out.reset();
        assertThat(Keel.run("ca", "token", "create", "--dir", caDir.toString(), "--node", "node-1")).isZero();
        Matcher token = Pattern.compile("(?m)^token: +(\\S+)$").matcher(stdout());
        assertThat(token.find()).as(stdout()).isTrue();
        Path tokenFile = tmp.resolve("join-token");
        Files.writeString(tokenFile, token.group(1));
        out.reset();
        assertThat(Keel.run("ca", "entry", "create", "--dir", caDir.toString(), "--spiffe-id", WORKLOAD_ID,
                "--parent-id", "spiffe://cluster.local/keel/node/node-1", "--selector", "unix:uid:" + ownUid(),
                "--x509-svid-ttl", "12s", "--hint", "e2e")).as(stderr()).isZero();
        String entryId = stdout().strip();
        // An entry for another uid on the same node: this process must never receive it.
        assertThat(Keel.run("ca", "entry", "create", "--dir", caDir.toString(),
                "--spiffe-id", "spiffe://cluster.local/ns/demo/sa/other",
                "--parent-id", "spiffe://cluster.local/keel/node/node-1", "--selector", "unix:uid:4242")).isZero();

        agent = KeelProcess.start("agent", tmp.resolve("logs"), Map.of(), "agent", "run",
                "--ca", "127.0.0.1:" + caPort, "--ca-bundle", caDir.resolve("root-cert.pem").toString(),
                "--data-dir", tmp.resolve("agent").toString(), "--socket", "unix://" + socket,
                "--join-token-file", tokenFile.toString(), "--admin-port", String.valueOf(adminPort),
                "--sync-interval", "1s");
        agent.await("Workload API: unix://", Duration.ofSeconds(60));
        assertThat(Files.getPosixFilePermissions(tmp.resolve("agent").resolve("node-key.pem")))
                .containsExactlyInAnyOrder(java.nio.file.attribute.PosixFilePermission.OWNER_READ,
                        java.nio.file.attribute.PosixFilePermission.OWNER_WRITE);
        assertThat(agent.output()).doesNotContain(token.group(1));

        WorkloadApiClient spiffe = DefaultWorkloadApiClient.newClient(DefaultWorkloadApiClient.ClientOptions.builder()
                .spiffeSocketPath("unix:" + socket).build());
        try {
            // X.509-SVID: only this process's identity, a chain that verifies against the bundle it came with.
            X509Context context = spiffe.fetchX509Context();
            assertThat(context.getX509Svids()).extracting(s -> s.getSpiffeId().toString()).containsExactly(WORKLOAD_ID);
            X509Svid svid = context.getDefaultSvid();
            X509Certificate root = Pem.decodeCertificates(Files.readString(caDir.resolve("root-cert.pem"))).get(0);
            verifyChain(svid.getChain(), root);
            assertThat(context.getX509BundleSet().getBundles()).hasSize(1);

            // JWT-SVID minted by the CA for this workload, validated by the agent against the bundle.
            JwtSvid jwt = spiffe.fetchJwtSvid("orders");
            assertThat(jwt.getSpiffeId().toString()).isEqualTo(WORKLOAD_ID);
            assertThat(spiffe.validateJwtSvid(jwt.getToken(), "orders").getSpiffeId()).isEqualTo(jwt.getSpiffeId());
            assertThat(catchThrowable(() -> spiffe.validateJwtSvid(jwt.getToken(), "payments"))).isNotNull();

            // Rotation: the SVID lives 12 s and is renewed at about half its life; the watcher sees it.
            BlockingQueue<X509Context> updates = new LinkedBlockingQueue<>();
            spiffe.watchX509Context(new Watcher<>() {
                @Override
                public void onUpdate(X509Context update) {
                    updates.add(update);
                }

                @Override
                public void onError(Throwable error) {
                    // the watcher's own retries handle it; the assertions below notice if nothing arrives
                }
            });
            BigInteger firstSerial = svid.getLeaf().getSerialNumber();
            X509Context rotated = null;
            Instant deadline = Instant.now().plusSeconds(30);
            while (rotated == null && Instant.now().isBefore(deadline)) {
                X509Context update = updates.poll(1, TimeUnit.SECONDS);
                if (update != null && !update.getDefaultSvid().getLeaf().getSerialNumber().equals(firstSerial)) {
                    rotated = update;
                }
            }
            assertThat(rotated).as("a rotated SVID on the open stream").isNotNull();
            verifyChain(rotated.getDefaultSvid().getChain(), root);

            // CA outage: SIGKILL. While its SVID is valid the workload keeps getting it; once it expires
            // the agent serves nothing rather than an expired SVID, and reports the CA unreachable.
            ca.kill();
            X509SVIDResponse during = rawFetch(Duration.ofSeconds(5));
            X509Certificate served = leaf(during);
            assertThat(served.getNotAfter().toInstant()).isAfter(Instant.now());
            Instant expiry = served.getNotAfter().toInstant();
            while (Instant.now().isBefore(expiry.plusSeconds(1))) {
                Thread.sleep(250);
            }
            Throwable afterExpiry = catchThrowable(() -> rawFetch(Duration.ofSeconds(2)));
            assertThat(afterExpiry).isInstanceOfSatisfying(StatusRuntimeException.class,
                    e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.DEADLINE_EXCEEDED));
            assertThat(metrics()).contains("keel_agent_ca_reachable 0.0");

            // The CA comes back on the same port and data: the agent recovers without a restart.
            ca = startCa();
            X509SVIDResponse recovered = rawFetch(Duration.ofSeconds(30));
            assertThat(leaf(recovered).getNotAfter().toInstant()).isAfter(Instant.now());
            assertThat(leaf(recovered).getSerialNumber()).isNotEqualTo(served.getSerialNumber());
            assertThat(metrics()).contains("keel_agent_ca_reachable 1.0").contains("keel_agent_svids_served_total");

            // keel svid fetch, as an operator on the node would run it.
            out.reset();
            assertThat(Keel.run("svid", "fetch", "--socket", "unix://" + socket, "--write",
                    tmp.resolve("written").toString())).as(stderr()).isZero();
            assertThat(stdout()).contains("SPIFFE ID:          " + WORKLOAD_ID).contains("Hint:               e2e");
            assertThat(Files.getPosixFilePermissions(tmp.resolve("written").resolve("svid.0.key")))
                    .containsExactlyInAnyOrder(java.nio.file.attribute.PosixFilePermission.OWNER_READ,
                            java.nio.file.attribute.PosixFilePermission.OWNER_WRITE);

            // A client that omits the security header is refused as the spec says.
            assertThat(catchThrowable(this::fetchWithoutSecurityHeader)).isInstanceOfSatisfying(
                    StatusRuntimeException.class,
                    e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT));

            // The operator deletes the entry: the agent learns it on its next sync and the process,
            // whose uid now matches no entry, is refused with PermissionDenied.
            assertThat(Keel.run("ca", "entry", "delete", "--dir", caDir.toString(), entryId)).isZero();
            Status refused = null;
            deadline = Instant.now().plusSeconds(20);
            while (refused == null && Instant.now().isBefore(deadline)) {
                try {
                    rawFetch(Duration.ofSeconds(2));
                    Thread.sleep(200);
                } catch (StatusRuntimeException e) {
                    if (e.getStatus().getCode() == Status.Code.PERMISSION_DENIED) {
                        refused = e.getStatus();
                    }
                }
            }
            assertThat(refused).as("PermissionDenied once the entry is gone; agent:\n%s\nca:\n%s", agent.output(), ca.output()).isNotNull();
            out.reset();
            err.reset();
            assertThat(Keel.run("svid", "fetch", "--socket", "unix://" + socket)).isEqualTo(SvidFetchCommand.NO_IDENTITY);
            assertThat(stderr()).contains("no identity");
        } finally {
            spiffe.close();
        }
        assertThat(agent.stop()).as(agent.output()).isNotEqualTo(-1);
        assertThat(Files.exists(socket)).as("the agent removes its socket on SIGTERM").isFalse();
    }

    private KeelProcess startCa() throws Exception {
        KeelProcess process = KeelProcess.start("ca", tmp.resolve("logs"), Map.of(), "ca", "serve",
                "--data-dir", caDir.toString(), "--host", "127.0.0.1", "--port", String.valueOf(caPort),
                "--bundle-port", "-1");
        process.await("keel CA for .* serving", Duration.ofSeconds(60));
        return process;
    }

    private X509SVIDResponse rawFetch(Duration timeout) {
        try (dev.keel.cli.internal.WorkloadApiClient client = new dev.keel.cli.internal.WorkloadApiClient(socket)) {
            return client.fetchX509(timeout);
        }
    }

    private void fetchWithoutSecurityHeader() {
        EpollEventLoopGroup group = new EpollEventLoopGroup(1);
        ManagedChannel channel = NettyChannelBuilder.forAddress(new DomainSocketAddress(socket.toString()))
                .eventLoopGroup(group).channelType(EpollDomainSocketChannel.class).usePlaintext().build();
        try {
            SpiffeWorkloadAPIGrpc.newBlockingStub(channel).withDeadlineAfter(5, TimeUnit.SECONDS)
                    .fetchX509SVID(X509SVIDRequest.getDefaultInstance()).next();
        } finally {
            channel.shutdownNow();
            group.shutdownGracefully(0, 1, TimeUnit.SECONDS);
        }
    }

    private String metrics() throws Exception {
        HttpResponse<String> response = HttpClient.newHttpClient().send(
                HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + adminPort + "/metrics")).build(),
                HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8));
        assertThat(response.statusCode()).isEqualTo(200);
        return response.body();
    }

    private static X509Certificate leaf(X509SVIDResponse response) throws Exception {
        assertThat(response.getSvidsCount()).isEqualTo(1);
        return (X509Certificate) CertificateFactory.getInstance("X.509").generateCertificates(
                new java.io.ByteArrayInputStream(response.getSvids(0).getX509Svid().toByteArray())).iterator().next();
    }

    private static void verifyChain(List<X509Certificate> chain, X509Certificate root) throws Exception {
        PKIXParameters params = new PKIXParameters(Set.of(new TrustAnchor(root, null)));
        params.setRevocationEnabled(false);
        CertPathValidator.getInstance("PKIX").validate(CertificateFactory.getInstance("X.509").generateCertPath(chain), params);
    }

    private static int ownUid() throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
            if (line.startsWith("Uid:")) {
                return Integer.parseInt(line.split("\\s+")[1]);
            }
        }
        throw new IllegalStateException("no Uid line in /proc/self/status");
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }
}
