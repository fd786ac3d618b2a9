package dev.keel.agent;

import io.prometheus.metrics.config.EscapingScheme;
import io.prometheus.metrics.core.metrics.Counter;
import io.prometheus.metrics.core.metrics.GaugeWithCallback;
import io.prometheus.metrics.core.metrics.Histogram;
import io.prometheus.metrics.expositionformats.PrometheusTextFormatWriter;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.io.IOException;
import java.io.OutputStream;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Objects;
import java.util.function.Supplier;

/**
 * The agent's Prometheus metrics, in a registry of its own (several agents can run in one JVM in
 * tests). Expiry gauges are computed at scrape time from the current snapshot, so they are never
 * stale.
 */
public final class AgentMetrics {

    private final PrometheusRegistry registry = new PrometheusRegistry();
    private final Counter served;
    private final Counter caFailures;
    private final Histogram caLatency;
    private final Counter attestationFailures;
    private volatile boolean caReachable = true;
    private volatile Supplier<IdentitySnapshot> snapshots = () -> IdentitySnapshot.EMPTY;
    private volatile Supplier<Instant> nodeSvidExpiry = () -> null;

    public AgentMetrics(Clock clock) {
        Objects.requireNonNull(clock, "clock");
        served = Counter.builder().name("keel_agent_svids_served_total")
                .help("SVIDs and bundles sent to workloads over the Workload API")
                .labelNames("type").register(registry);
        caFailures = Counter.builder().name("keel_agent_ca_request_failures_total")
                .help("CA requests that failed, by method and gRPC status code")
                .labelNames("method", "code").register(registry);
        caLatency = Histogram.builder().name("keel_agent_ca_request_duration_seconds")
                .help("CA request latency, by method").classicOnly()
                .classicUpperBounds(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)
                .labelNames("method").register(registry);
        attestationFailures = Counter.builder().name("keel_agent_workload_attestation_failures_total")
                .help("Workload API calls refused because the caller could not be attested, by attestor")
                .labelNames("attestor").register(registry);
        GaugeWithCallback.builder().name("keel_agent_svid_expiry_seconds")
                .help("Seconds until each cached X.509-SVID expires (negative once expired; never served then)")
                .labelNames("spiffe_id", "entry_id")
                .callback(callback -> {
                    Instant now = clock.instant();
                    for (WorkloadSvid svid : snapshots.get().svidsByEntryId().values()) {
                        callback.call(seconds(now, svid.notAfter()), svid.entry().spiffeId().toString(),
                                svid.entry().id());
                    }
                }).register(registry);
        GaugeWithCallback.builder().name("keel_agent_node_svid_expiry_seconds")
                .help("Seconds until the node's own X.509-SVID expires")
                .callback(callback -> {
                    Instant expiry = nodeSvidExpiry.get();
                    if (expiry != null) {
                        callback.call(seconds(clock.instant(), expiry));
                    }
                }).register(registry);
        GaugeWithCallback.builder().name("keel_agent_ca_reachable")
                .help("1 when the last CA request succeeded, 0 while the agent is retrying")
                .callback(callback -> callback.call(caReachable ? 1 : 0)).register(registry);
        GaugeWithCallback.builder().name("keel_agent_registration_entries")
                .help("Registration entries the CA bound to this node")
                .callback(callback -> callback.call(snapshots.get().entries().size())).register(registry);
    }

    /** Where the expiry and entry gauges read from. */
    public void bindSnapshots(Supplier<IdentitySnapshot> source) {
        this.snapshots = Objects.requireNonNull(source, "source");
    }

    public void bindNodeSvidExpiry(Supplier<Instant> source) {
        this.nodeSvidExpiry = Objects.requireNonNull(source, "source");
    }

    /** @param type {@code x509_svid}, {@code x509_bundle}, {@code jwt_svid} or {@code jwt_bundle} */
    public void served(String type, int count) {
        served.labelValues(type).inc(count);
    }

    public void caRequest(String method, Duration latency) {
        caLatency.labelValues(method).observe(latency.toNanos() / 1e9);
        caReachable = true;
    }

    /** @param code the gRPC status code name, e.g. {@code UNAVAILABLE} */
    public void caFailure(String method, String code, Duration latency) {
        caLatency.labelValues(method).observe(latency.toNanos() / 1e9);
        caFailures.labelValues(method, code).inc();
        if ("UNAVAILABLE".equals(code) || "DEADLINE_EXCEEDED".equals(code)) {
            caReachable = false;
        }
    }

    public boolean caReachable() {
        return caReachable;
    }

    public void attestationFailure(String attestor) {
        attestationFailures.labelValues(attestor).inc();
    }

    /** Writes the Prometheus text exposition format. */
    public void writeText(OutputStream out) throws IOException {
        PrometheusTextFormatWriter.create().write(out, registry.scrape(), EscapingScheme.ALLOW_UTF8);
    }

    public String contentType() {
        return PrometheusTextFormatWriter.CONTENT_TYPE;
    }

    private static double seconds(Instant now, Instant then) {
        return Duration.between(now, then).toMillis() / 1000.0;
    }
}
