package dev.keel.cli.internal;

import dev.keel.agent.AgentConfig;
import dev.keel.agent.AgentMetrics;
import dev.keel.agent.PodResolver;
import dev.keel.agent.WorkloadAttestor;
import dev.keel.agent.admin.AdminServer;
import dev.keel.agent.attestor.KubernetesWorkloadAttestor;
import dev.keel.agent.attestor.UnixWorkloadAttestor;
import dev.keel.agent.cache.SvidManager;
import dev.keel.agent.workloadapi.WorkloadApiServer;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import java.net.InetSocketAddress;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * A node agent assembled from its parts: the SVID cache (CA client, node identity, rotation), the
 * Workload API server with the chosen attestors, and the admin port. The one place that picks the
 * attestors; {@code keel agent run} and {@code keel up} both start agents through it.
 */
public final class RunningAgent implements AutoCloseable {

    private final SvidManager identities;
    private final WorkloadApiServer server;
    private final AdminServer admin;
    private final KubernetesClient kubernetes;
    private final AtomicBoolean closed = new AtomicBoolean();

    private RunningAgent(SvidManager identities, WorkloadApiServer server, AdminServer admin, KubernetesClient kubernetes) {
        this.identities = identities;
        this.server = server;
        this.admin = admin;
        this.kubernetes = kubernetes;
    }

    /**
     * Attests the node (or loads its stored SVID), starts syncing and issuing, then opens the socket.
     *
     * @param nodeName Kubernetes mode: this node's name as the API server knows it; otherwise ignored
     */
    public static RunningAgent start(AgentConfig config, String adminHost, String nodeName) throws Exception {
        Clock clock = Clock.systemUTC();
        AgentMetrics metrics = new AgentMetrics(clock);
        List<WorkloadAttestor> attestors = new ArrayList<>();
        attestors.add(UnixWorkloadAttestor.builder().build());
        PodResolver pods = null;
        KubernetesClient kubernetes = null;
        SvidManager identities = null;
        WorkloadApiServer server = null;
        try {
            if (config.kubernetesMode()) {
                if (nodeName == null || nodeName.isBlank()) {
                    throw new IllegalArgumentException("--kubernetes needs the node name (--node-name or $NODE_NAME)");
                }
                kubernetes = new KubernetesClientBuilder().build();
                KubernetesWorkloadAttestor k8s = KubernetesWorkloadAttestor.builder(kubernetes, nodeName).build();
                attestors.add(k8s);
                pods = k8s;
            }
            identities = SvidManager.builder(config, metrics).clock(clock).start();
            // The socket opens once the agent knows its entries: before that, a workload would be told
            // it has no identity. Clients meanwhile see no socket and retry, as with an agent restart.
            while (!identities.awaitFirstSync(Duration.ofSeconds(10))) {
                System.err.println("keel agent: waiting for the first registration entry sync with the CA at "
                        + config.caAddress());
            }
            WorkloadApiServer.Builder builder = WorkloadApiServer.builder()
                    .socketPath(config.socketPath())
                    .identities(identities)
                    .attestors(attestors)
                    .metrics(metrics)
                    .clock(clock);
            if (pods != null) {
                builder.podResolver(pods);
            }
            server = builder.build();
            server.start();
            AdminServer admin = null;
            if (config.metricsPort() >= 0) {
                SvidManager held = identities;
                admin = AdminServer.start(new InetSocketAddress(adminHost, config.metricsPort()), metrics,
                        () -> held.current().bundle().isPresent() ? null : "no trust bundle yet");
            }
            return new RunningAgent(identities, server, admin, kubernetes);
        } catch (Exception | Error e) {
            if (server != null) {
                server.close();
            }
            if (identities != null) {
                identities.close();
            }
            if (kubernetes != null) {
                kubernetes.close();
            }
            throw e;
        }
    }

    public SvidManager identities() {
        return identities;
    }

    public String endpointAddress() {
        return server.endpointAddress();
    }

    /** The admin port, or -1 when disabled. */
    public int adminPort() {
        return admin == null ? -1 : admin.port();
    }

    @Override
    public void close() {
        if (!closed.compareAndSet(false, true)) {
            return; // the shutdown hook and the command's own try-with-resources both close
        }
        // Socket first: clients reconnect to the next agent instead of reading from a closing cache.
        server.close();
        if (admin != null) {
            admin.close();
        }
        identities.close();
        if (kubernetes != null) {
            kubernetes.close();
        }
    }
}
