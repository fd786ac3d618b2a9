package dev.keel.proxy.inbound;

import dev.keel.proxy.audit.PlaintextPeers;
import dev.keel.proxy.ProxyConfig;
import dev.keel.proxy.ProxyMetrics;
import dev.keel.proxy.pipeline.PipelineHolder;
import dev.keel.proxy.upstream.Http1ConnectionPool;
import java.time.Clock;
import java.util.Objects;

/**
 * What every inbound handler shares: config, pipeline, TLS, metrics, the upstream pool, and the values
 * derived from the config that every request needs (computed once, not per request). Immutable.
 */
final class InboundServices {

    private final ProxyConfig config;
    private final PipelineHolder pipelines;
    private final ServerTlsContexts tls;
    private final ProxyMetrics metrics;
    private final Http1ConnectionPool upstream;
    private final AccessLog accessLog;
    private final Clock clock;
    private final String ownSpiffeId;
    private final String destinationWorkload;
    /** Who reached this proxy without mutual TLS, for the mTLS audit (admin {@code /peers}). */
    private final PlaintextPeers plaintextPeers = PlaintextPeers.create();

    InboundServices(ProxyConfig config, PipelineHolder pipelines, ServerTlsContexts tls, ProxyMetrics metrics,
            Http1ConnectionPool upstream, AccessLog accessLog, Clock clock) {
        this.config = Objects.requireNonNull(config, "config");
        this.pipelines = pipelines;
        this.tls = tls;
        this.metrics = metrics;
        this.upstream = upstream;
        this.accessLog = accessLog;
        this.clock = clock;
        this.ownSpiffeId = config.workload().spiffeId();
        String app = config.workload().labels().get("app");
        this.destinationWorkload = app != null ? app : config.workload().serviceAccount();
    }

    PlaintextPeers plaintextPeers() {
        return plaintextPeers;
    }

    ProxyConfig config() {
        return config;
    }

    PipelineHolder pipelines() {
        return pipelines;
    }

    ServerTlsContexts tls() {
        return tls;
    }

    ProxyMetrics metrics() {
        return metrics;
    }

    /** Keep-alive HTTP/1.1 connections to the app. */
    Http1ConnectionPool upstream() {
        return upstream;
    }

    AccessLog accessLog() {
        return accessLog;
    }

    Clock clock() {
        return clock;
    }

    String ownSpiffeId() {
        return ownSpiffeId;
    }

    /** The workload's {@code app} label, else its service account (Istio's destination_workload stand-in). */
    String destinationWorkload() {
        return destinationWorkload;
    }

    String destinationNamespace() {
        return config.workload().namespace();
    }
}
