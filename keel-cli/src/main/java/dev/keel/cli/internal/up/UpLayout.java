package dev.keel.cli.internal.up;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.List;
import java.util.Objects;

/**
 * Where everything {@code keel up} starts lives: directories under the state directory and ports in
 * one block above {@code basePort}, so that a second mesh can run beside the first with another base.
 *
 * <pre>
 * base+12 CA gRPC       base+14 CA bundle endpoint    base+88 agent admin    base+90 demo token issuer
 * base+100+10i  workload i's app, +1 its proxy's inbound, +2 outbound, +3 admin
 * </pre>
 */
public record UpLayout(Path dir, String host, int basePort, String trustDomain, List<DemoWorkload> workloads) {

    /** Unix socket paths are limited to 108 bytes; leave room for the kernel's terminator and margins. */
    private static final int MAX_SOCKET_PATH = 100;

    public UpLayout {
        dir = dir.toAbsolutePath().normalize();
        Objects.requireNonNull(host, "host");
        if (basePort < 1024 || basePort + 100 + 10 * 10 > 65535) {
            throw new IllegalArgumentException("--base-port: " + basePort + " (expected 1024..65300)");
        }
        workloads = List.copyOf(workloads);
    }

    /** The demo shop: frontend calls orders, orders calls payments; everything in namespace shop. */
    public static UpLayout demo(Path dir, int basePort) {
        return new UpLayout(dir, "127.0.0.1", basePort, "cluster.local", List.of(
                new DemoWorkload("frontend", "shop", 0),
                new DemoWorkload("orders", "shop", 1),
                new DemoWorkload("payments", "shop", 2)));
    }

    /** A demo workload: its name is its service account, its {@code app} label and its host {@code <name>.<ns>}. */
    public record DemoWorkload(String name, String namespace, int index) {
        public String spiffeId(String trustDomain) {
            return "spiffe://" + trustDomain + "/ns/" + namespace + "/sa/" + name;
        }

        /** What apps put in the Host header to reach it through their outbound listener. */
        public String serviceHost() {
            return name + "." + namespace;
        }
    }

    public DemoWorkload workload(String name) {
        return workloads.stream().filter(w -> w.name().equals(name)).findFirst()
                .orElseThrow(() -> new IllegalArgumentException("no demo workload " + name));
    }

    public int caGrpcPort() {
        return basePort + 12;
    }

    public int caBundlePort() {
        return basePort + 14;
    }

    public int agentAdminPort() {
        return basePort + 88;
    }

    public int tokenIssuerPort() {
        return basePort + 90;
    }

    public int appPort(DemoWorkload w) {
        return basePort + 100 + 10 * w.index();
    }

    public int inboundPort(DemoWorkload w) {
        return appPort(w) + 1;
    }

    public int outboundPort(DemoWorkload w) {
        return appPort(w) + 2;
    }

    public int adminPort(DemoWorkload w) {
        return appPort(w) + 3;
    }

    /** Every port {@code keel up} listens on, for the "already in use" check before anything starts. */
    public List<Integer> allPorts() {
        java.util.ArrayList<Integer> ports = new java.util.ArrayList<>(List.of(caGrpcPort(), caBundlePort(),
                agentAdminPort(), tokenIssuerPort()));
        for (DemoWorkload w : workloads) {
            ports.addAll(List.of(appPort(w), inboundPort(w), outboundPort(w), adminPort(w)));
        }
        return ports;
    }

    public Path caDir() {
        return dir.resolve("ca");
    }

    public Path agentDir() {
        return dir.resolve("agent");
    }

    public Path hsmDir() {
        return dir.resolve("hsm");
    }

    public Path logDir() {
        return dir.resolve("logs");
    }

    public Path policyDir() {
        return dir.resolve("policies");
    }

    public Path proxyConfig(DemoWorkload w) {
        return dir.resolve("proxies").resolve(w.name() + ".yaml");
    }

    public Path stateFile() {
        return dir.resolve(UpState.FILE);
    }

    public Path joinTokenFile() {
        return dir.resolve("agent-join-token");
    }

    /** The agent's Workload API socket: in the state directory when the path is short enough, else under /tmp. */
    public Path socket() {
        Path inDir = dir.resolve("agent.sock");
        if (inDir.toString().getBytes(StandardCharsets.UTF_8).length <= MAX_SOCKET_PATH) {
            return inDir;
        }
        try {
            byte[] hash = MessageDigest.getInstance("SHA-256").digest(dir.toString().getBytes(StandardCharsets.UTF_8));
            return Path.of(System.getProperty("java.io.tmpdir"), "keel-up-" + HexFormat.of().formatHex(hash, 0, 6),
                    "agent.sock");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    public String nodeName() {
        return "keel-up";
    }

    public String nodeId() {
        return "spiffe://" + trustDomain + "/keel/node/" + nodeName();
    }
}
