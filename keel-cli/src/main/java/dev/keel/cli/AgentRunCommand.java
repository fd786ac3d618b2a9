package dev.keel.cli;

import dev.keel.agent.AgentConfig;
import dev.keel.cli.internal.DurationConverter;
import dev.keel.cli.internal.KeyTypeConverter;
import dev.keel.cli.internal.RunningAgent;
import dev.keel.cli.internal.WorkloadEndpoint;
import dev.keel.identity.KeyType;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code keel agent run}: runs one node agent until stopped. */
@Command(name = "run", mixinStandardHelpOptions = true,
        description = "Attest this node (join token on first start), then serve the SPIFFE Workload API on a Unix socket, "
                + "issuing and rotating the SVIDs of the registration entries bound to this node.")
final class AgentRunCommand implements Callable<Integer> {

    static final String JOIN_TOKEN_ENV = "KEEL_JOIN_TOKEN";

    @Option(names = "--ca", defaultValue = "localhost:15012", description = "The CA's gRPC address (default: ${DEFAULT-VALUE})")
    String ca;

    @Option(names = "--trust-domain", defaultValue = "cluster.local", description = "Trust domain (default: ${DEFAULT-VALUE})")
    String trustDomain;

    @Option(names = "--ca-bundle",
            description = "PEM roots or SPIFFE bundle JSON that authenticate the CA on first start (e.g. the CA's root-cert.pem)")
    Path caBundle;

    @Option(names = "--data-dir", defaultValue = ".keel/agent",
            description = "Where the node key, node SVID and bundle are kept (default: ${DEFAULT-VALUE})")
    Path dataDir;

    @Option(names = "--socket", description = "Workload API address (default: $SPIFFE_ENDPOINT_SOCKET, else "
            + WorkloadEndpoint.DEFAULT + ")")
    String socket;

    @Option(names = "--join-token-file",
            description = "File holding the one-time join token (or set $" + JOIN_TOKEN_ENV + "); needed on first start only")
    Path joinTokenFile;

    @Option(names = "--admin-host", defaultValue = "127.0.0.1", description = "Admin/metrics address (default: ${DEFAULT-VALUE})")
    String adminHost;

    @Option(names = "--admin-port", defaultValue = "15088",
            description = "Admin port: /metrics, /ready, /healthz; -1 disables, 0 picks one (default: ${DEFAULT-VALUE})")
    int adminPort;

    @Option(names = "--rotation-fraction", defaultValue = "0.5",
            description = "Renew each SVID after this fraction of its lifetime, with jitter (default: ${DEFAULT-VALUE})")
    double rotationFraction;

    @Option(names = "--sync-interval", defaultValue = "5s", converter = DurationConverter.class,
            description = "How often entries and the bundle are fetched from the CA (default: ${DEFAULT-VALUE})")
    Duration syncInterval;

    @Option(names = "--svid-ttl", defaultValue = "0s", converter = DurationConverter.class,
            description = "Workload X.509-SVID lifetime for entries that set none; 0s for the CA default (default: ${DEFAULT-VALUE})")
    Duration svidTtl;

    @Option(names = "--key-type", defaultValue = "ec-p256", converter = KeyTypeConverter.class,
            description = "Workload key type: ec-p256, ec-p384, rsa-2048, rsa-3072, rsa-4096 (default: ${DEFAULT-VALUE})")
    KeyType keyType;

    @Option(names = "--kubernetes",
            description = "Kubernetes mode: a pod gets its service account's identity (ns/<ns>/sa/<sa>) without entries")
    boolean kubernetes;

    @Option(names = "--node-name", description = "Kubernetes mode: this node's name (default: $NODE_NAME)")
    String nodeName;

    @Override
    public Integer call() throws Exception {
        AgentConfig.Builder config = AgentConfig.builder()
                .trustDomain(trustDomain)
                .caAddress(ca)
                .dataDir(dataDir)
                .socketPath(WorkloadEndpoint.socketPath(WorkloadEndpoint.resolve(socket)))
                .metricsPort(adminPort)
                .rotationFraction(rotationFraction)
                .syncInterval(syncInterval)
                .workloadSvidTtl(svidTtl)
                .keyType(keyType)
                .kubernetesMode(kubernetes);
        if (caBundle != null) {
            config.bootstrapBundle(caBundle);
        }
        String token = joinToken();
        if (token != null) {
            config.joinToken(AgentConfig.JoinToken.of(token));
        }
        String node = nodeName != null ? nodeName : System.getenv("NODE_NAME");
        CountDownLatch stopped = new CountDownLatch(1);
        try (RunningAgent agent = RunningAgent.start(config.build(), adminHost, node)) {
            Runtime.getRuntime().addShutdownHook(new Thread(() -> {
                agent.close();
                stopped.countDown();
            }, "keel-agent-shutdown"));
            System.out.println("keel agent for " + agent.identities().nodeId() + " serving");
            System.out.println("  Workload API: " + agent.endpointAddress());
            if (agent.adminPort() >= 0) {
                System.out.println("  admin:        http://" + adminHost + ":" + agent.adminPort() + "/metrics");
            }
            System.out.println("  CA:           " + ca);
            System.out.flush();
            stopped.await();
        }
        return 0;
    }

    private String joinToken() throws java.io.IOException {
        if (joinTokenFile != null) {
            return Files.readString(joinTokenFile, StandardCharsets.UTF_8).strip();
        }
        String env = System.getenv(JOIN_TOKEN_ENV);
        return env == null || env.isBlank() ? null : env.strip();
    }
}
