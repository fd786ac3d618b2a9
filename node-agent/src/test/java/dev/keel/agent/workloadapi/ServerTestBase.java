package dev.keel.agent.workloadapi;

import static org.assertj.core.api.Assertions.assertThat;

import com.sun.security.auth.module.UnixSystem;
import dev.keel.agent.AgentMetrics;
import dev.keel.agent.PodResolver;
import dev.keel.agent.WorkloadAttestor;
import dev.keel.agent.attestor.UnixWorkloadAttestor;
import dev.keel.testing.TestPki;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.List;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.io.TempDir;

/** A started server on a socket in a temporary directory, serving a {@link FakeIdentities}, attested by uid. */
abstract class ServerTestBase {

    /** The test process's own uid, as the kernel will report it for our connections. */
    static final long UID = new UnixSystem().getUid();
    static final String MY_UID = "unix:uid:" + UID;
    static final String OTHER_UID = "unix:uid:" + (UID + 4242);

    @TempDir
    Path dir;

    TestPki pki;
    FakeIdentities identities;
    AgentMetrics metrics;
    Path socket;
    WorkloadApiServer server;

    @BeforeEach
    void startServer() throws IOException {
        pki = TestPki.create();
        identities = new FakeIdentities(pki);
        metrics = new AgentMetrics(Clock.systemUTC());
        socket = dir.resolve("agent.sock");
        assertThat(socket.toString().length()).as("socket path fits sun_path").isLessThan(100);
        server = start(List.of(UnixWorkloadAttestor.builder().build()), null);
    }

    WorkloadApiServer start(List<WorkloadAttestor> attestors, PodResolver podResolver) throws IOException {
        WorkloadApiServer.Builder builder = WorkloadApiServer.builder().socketPath(socket).identities(identities)
                .attestors(attestors).metrics(metrics);
        if (podResolver != null) {
            builder.podResolver(podResolver);
        }
        WorkloadApiServer started = builder.build();
        started.start();
        return started;
    }

    /** Replaces the running server with one using these attestors and pod resolver. */
    void restart(List<WorkloadAttestor> attestors, PodResolver podResolver) throws IOException {
        server.close();
        server = start(attestors, podResolver);
    }

    @AfterEach
    void stopServer() throws IOException {
        server.close();
        assertThat(Files.exists(socket)).as("socket removed on close").isFalse();
    }

    String metricsText() throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        metrics.writeText(out);
        return out.toString(StandardCharsets.UTF_8);
    }

    /** Waits for a condition that some other thread makes true; fails after ten seconds (a hang). */
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
