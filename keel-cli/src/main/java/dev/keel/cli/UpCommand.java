package dev.keel.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.keel.agent.ca.NodeIdentityStore;
import dev.keel.ca.CaDirectory;
import dev.keel.ca.node.CreatedJoinToken;
import dev.keel.ca.node.EntrySpec;
import dev.keel.ca.node.RegistrationEntries;
import dev.keel.ca.node.RegistrationEntry;
import dev.keel.cli.internal.DurationConverter;
import dev.keel.cli.internal.up.ChildProcess;
import dev.keel.cli.internal.up.DemoApps;
import dev.keel.cli.internal.up.DemoPolicies;
import dev.keel.cli.internal.up.DemoTokenIssuer;
import dev.keel.cli.internal.up.ProxyYamls;
import dev.keel.cli.internal.up.SoftHsmToken;
import dev.keel.cli.internal.up.UpLayout;
import dev.keel.cli.internal.up.UpLayout.DemoWorkload;
import dev.keel.cli.internal.up.UpState;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code keel up}: a whole mesh on loopback in one command. A CA (file key, or a SoftHSM token with
 * {@code --hsm}), a node agent attested with a join token, and the demo shop (frontend, orders,
 * payments), each app behind its own secure proxy with an SVID from the agent, under the policies of
 * {@code examples/policies}. The CA, the agent and each proxy are separate processes, started as an
 * operator would start them; the apps and the demo token issuer live in this one. Ctrl-C stops it all.
 */
@Command(name = "up", mixinStandardHelpOptions = true,
        description = {"Start a demo mesh on 127.0.0.1: CA, node agent, and three workloads (frontend, orders,",
                "payments) each behind a secure proxy, under examples/policies. State lives in --dir; Ctrl-C stops",
                "everything. Then try the printed curl commands, keel status and keel audit mtls."})
final class UpCommand implements Callable<Integer> {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Duration STOP_GRACE = Duration.ofSeconds(15);

    @Option(names = "--dir", defaultValue = ".keel", description = "State directory (default: ${DEFAULT-VALUE})")
    Path dir;

    @Option(names = "--base-port", defaultValue = "17000",
            description = "Ports used: base+12, +14, +88, +90 and base+100..base+123 (default: ${DEFAULT-VALUE})")
    int basePort;

    @Option(names = "--hsm", description = "Keep the CA keys in a SoftHSM2 token (created in <dir>/hsm on first use)")
    boolean hsm;

    @Option(names = "--policies", description = "Policy directory to start from (default: examples/policies of this "
            + "checkout); copied to <dir>/policies, which the proxies watch")
    Path policies;

    @Option(names = "--svid-ttl", defaultValue = "1h", converter = DurationConverter.class,
            description = "Workload X.509-SVID lifetime; rotated at half (default: ${DEFAULT-VALUE})")
    Duration svidTtl;

    @Option(names = "--start-timeout", defaultValue = "120s", converter = DurationConverter.class,
            description = "How long each process may take to start (default: ${DEFAULT-VALUE})")
    Duration startTimeout;

    private final List<ChildProcess> children = new ArrayList<>();
    private final AtomicBoolean stopping = new AtomicBoolean();
    private DemoApps apps;
    private DemoTokenIssuer issuer;
    private UpLayout layout;

    @Override
    public Integer call() throws Exception {
        layout = UpLayout.demo(dir, basePort);
        Optional<UpState> previous = UpState.read(layout.stateFile());
        if (previous.isPresent() && previous.get().running()) {
            System.err.println("keel: a mesh is already up from " + layout.dir() + " (pid " + previous.get().pid()
                    + "); see keel status, stop it with Ctrl-C in its terminal or kill " + previous.get().pid());
            return 1;
        }
        List<Integer> busy = layout.allPorts().stream().filter(p -> !free(layout.host(), p)).toList();
        if (!busy.isEmpty()) {
            System.err.println("keel: ports in use on " + layout.host() + ": " + busy
                    + " (is another mesh running? pick other ports with --base-port)");
            return 1;
        }
        Path policySource = policySource();
        Files.createDirectories(layout.dir(), PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
        Files.createDirectories(layout.logDir());
        Files.createDirectories(layout.proxyConfig(layout.workloads().get(0)).getParent());
        privateDirectory(layout.socket().getParent());

        CountDownLatch stopped = new CountDownLatch(1);
        Thread hook = new Thread(() -> {
            stopAll("stopping");
            stopped.countDown();
        }, "keel-up-shutdown");
        Runtime.getRuntime().addShutdownHook(hook);
        try {
            Instant started = Instant.now();
            issuer = DemoTokenIssuer.create(Clock.systemUTC());
            int policyFiles = DemoPolicies.assemble(policySource, layout.policyDir(), issuer.jwks());
            Optional<SoftHsmToken> token = hsm ? Optional.of(SoftHsmToken.openOrCreate(layout.hsmDir())) : Optional.empty();
            Map<String, String> caEnv = token.map(SoftHsmToken::environment).orElse(Map.of());
            String custody = initCa(token, caEnv);
            ChildProcess ca = start("ca", caEnv, List.of("ca", "serve", "--data-dir", layout.caDir().toString(),
                    "--host", layout.host(), "--port", Integer.toString(layout.caGrpcPort()),
                    "--bundle-port", Integer.toString(layout.caBundlePort()),
                    "--default-ttl", svidTtl.toSeconds() + "s"));
            ca.await("keel CA for \\S+ serving", startTimeout);
            ChildProcess agent = startAgent();
            registerWorkloads();
            apps = DemoApps.start(layout);
            issuer.serve(new InetSocketAddress(layout.host(), layout.tokenIssuerPort()));
            List<ChildProcess> proxies = new ArrayList<>();
            for (DemoWorkload w : layout.workloads()) {
                Files.writeString(layout.proxyConfig(w), ProxyYamls.of(layout, w));
                proxies.add(start(w.name() + "-proxy", Map.of(), List.of("proxy", "run", "--config",
                        layout.proxyConfig(w).toString(), "--identity-timeout", startTimeout.toSeconds() + "s")));
            }
            for (ChildProcess proxy : proxies) {
                proxy.await("keel proxy for \\S+ serving", startTimeout);
            }
            UpState state = state(started, custody, policySource, ca, agent, proxies);
            state.write(layout.stateFile());
            printSummary(state, policyFiles);
            return supervise(stopped);
        } catch (Exception e) {
            System.err.println("keel up: " + e.getMessage());
            stopAll("stopping what started");
            return 1;
        } finally {
            try {
                Runtime.getRuntime().removeShutdownHook(hook);
            } catch (IllegalStateException shuttingDown) {
                // Ctrl-C: the hook is running and stops everything.
            }
        }
    }

    /** Waits for Ctrl-C, or for a process to die (then stops the rest: a half mesh misleads). */
    private int supervise(CountDownLatch stopped) throws InterruptedException {
        while (!stopped.await(500, TimeUnit.MILLISECONDS)) {
            for (ChildProcess child : children) {
                if (!child.isAlive() && !stopping.get()) {
                    String tail;
                    try {
                        tail = child.tail(15);
                    } catch (IOException e) {
                        tail = "(log unreadable: " + e.getMessage() + ")";
                    }
                    System.err.println("keel up: " + child.name() + " (pid " + child.pid() + ") exited; the end of "
                            + child.log() + ":\n" + tail);
                    stopAll("stopping the rest");
                    return 1;
                }
            }
        }
        return 0;
    }

    private Path policySource() {
        if (policies != null) {
            return policies;
        }
        String home = System.getenv("KEEL_HOME");
        Path fromHome = home == null ? null : Path.of(home, "examples", "policies");
        if (fromHome != null && Files.isDirectory(fromHome)) {
            return fromHome;
        }
        return Path.of("examples", "policies");
    }

    private String initCa(Optional<SoftHsmToken> token, Map<String, String> caEnv) throws IOException, InterruptedException {
        if (Files.exists(layout.caDir().resolve("ca.properties"))) {
            CaDirectory.CaConfig existing = CaDirectory.readConfig(layout.caDir());
            String custody = existing.caKey().startsWith("pkcs11:") ? "pkcs11" : "file";
            if (token.isPresent() != custody.equals("pkcs11")) {
                System.err.println("keel up: " + layout.caDir() + " already holds a CA with its keys in "
                        + (custody.equals("pkcs11") ? "a PKCS#11 token" : "files") + "; using it (remove " + layout.dir()
                        + " to start over " + (token.isPresent() ? "with" : "without") + " --hsm)");
            }
            return custody;
        }
        List<String> args = new ArrayList<>(List.of("ca", "init", "--data-dir", layout.caDir().toString(),
                "--trust-domain", layout.trustDomain()));
        token.ifPresent(t -> args.addAll(List.of("--key", t.keyReference())));
        ChildProcess init = start("ca-init", caEnv, args);
        init.await("created a .* CA for trust domain", startTimeout);
        return token.isPresent() ? "pkcs11" : "file";
    }

    private ChildProcess startAgent() throws IOException, InterruptedException {
        List<String> args = new ArrayList<>(List.of("agent", "run", "--data-dir", layout.agentDir().toString(),
                "--ca", layout.host() + ":" + layout.caGrpcPort(),
                "--ca-bundle", layout.caDir().resolve("root-cert.pem").toString(),
                "--socket", "unix://" + layout.socket(), "--trust-domain", layout.trustDomain(),
                "--admin-port", Integer.toString(layout.agentAdminPort()), "--sync-interval", "2s"));
        // Always a fresh token: the agent ignores it while its stored node SVID is usable, and needs it when
        // that SVID expired while the mesh was down or the CA was re-created.
        {
            CreatedJoinToken created = CaTokenCommand.open(layout.caDir()).create(layout.nodeName() + "-"
                    + Long.toHexString(System.nanoTime() & 0xffffff), Duration.ofMinutes(10));
            Files.deleteIfExists(layout.joinTokenFile());
            Files.createFile(layout.joinTokenFile(),
                    PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
            Files.writeString(layout.joinTokenFile(), created.token() + "\n");
            args.addAll(List.of("--join-token-file", layout.joinTokenFile().toString()));
        }
        ChildProcess agent = start("agent", Map.of(), args);
        try {
            agent.await("Workload API: unix://", startTimeout);
        } finally {
            // One use only; once the agent holds its node SVID, the token is spent either way.
            Files.deleteIfExists(layout.joinTokenFile());
        }
        return agent;
    }

    /** One entry per workload, bound to this node, selecting this user's processes (idempotent across starts). */
    private void registerWorkloads() throws IOException {
        String nodeId = agentNodeId();
        RegistrationEntries entries = CaEntryCommand.open(layout.caDir());
        List<RegistrationEntry> existing = entries.read().entries();
        String selector = "unix:uid:" + Files.getAttribute(Path.of("/proc/self"), "unix:uid");
        for (DemoWorkload w : layout.workloads()) {
            String spiffeId = w.spiffeId(layout.trustDomain());
            boolean present = existing.stream().anyMatch(e -> e.spiffeId().toString().equals(spiffeId)
                    && e.parentId().equals(nodeId) && e.selectors().stream().map(Object::toString).toList()
                    .contains(selector));
            if (!present) {
                entries.create(new EntrySpec(spiffeId, nodeId, List.of(selector), svidTtl, Duration.ZERO,
                        "keel up demo: " + w.name()));
            }
        }
    }

    /** The node ID the agent was attested as: the URI SAN of its stored node SVID. */
    private String agentNodeId() throws IOException {
        try {
            java.security.cert.CertificateFactory factory = java.security.cert.CertificateFactory.getInstance("X.509");
            try (var in = Files.newInputStream(layout.agentDir().resolve(NodeIdentityStore.NODE_SVID))) {
                java.security.cert.X509Certificate leaf = (java.security.cert.X509Certificate) factory.generateCertificate(in);
                for (List<?> san : leaf.getSubjectAlternativeNames()) {
                    if (((Integer) san.get(0)) == 6) {
                        return (String) san.get(1);
                    }
                }
            }
        } catch (java.security.cert.CertificateException e) {
            throw new IOException("the agent's node SVID does not parse: " + e.getMessage(), e);
        }
        throw new IOException("the agent's node SVID has no SPIFFE ID");
    }

    private ChildProcess start(String name, Map<String, String> env, List<String> args) throws IOException {
        String options = System.getenv().getOrDefault("KEEL_CHILD_JAVA_OPTS", "-Xms32m -Xmx192m -XX:+UseSerialGC");
        List<String> jvm = java.util.Arrays.stream(options.trim().split("\\s+")).filter(o -> !o.isEmpty()).toList();
        ChildProcess child = ChildProcess.start(name, layout.logDir().resolve(name + ".log"), jvm, env, args);
        synchronized (children) {
            if (stopping.get()) {
                // Ctrl-C arrived while this one was starting: stopAll has already taken its list.
                try {
                    child.stop(STOP_GRACE);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
                throw new IOException("stopping; " + name + " not started");
            }
            if (!name.equals("ca-init")) {
                children.add(child);
            }
        }
        return child;
    }

    private UpState state(Instant started, String custody, Path policySource, ChildProcess ca, ChildProcess agent,
            List<ChildProcess> proxies) {
        List<UpState.Workload> workloads = new ArrayList<>();
        for (int i = 0; i < layout.workloads().size(); i++) {
            DemoWorkload w = layout.workloads().get(i);
            workloads.add(new UpState.Workload(w.name(), w.spiffeId(layout.trustDomain()), layout.appPort(w),
                    proxies.get(i).pid(), layout.inboundPort(w), layout.outboundPort(w), layout.adminPort(w),
                    layout.proxyConfig(w).toString(), proxies.get(i).log().toString()));
        }
        Map<String, String> caAddresses = new LinkedHashMap<>();
        caAddresses.put("grpc", layout.host() + ":" + layout.caGrpcPort());
        caAddresses.put("bundle", "https://" + layout.host() + ":" + layout.caBundlePort() + "/");
        caAddresses.put("data_dir", layout.caDir().toString());
        Map<String, String> agentAddresses = new LinkedHashMap<>();
        agentAddresses.put("workload_api", "unix://" + layout.socket());
        agentAddresses.put("admin", "http://" + layout.host() + ":" + layout.agentAdminPort());
        return new UpState(ProcessHandle.current().pid(), UpState.ownStart(), started.toString(), layout.trustDomain(), custody,
                layout.policyDir().toString(), policySource.toAbsolutePath().normalize().toString(),
                new UpState.Component("ca", ca.pid(), ca.log().toString(), caAddresses),
                new UpState.Component("agent", agent.pid(), agent.log().toString(), agentAddresses),
                layout.tokenIssuerPort(), workloads);
    }

    private void printSummary(UpState state, int policyFiles) {
        HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
        String h = layout.host();
        System.out.println("keel up: a mesh for trust domain " + state.trustDomain() + " on " + h + " (state in "
                + layout.dir() + ", logs in " + layout.logDir() + ")");
        System.out.printf("  %-9s pid %-7d gRPC %s, bundle %s, keys: %s%n", "CA", state.ca().pid(),
                state.ca().addresses().get("grpc"), state.ca().addresses().get("bundle"),
                state.keyCustody().equals("pkcs11") ? "SoftHSM2 token (" + layout.hsmDir() + ")" : "files in " + layout.caDir());
        System.out.printf("  %-9s pid %-7d Workload API %s, metrics %s/metrics%n", "agent", state.agent().pid(),
                state.agent().addresses().get("workload_api"), state.agent().addresses().get("admin"));
        for (UpState.Workload w : state.workloads()) {
            String expiry = "?";
            String modes = "?";
            try {
                JsonNode certs = JSON.readTree(get(http, w.adminUrl() + "/certs"));
                expiry = certs.path("chain").path(0).path("not_after").asText("?");
                JsonNode ports = JSON.readTree(get(http, w.adminUrl() + "/config")).path("effective").path("ports");
                modes = ports.path(0).path("mode").asText("?");
            } catch (IOException | InterruptedException e) {
                expiry = "(admin port not answering: " + e.getMessage() + ")";
            }
            System.out.printf("  %-9s pid %-7d %s, SVID expires %s%n", w.name(), w.proxyPid(), w.spiffeId(), expiry);
            System.out.printf("  %-9s             app %s:%d <- proxy inbound %s:%d (%s), outbound %s:%d, admin %s%n", "",
                    h, w.appPort(), h, w.inboundPort(), modes, h, w.outboundPort(), w.adminUrl());
        }
        System.out.println("  policies: " + policyFiles + " files in " + state.policyDirectory() + " (from "
                + state.policySource() + "); edit them there and the proxies reload");
        int front = layout.inboundPort(layout.workload("frontend"));
        String tokenUrl = "http://" + h + ":" + layout.tokenIssuerPort() + "/token?sub=alice";
        System.out.println();
        System.out.println("Try (the frontend is the edge: plaintext in, mTLS from there on):");
        System.out.println("  # allowed: alice's JWT -> frontend -> orders -> payments, each hop mTLS and authorized");
        System.out.println("  curl -s -H \"Authorization: Bearer $(curl -s " + tokenUrl + ")\" http://" + h + ":" + front
                + "/api/orders/42");
        System.out.println("  # denied (403): payments' AuthorizationPolicy admits only orders, not the frontend");
        System.out.println("  curl -s -H \"Authorization: Bearer $(curl -s " + tokenUrl + ")\" http://" + h + ":" + front
                + "/api/payments/42");
        System.out.println("  # rejected (401): a JWT the frontend's RequestAuthentication cannot verify");
        System.out.println("  curl -si -H \"Authorization: Bearer eyJhbGciOiJFUzI1NiJ9.eyJpc3MiOiJodHRwczovL2lkLmtlZWwuZGVtbyJ9.AAAA\" http://"
                + h + ":" + front + "/api/orders/42");
        System.out.println("Then: keel status, keel audit mtls --out " + layout.dir().resolve("audit") + ". Ctrl-C stops everything.");
        System.out.flush();
    }

    private static String get(HttpClient http, String url) throws IOException, InterruptedException {
        HttpResponse<String> response = http.send(HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(5))
                .build(), HttpResponse.BodyHandlers.ofString());
        if (response.statusCode() != 200) {
            throw new IOException(url + " answered " + response.statusCode());
        }
        return response.body();
    }

    /** Stops everything once; a second caller (Ctrl-C during a stop) waits until the first is done. */
    private synchronized void stopAll(String why) {
        if (!stopping.compareAndSet(false, true)) {
            return;
        }
        List<ChildProcess> running;
        synchronized (children) {
            running = new ArrayList<>(children);
        }
        if (running.stream().anyMatch(ChildProcess::isAlive)) {
            System.err.println("keel up: " + why + "...");
        }
        // Proxies first, the CA last: nothing is left asking a CA that is gone.
        for (int i = running.size() - 1; i >= 0; i--) {
            try {
                running.get(i).stop(STOP_GRACE);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        if (apps != null) {
            apps.close();
        }
        if (issuer != null) {
            issuer.close();
        }
        try {
            if (layout != null) {
                Files.deleteIfExists(layout.stateFile());
            }
        } catch (IOException e) {
            System.err.println("keel up: cannot remove " + layout.stateFile() + ": " + e.getMessage());
        }
        System.err.println("keel up: stopped");
    }

    /**
     * Creates {@code dir} 0700, or accepts it only if this user owns it and nobody else may enter: the
     * Workload API socket lives there, and a directory another user controls could swap the socket.
     */
    static void privateDirectory(Path dir) throws IOException {
        if (!Files.exists(dir, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
            Files.createDirectories(dir.getParent());
            try {
                Files.createDirectory(dir, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
            } catch (java.nio.file.FileAlreadyExistsException raced) {
                // checked below like any existing directory
            }
        }
        java.nio.file.attribute.PosixFileAttributes attributes = Files.readAttributes(dir,
                java.nio.file.attribute.PosixFileAttributes.class, java.nio.file.LinkOption.NOFOLLOW_LINKS);
        Object owner = Files.getAttribute(dir, "unix:uid", java.nio.file.LinkOption.NOFOLLOW_LINKS);
        Object self = Files.getAttribute(Path.of("/proc/self"), "unix:uid");
        if (!attributes.isDirectory() || !owner.equals(self)
                || !PosixFilePermissions.toString(attributes.permissions()).endsWith("------")) {
            throw new IOException(dir + " must be a directory owned by this user and closed to others (it holds the "
                    + "Workload API socket); remove it or choose another --dir");
        }
    }

    private static boolean free(String host, int port) {
        try (ServerSocket socket = new ServerSocket()) {
            socket.setReuseAddress(true);
            socket.bind(new InetSocketAddress(host, port));
            return true;
        } catch (IOException e) {
            return false;
        }
    }
}
