package dev.keel.agent;

import dev.keel.identity.KeyType;
import dev.keel.identity.TrustDomain;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.Objects;
import java.util.Optional;

/**
 * The node agent's configuration. Immutable; build it with {@link #builder()}, whose defaults are
 * Keel's documented ones. {@link #toString()} never shows the join token.
 *
 * @param trustDomain the trust domain this node belongs to
 * @param caAddress the CA's gRPC address, {@code host:port} ({@code [v6]:port} for IPv6 literals)
 * @param bootstrapBundle a file of PEM root certificates or a SPIFFE bundle JSON document, trusted to
 *     authenticate the CA until the agent holds the CA's own bundle (in {@code dataDir}); needed on the
 *     first start only
 * @param dataDir where the node key, node SVID and bundle are kept ({@code 0700}, files {@code 0600})
 * @param joinToken the one-time join token; needed only when the data directory holds no valid node SVID
 * @param rotationFraction the fraction of an SVID's lifetime after which it is renewed, in (0, 1)
 * @param syncInterval how often registration entries and the bundle are fetched from the CA
 * @param keyType the type of the workload keys generated on this node
 * @param workloadSvidTtl the lifetime requested for workload X.509-SVIDs whose entry sets none;
 *     {@link Duration#ZERO} for the CA default
 * @param caCallDeadline the deadline of every call to the CA
 * @param maxConcurrentIssuance how many workload SVID requests may be in flight at once
 * @param kubernetesMode whether workloads get the identity of their pod's service account
 *     ({@code admitPod}) rather than registration entries only
 * @param podIdleTimeout Kubernetes mode: a pod's identity is dropped after this long without a request
 * @param socketPath the Workload API socket
 * @param metricsPort the Prometheus port; {@code -1} disables it, {@code 0} picks a free port
 */
public record AgentConfig(TrustDomain trustDomain, String caAddress, Optional<Path> bootstrapBundle, Path dataDir,
        Optional<JoinToken> joinToken, double rotationFraction, Duration syncInterval, KeyType keyType,
        Duration workloadSvidTtl, Duration caCallDeadline, int maxConcurrentIssuance, boolean kubernetesMode,
        Duration podIdleTimeout, Path socketPath, int metricsPort) {

    public static final int DEFAULT_CA_PORT = 15012;
    public static final double DEFAULT_ROTATION_FRACTION = 0.5;
    public static final Duration DEFAULT_SYNC_INTERVAL = Duration.ofSeconds(5);
    public static final Duration DEFAULT_CA_CALL_DEADLINE = Duration.ofSeconds(10);
    public static final int DEFAULT_MAX_CONCURRENT_ISSUANCE = 32;
    public static final Duration DEFAULT_POD_IDLE_TIMEOUT = Duration.ofHours(1);

    public AgentConfig {
        Objects.requireNonNull(trustDomain, "trustDomain");
        Objects.requireNonNull(caAddress, "caAddress");
        Objects.requireNonNull(bootstrapBundle, "bootstrapBundle");
        Objects.requireNonNull(dataDir, "dataDir");
        Objects.requireNonNull(joinToken, "joinToken");
        Objects.requireNonNull(syncInterval, "syncInterval");
        Objects.requireNonNull(keyType, "keyType");
        Objects.requireNonNull(workloadSvidTtl, "workloadSvidTtl");
        Objects.requireNonNull(caCallDeadline, "caCallDeadline");
        Objects.requireNonNull(podIdleTimeout, "podIdleTimeout");
        Objects.requireNonNull(socketPath, "socketPath");
        parsePort(caAddress);
        if (!(rotationFraction > 0 && rotationFraction < 1)) {
            throw new IllegalArgumentException("rotationFraction: " + rotationFraction + " (expected: > 0 and < 1)");
        }
        positive("syncInterval", syncInterval);
        positive("caCallDeadline", caCallDeadline);
        positive("podIdleTimeout", podIdleTimeout);
        if (workloadSvidTtl.isNegative() || workloadSvidTtl.getNano() != 0) {
            throw new IllegalArgumentException("workloadSvidTtl: " + workloadSvidTtl
                    + " (expected: whole seconds >= 0; 0 for the CA default)");
        }
        if (maxConcurrentIssuance < 1 || maxConcurrentIssuance > 1024) {
            throw new IllegalArgumentException("maxConcurrentIssuance: " + maxConcurrentIssuance
                    + " (expected: 1 to 1024)");
        }
        if (metricsPort < -1 || metricsPort > 65535) {
            throw new IllegalArgumentException("metricsPort: " + metricsPort + " (expected: -1 to 65535)");
        }
    }

    /** A builder with the defaults: {@code cluster.local}, CA at {@code localhost:15012}, rotation at 50%. */
    public static Builder builder() {
        return new Builder();
    }

    /** A builder starting from this configuration. */
    public Builder toBuilder() {
        Builder b = new Builder();
        b.trustDomain = trustDomain;
        b.caAddress = caAddress;
        b.bootstrapBundle = bootstrapBundle.orElse(null);
        b.dataDir = dataDir;
        b.joinToken = joinToken.orElse(null);
        b.rotationFraction = rotationFraction;
        b.syncInterval = syncInterval;
        b.keyType = keyType;
        b.workloadSvidTtl = workloadSvidTtl;
        b.caCallDeadline = caCallDeadline;
        b.maxConcurrentIssuance = maxConcurrentIssuance;
        b.kubernetesMode = kubernetesMode;
        b.podIdleTimeout = podIdleTimeout;
        b.socketPath = socketPath;
        b.metricsPort = metricsPort;
        return b;
    }

    /** The host part of {@link #caAddress()}, without IPv6 brackets. */
    public String caHost() {
        if (caAddress.startsWith("[")) {
            return caAddress.substring(1, caAddress.indexOf(']'));
        }
        int colon = caAddress.indexOf(':');
        return colon < 0 ? caAddress : caAddress.substring(0, colon);
    }

    /** The port of {@link #caAddress()}, {@value #DEFAULT_CA_PORT} when it names none. */
    public int caPort() {
        return parsePort(caAddress);
    }

    @Override
    public String toString() {
        return "AgentConfig[trustDomain=" + trustDomain + ", caAddress=" + caAddress + ", bootstrapBundle="
                + bootstrapBundle.map(Path::toString).orElse("none") + ", dataDir=" + dataDir + ", joinToken="
                + (joinToken.isPresent() ? "(set)" : "none") + ", rotationFraction=" + rotationFraction
                + ", syncInterval=" + syncInterval + ", keyType=" + keyType + ", workloadSvidTtl=" + workloadSvidTtl
                + ", caCallDeadline=" + caCallDeadline + ", maxConcurrentIssuance=" + maxConcurrentIssuance
                + ", kubernetesMode=" + kubernetesMode + ", podIdleTimeout=" + podIdleTimeout + ", socketPath="
                + socketPath + ", metricsPort=" + metricsPort + "]";
    }

    private static int parsePort(String address) {
        String error = "caAddress: \"" + address + "\" (expected: host:port, e.g. ca.keel.svc:15012 or [::1]:15012)";
        if (address.isEmpty() || address.chars().anyMatch(c -> c <= ' ' || c == '/' || c == 0x7f)) {
            throw new IllegalArgumentException(error);
        }
        String portText;
        if (address.startsWith("[")) {
            int close = address.indexOf(']');
            if (close < 2) {
                throw new IllegalArgumentException(error);
            }
            if (close == address.length() - 1) {
                return DEFAULT_CA_PORT;
            }
            if (address.charAt(close + 1) != ':') {
                throw new IllegalArgumentException(error);
            }
            portText = address.substring(close + 2);
        } else {
            int colon = address.indexOf(':');
            if (colon < 0) {
                return DEFAULT_CA_PORT;
            }
            if (colon == 0 || address.indexOf(':', colon + 1) >= 0) {
                throw new IllegalArgumentException(error);
            }
            portText = address.substring(colon + 1);
        }
        try {
            int port = Integer.parseInt(portText);
            if (port < 1 || port > 65535) {
                throw new IllegalArgumentException(error);
            }
            return port;
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(error, e);
        }
    }

    private static void positive(String name, Duration value) {
        if (value.isNegative() || value.isZero()) {
            throw new IllegalArgumentException(name + ": " + value + " (expected: > 0)");
        }
    }

    /**
     * A one-time join token: a bearer secret, so it is held wrapped and never printed. The CLI reads it
     * from a file or the environment, never from the command line where {@code ps} would show it.
     */
    public static final class JoinToken {

        private final String value;

        private JoinToken(String value) {
            this.value = value;
        }

        /** @throws IllegalArgumentException for an empty or blank token, or one with control characters */
        public static JoinToken of(String value) {
            Objects.requireNonNull(value, "value");
            String trimmed = value.strip();
            if (trimmed.isEmpty()) {
                throw new IllegalArgumentException("join token: empty");
            }
            if (trimmed.chars().anyMatch(c -> c < 0x20 || c == 0x7f)) {
                throw new IllegalArgumentException("join token: contains control characters");
            }
            return new JoinToken(trimmed);
        }

        /** @see #of(String) */
        public static JoinToken of(char[] value) {
            return of(new String(Objects.requireNonNull(value, "value")));
        }

        /** The token itself, to send to the CA; do not log it. */
        public String reveal() {
            return value;
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof JoinToken && MessageDigest.isEqual(
                    ((JoinToken) o).value.getBytes(StandardCharsets.UTF_8), value.getBytes(StandardCharsets.UTF_8));
        }

        @Override
        public int hashCode() {
            return 0x4a7; // constant: a hash of a secret is a small leak, and tokens are not map keys
        }

        @Override
        public String toString() {
            return "JoinToken[redacted]";
        }
    }

    /** Builds an {@link AgentConfig}. Not thread-safe. */
    public static final class Builder {

        private TrustDomain trustDomain = TrustDomain.CLUSTER_LOCAL;
        private String caAddress = "localhost:" + DEFAULT_CA_PORT;
        private Path bootstrapBundle;
        private Path dataDir = Path.of("/var/lib/keel/agent");
        private JoinToken joinToken;
        private double rotationFraction = DEFAULT_ROTATION_FRACTION;
        private Duration syncInterval = DEFAULT_SYNC_INTERVAL;
        private KeyType keyType = KeyType.EC_P256;
        private Duration workloadSvidTtl = Duration.ZERO;
        private Duration caCallDeadline = DEFAULT_CA_CALL_DEADLINE;
        private int maxConcurrentIssuance = DEFAULT_MAX_CONCURRENT_ISSUANCE;
        private boolean kubernetesMode;
        private Duration podIdleTimeout = DEFAULT_POD_IDLE_TIMEOUT;
        private Path socketPath = Path.of("/tmp/keel/agent.sock");
        private int metricsPort = -1;

        Builder() {
        }

        public Builder trustDomain(TrustDomain trustDomain) {
            this.trustDomain = Objects.requireNonNull(trustDomain, "trustDomain");
            return this;
        }

        public Builder trustDomain(String trustDomain) {
            return trustDomain(TrustDomain.parse(Objects.requireNonNull(trustDomain, "trustDomain")));
        }

        public Builder caAddress(String caAddress) {
            this.caAddress = Objects.requireNonNull(caAddress, "caAddress");
            return this;
        }

        /** PEM roots or SPIFFE bundle JSON; null for none (the data directory must then hold the bundle). */
        public Builder bootstrapBundle(Path bootstrapBundle) {
            this.bootstrapBundle = bootstrapBundle;
            return this;
        }

        public Builder dataDir(Path dataDir) {
            this.dataDir = Objects.requireNonNull(dataDir, "dataDir");
            return this;
        }

        /** Null for none. */
        public Builder joinToken(JoinToken joinToken) {
            this.joinToken = joinToken;
            return this;
        }

        public Builder rotationFraction(double rotationFraction) {
            this.rotationFraction = rotationFraction;
            return this;
        }

        public Builder syncInterval(Duration syncInterval) {
            this.syncInterval = Objects.requireNonNull(syncInterval, "syncInterval");
            return this;
        }

        public Builder keyType(KeyType keyType) {
            this.keyType = Objects.requireNonNull(keyType, "keyType");
            return this;
        }

        public Builder workloadSvidTtl(Duration workloadSvidTtl) {
            this.workloadSvidTtl = Objects.requireNonNull(workloadSvidTtl, "workloadSvidTtl");
            return this;
        }

        public Builder caCallDeadline(Duration caCallDeadline) {
            this.caCallDeadline = Objects.requireNonNull(caCallDeadline, "caCallDeadline");
            return this;
        }

        public Builder maxConcurrentIssuance(int maxConcurrentIssuance) {
            this.maxConcurrentIssuance = maxConcurrentIssuance;
            return this;
        }

        public Builder kubernetesMode(boolean kubernetesMode) {
            this.kubernetesMode = kubernetesMode;
            return this;
        }

        public Builder podIdleTimeout(Duration podIdleTimeout) {
            this.podIdleTimeout = Objects.requireNonNull(podIdleTimeout, "podIdleTimeout");
            return this;
        }

        public Builder socketPath(Path socketPath) {
            this.socketPath = Objects.requireNonNull(socketPath, "socketPath");
            return this;
        }

        public Builder metricsPort(int metricsPort) {
            this.metricsPort = metricsPort;
            return this;
        }

        /** @throws IllegalArgumentException naming the first invalid setting */
        public AgentConfig build() {
            return new AgentConfig(trustDomain, caAddress, Optional.ofNullable(bootstrapBundle), dataDir,
                    Optional.ofNullable(joinToken), rotationFraction, syncInterval, keyType, workloadSvidTtl,
                    caCallDeadline, maxConcurrentIssuance, kubernetesMode, podIdleTimeout, socketPath, metricsPort);
        }
    }
}
