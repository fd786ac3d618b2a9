package dev.keel.proxy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import dev.keel.authz.PathNormalization;
import dev.keel.authz.Protocol;
import dev.keel.identity.TrustDomain;
import dev.keel.policy.PeerAuthentication.MutualTLS.Mode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Everything {@code keel proxy run --config proxy.yaml} needs, as one immutable value. Loaded from
 * YAML with {@link #parse(String)} or {@link #load(Path)}: unknown keys and bad values are refused with
 * the path of the offending field; absent keys take the defaults documented on each record.
 *
 * <pre>{@code
 * workload: {namespace: default, serviceAccount: web, labels: {app: web}, trustDomain: cluster.local}
 * inbound:
 *   host: 0.0.0.0
 *   port: 15006            # the main listener, for traffic to app.port
 *   mode: PERMISSIVE       # the default PeerAuthentication mode when no policy selects the workload
 *   ports:                 # like Istio's portLevelMtls, plus the protocol; each gets its own listener
 *     - {port: 9000, listenPort: 15007, protocol: TCP, mode: STRICT}
 * app: {host: 127.0.0.1, port: 8080}
 * policyDirectory: /etc/keel/policies
 * rootNamespace: istio-system
 * pathNormalization: BASE
 * limits: {maxHeaderBytes: 8192, maxHeaders: 100, maxRequestBodyBytes: 10485760, idleTimeout: 300s,
 *          headerTimeout: 10s, maxConcurrentStreams: 100}
 * adminPort: 15000
 * workloadApiSocket: unix:///tmp/keel/agent.sock
 * # or, without a node agent, the SVID and trust bundle from PEM files (re-read when they change):
 * # identity: {certificateChain: /etc/keel/svid.pem, privateKey: /etc/keel/svid.key,
 * #            trustBundle: /etc/keel/bundle.pem, trustDomain: cluster.local, refreshInterval: 10s}
 * workerThreads: 0         # inbound event-loop threads; 0: Netty's default (twice the CPUs)
 * }</pre>
 *
 * @param policyDirectory   absent: no policy source, every request allowed by authorization (no ALLOW policy)
 * @param workloadApiSocket where the node agent is, used when {@code identity} is absent
 * @param identity          present: the proxy's identity comes from files, not from the Workload API
 * @param workerThreads     the inbound event-loop threads; 0 for Netty's default
 */
public record ProxyConfig(Workload workload, Inbound inbound, App app, Optional<Path> policyDirectory,
        String rootNamespace, PathNormalization pathNormalization, Limits limits, int adminPort,
        String workloadApiSocket, Optional<FileIdentity> identity, int workerThreads) {

    public static final int DEFAULT_INBOUND_PORT = 15006;
    public static final int DEFAULT_ADMIN_PORT = 15000;
    public static final String DEFAULT_SOCKET = "unix:///tmp/keel/agent.sock";

    public ProxyConfig {
        Objects.requireNonNull(workload, "workload");
        Objects.requireNonNull(inbound, "inbound");
        Objects.requireNonNull(app, "app");
        Objects.requireNonNull(policyDirectory, "policyDirectory");
        Objects.requireNonNull(rootNamespace, "rootNamespace");
        Objects.requireNonNull(pathNormalization, "pathNormalization");
        Objects.requireNonNull(limits, "limits");
        Objects.requireNonNull(workloadApiSocket, "workloadApiSocket");
        Objects.requireNonNull(identity, "identity");
        checkPort("adminPort", adminPort);
        if (workerThreads < 0 || workerThreads > 1024) {
            throw new IllegalArgumentException("workerThreads: " + workerThreads + " (expected: 0-1024, 0 for the default)");
        }
    }

    /**
     * The proxy's identity from PEM files, for running without a node agent (benchmarks, VMs with
     * externally managed certificates). The files are re-read when they change; a set that does not
     * verify keeps the previous identity.
     *
     * @param certificateChain the X.509-SVID, leaf first, then any intermediates
     * @param privateKey       the leaf's key: PKCS#8, SEC1 or PKCS#1, unencrypted
     * @param trustBundle      the X.509 authorities of {@code trustDomain}, which peers and the SVID verify against
     * @param trustDomain      absent: the trust domain of the SVID's SPIFFE ID; present: must be it
     * @param refreshInterval  how often the files are checked for changes
     */
    public record FileIdentity(Path certificateChain, Path privateKey, Path trustBundle, Optional<TrustDomain> trustDomain,
            Duration refreshInterval) {

        public static final Duration DEFAULT_REFRESH_INTERVAL = Duration.ofSeconds(10);

        public FileIdentity {
            Objects.requireNonNull(certificateChain, "certificateChain");
            Objects.requireNonNull(privateKey, "privateKey");
            Objects.requireNonNull(trustBundle, "trustBundle");
            Objects.requireNonNull(trustDomain, "trustDomain");
            positive("refreshInterval", Objects.requireNonNull(refreshInterval, "refreshInterval").toMillis());
        }
    }

    /** The workload this proxy stands in front of: what policies select it by. */
    public record Workload(String namespace, String serviceAccount, Map<String, String> labels, String trustDomain) {
        public Workload {
            Objects.requireNonNull(namespace, "namespace");
            Objects.requireNonNull(serviceAccount, "serviceAccount");
            labels = Map.copyOf(labels);
            Objects.requireNonNull(trustDomain, "trustDomain");
        }

        /** {@code spiffe://<td>/ns/<namespace>/sa/<serviceAccount>}. */
        public String spiffeId() {
            return "spiffe://" + trustDomain + "/ns/" + namespace + "/sa/" + serviceAccount;
        }
    }

    /**
     * The inbound side. {@code port} (default {@value #DEFAULT_INBOUND_PORT}, 0 for any) carries traffic
     * to {@link App#port()}; each of {@code ports} gets its own listener.
     *
     * @param mode the mode when no PeerAuthentication selects the workload (Istio: PERMISSIVE)
     */
    public record Inbound(String host, int port, Mode mode, List<PortSettings> ports) {
        public Inbound {
            Objects.requireNonNull(host, "host");
            checkPort("inbound.port", port);
            Objects.requireNonNull(mode, "mode");
            ports = List.copyOf(ports);
        }

        /** The settings for traffic to app port {@code port}, if declared. */
        public Optional<PortSettings> settingsFor(int port) {
            return ports.stream().filter(p -> p.port() == port).findFirst();
        }
    }

    /**
     * One declared app port, as Istio's {@code portLevelMtls} plus the protocol.
     *
     * @param port       the app's port the traffic is for (what PeerAuthentication port settings name)
     * @param listenPort where the proxy listens for it (0: any free port)
     * @param mode       UNSET: as the workload's mode
     */
    public record PortSettings(int port, int listenPort, Protocol protocol, Mode mode) {
        public PortSettings {
            checkPort("port", port);
            checkPort("listenPort", listenPort);
            Objects.requireNonNull(protocol, "protocol");
            Objects.requireNonNull(mode, "mode");
        }
    }

    /** Where the local application listens. */
    public record App(String host, int port) {
        public App {
            Objects.requireNonNull(host, "host");
            checkPort("app.port", port);
        }
    }

    /**
     * Hard limits of the inbound side.
     *
     * @param maxHeaderBytes       request line and headers together (431 above)
     * @param maxHeaders           header fields per request (431 above)
     * @param maxRequestBodyBytes  413 above
     * @param idleTimeout          a connection with no traffic for this long is closed
     * @param headerTimeout        a request whose headers are not complete after this long gets 408 (slowloris)
     * @param maxConcurrentStreams per HTTP/2 connection
     */
    public record Limits(int maxHeaderBytes, int maxHeaders, int maxRequestBodyBytes, Duration idleTimeout,
            Duration headerTimeout, int maxConcurrentStreams) {
        public Limits {
            positive("maxHeaderBytes", maxHeaderBytes);
            positive("maxHeaders", maxHeaders);
            positive("maxRequestBodyBytes", maxRequestBodyBytes);
            positive("idleTimeout", Objects.requireNonNull(idleTimeout, "idleTimeout").toMillis());
            positive("headerTimeout", Objects.requireNonNull(headerTimeout, "headerTimeout").toMillis());
            positive("maxConcurrentStreams", maxConcurrentStreams);
        }

        /** 8 KiB of headers, 100 fields, 10 MiB bodies, 5 min idle, 10 s for headers, 100 streams. */
        public static Limits defaults() {
            return new Limits(8192, 100, 10 * 1024 * 1024, Duration.ofMinutes(5), Duration.ofSeconds(10), 100);
        }
    }

    /** A config for {@code workload} in front of {@code app}, everything else default. */
    public static ProxyConfig of(Workload workload, App app) {
        return new ProxyConfig(workload, new Inbound("0.0.0.0", DEFAULT_INBOUND_PORT, Mode.PERMISSIVE, List.of()), app,
                Optional.empty(), "istio-system", PathNormalization.BASE, Limits.defaults(), DEFAULT_ADMIN_PORT,
                DEFAULT_SOCKET, Optional.empty(), 0);
    }

    public ProxyConfig withInbound(Inbound inbound) {
        return new ProxyConfig(workload, inbound, app, policyDirectory, rootNamespace, pathNormalization, limits,
                adminPort, workloadApiSocket, identity, workerThreads);
    }

    public ProxyConfig withPolicyDirectory(Path directory) {
        return new ProxyConfig(workload, inbound, app, Optional.of(directory), rootNamespace, pathNormalization, limits,
                adminPort, workloadApiSocket, identity, workerThreads);
    }

    public ProxyConfig withLimits(Limits limits) {
        return new ProxyConfig(workload, inbound, app, policyDirectory, rootNamespace, pathNormalization, limits,
                adminPort, workloadApiSocket, identity, workerThreads);
    }

    public ProxyConfig withRootNamespace(String rootNamespace) {
        return new ProxyConfig(workload, inbound, app, policyDirectory, rootNamespace, pathNormalization, limits,
                adminPort, workloadApiSocket, identity, workerThreads);
    }

    /** This config with the proxy's identity from {@code files} instead of the Workload API. */
    public ProxyConfig withIdentity(FileIdentity files) {
        return new ProxyConfig(workload, inbound, app, policyDirectory, rootNamespace, pathNormalization, limits,
                adminPort, workloadApiSocket, Optional.of(files), workerThreads);
    }

    public ProxyConfig withWorkerThreads(int workerThreads) {
        return new ProxyConfig(workload, inbound, app, policyDirectory, rootNamespace, pathNormalization, limits,
                adminPort, workloadApiSocket, identity, workerThreads);
    }

    /** Reads {@code file} with {@link #parse(String)}. */
    public static ProxyConfig load(Path file) throws IOException {
        return parse(Files.readString(file));
    }

    /**
     * Parses the YAML form.
     *
     * @throws IllegalArgumentException naming the field, e.g. {@code inbound.ports[0].protocol: "UDP" (expected: HTTP or TCP)}
     */
    public static ProxyConfig parse(String yaml) {
        JsonNode root;
        try {
            root = new ObjectMapper(new YAMLFactory()).readTree(yaml);
        } catch (IOException e) {
            throw new IllegalArgumentException("not YAML: " + e.getMessage(), e);
        }
        Node r = new Node("", root == null || root.isMissingNode() || root.isNull()
                ? new ObjectMapper().createObjectNode() : root);
        // "outbound" is read by OutboundConfig.parse, which owns that section.
        r.only("workload", "inbound", "app", "policyDirectory", "rootNamespace", "pathNormalization", "limits",
                "adminPort", "workloadApiSocket", "identity", "workerThreads", "outbound");

        Node w = r.object("workload");
        w.only("namespace", "serviceAccount", "labels", "trustDomain");
        Workload workload = new Workload(w.text("namespace", "default"), w.text("serviceAccount", "default"),
                w.stringMap("labels"), w.text("trustDomain", "cluster.local"));

        Node in = r.object("inbound");
        in.only("host", "port", "mode", "ports");
        List<PortSettings> ports = new ArrayList<>();
        JsonNode portList = in.node.get("ports");
        if (portList != null && !portList.isNull()) {
            if (!portList.isArray()) {
                throw new IllegalArgumentException(in.path("ports") + ": (expected: a list)");
            }
            for (int i = 0; i < portList.size(); i++) {
                Node p = new Node(in.path("ports") + "[" + i + "]", portList.get(i));
                p.only("port", "listenPort", "protocol", "mode");
                ports.add(new PortSettings(p.integer("port", -1), p.integer("listenPort", 0),
                        p.enumValue("protocol", Protocol.class, Protocol.HTTP), p.enumValue("mode", Mode.class, Mode.UNSET)));
            }
        }
        Inbound inbound = new Inbound(in.text("host", "0.0.0.0"), in.integer("port", DEFAULT_INBOUND_PORT),
                in.enumValue("mode", Mode.class, Mode.PERMISSIVE), ports);

        Node a = r.object("app");
        a.only("host", "port");
        App app = new App(a.text("host", "127.0.0.1"), a.integer("port", -1));

        Node l = r.object("limits");
        l.only("maxHeaderBytes", "maxHeaders", "maxRequestBodyBytes", "idleTimeout", "headerTimeout",
                "maxConcurrentStreams");
        Limits d = Limits.defaults();
        Limits limits = new Limits(l.integer("maxHeaderBytes", d.maxHeaderBytes()), l.integer("maxHeaders", d.maxHeaders()),
                l.integer("maxRequestBodyBytes", d.maxRequestBodyBytes()), l.duration("idleTimeout", d.idleTimeout()),
                l.duration("headerTimeout", d.headerTimeout()), l.integer("maxConcurrentStreams", d.maxConcurrentStreams()));

        Optional<FileIdentity> identity = Optional.empty();
        JsonNode identityNode = r.node.get("identity");
        if (identityNode != null && !identityNode.isNull()) {
            if (r.node.hasNonNull("workloadApiSocket")) {
                throw new IllegalArgumentException("identity: set together with workloadApiSocket (expected: one of them; "
                        + "identity takes the SVID from files, workloadApiSocket from the node agent)");
            }
            identity = Optional.of(fileIdentity(r.object("identity")));
        }

        String dir = r.text("policyDirectory", null);
        try {
            return new ProxyConfig(workload, inbound, app, Optional.ofNullable(dir).map(Path::of),
                    r.text("rootNamespace", "istio-system"),
                    r.enumValue("pathNormalization", PathNormalization.class, PathNormalization.BASE), limits,
                    r.integer("adminPort", DEFAULT_ADMIN_PORT), r.text("workloadApiSocket", DEFAULT_SOCKET), identity,
                    r.integer("workerThreads", 0));
        } catch (NullPointerException e) {
            throw new IllegalArgumentException(e.getMessage() + ": missing", e);
        }
    }

    private static FileIdentity fileIdentity(Node id) {
        id.only("certificateChain", "privateKey", "trustBundle", "trustDomain", "refreshInterval");
        Optional<TrustDomain> trustDomain = Optional.empty();
        String td = id.text("trustDomain", null);
        if (td != null) {
            try {
                trustDomain = Optional.of(TrustDomain.parse(td));
            } catch (RuntimeException e) {
                throw new IllegalArgumentException(id.path("trustDomain") + ": \"" + td + "\" (" + e.getMessage() + ")", e);
            }
        }
        Duration refresh = id.duration("refreshInterval", FileIdentity.DEFAULT_REFRESH_INTERVAL);
        if (refresh.isZero() || refresh.isNegative()) {
            throw new IllegalArgumentException(id.path("refreshInterval") + ": " + refresh.toMillis() + "ms (expected: > 0)");
        }
        return new FileIdentity(id.file("certificateChain"), id.file("privateKey"), id.file("trustBundle"), trustDomain,
                refresh);
    }

    private static final Pattern DURATION = Pattern.compile("(\\d+)(ms|s|m|h)");

    /** A YAML node and where it is, for messages. */
    private record Node(String at, JsonNode node) {

        String path(String field) {
            return at.isEmpty() ? field : at + "." + field;
        }

        void only(String... fields) {
            if (!node.isObject()) {
                throw new IllegalArgumentException((at.isEmpty() ? "config" : at) + ": (expected: a mapping)");
            }
            Set<String> allowed = Set.of(fields);
            for (Map.Entry<String, JsonNode> field : node.properties()) {
                String name = field.getKey();
                if (!allowed.contains(name)) {
                    throw new IllegalArgumentException(path(name) + ": unknown field (expected one of " + List.of(fields) + ")");
                }
            }
        }

        Node object(String field) {
            JsonNode n = node.get(field);
            return new Node(path(field), n == null || n.isNull() ? new ObjectMapper().createObjectNode() : n);
        }

        String text(String field, String dflt) {
            JsonNode n = node.get(field);
            if (n == null || n.isNull()) {
                return dflt;
            }
            if (!n.isValueNode()) {
                throw new IllegalArgumentException(path(field) + ": (expected: a string)");
            }
            return n.asText();
        }

        /** A required, non-empty file path. */
        Path file(String field) {
            String s = text(field, null);
            if (s == null || s.isBlank()) {
                throw new IllegalArgumentException(path(field) + ": missing (expected: a file path)");
            }
            try {
                return Path.of(s);
            } catch (RuntimeException e) {
                throw new IllegalArgumentException(path(field) + ": \"" + s + "\" (expected: a file path)", e);
            }
        }

        int integer(String field, int dflt) {
            JsonNode n = node.get(field);
            if (n == null || n.isNull()) {
                return dflt;
            }
            if (!n.canConvertToInt() || !n.isIntegralNumber()) {
                throw new IllegalArgumentException(path(field) + ": \"" + n.asText() + "\" (expected: an integer)");
            }
            return n.intValue();
        }

        Duration duration(String field, Duration dflt) {
            String s = text(field, null);
            if (s == null) {
                return dflt;
            }
            Matcher m = DURATION.matcher(s.trim());
            if (!m.matches()) {
                throw new IllegalArgumentException(path(field) + ": \"" + s + "\" (expected: a duration like 500ms, 10s, 5m, 1h)");
            }
            long v = Long.parseLong(m.group(1));
            return switch (m.group(2)) {
                case "ms" -> Duration.ofMillis(v);
                case "s" -> Duration.ofSeconds(v);
                case "m" -> Duration.ofMinutes(v);
                default -> Duration.ofHours(v);
            };
        }

        <E extends Enum<E>> E enumValue(String field, Class<E> type, E dflt) {
            String s = text(field, null);
            if (s == null) {
                return dflt;
            }
            try {
                return Enum.valueOf(type, s.trim().toUpperCase(Locale.ROOT));
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException(path(field) + ": \"" + s + "\" (expected one of "
                        + List.of(type.getEnumConstants()) + ")", e);
            }
        }

        Map<String, String> stringMap(String field) {
            JsonNode n = node.get(field);
            Map<String, String> out = new LinkedHashMap<>();
            if (n == null || n.isNull()) {
                return out;
            }
            if (!n.isObject()) {
                throw new IllegalArgumentException(path(field) + ": (expected: a mapping of strings)");
            }
            n.properties().forEach(e -> {
                if (!e.getValue().isValueNode()) {
                    throw new IllegalArgumentException(path(field) + "." + e.getKey() + ": (expected: a string)");
                }
                out.put(e.getKey(), e.getValue().asText());
            });
            return out;
        }
    }

    private static void checkPort(String name, int port) {
        if (port < 0 || port > 65535) {
            throw new IllegalArgumentException(name + ": " + port + " (expected: 0-65535)");
        }
    }

    private static void positive(String name, long value) {
        if (value <= 0) {
            throw new IllegalArgumentException(name + ": " + value + " (expected: > 0)");
        }
    }
}
