package dev.keel.proxy.inbound;

import dev.keel.proxy.ProxyConfig;
import dev.keel.proxy.ProxyMetrics;
import dev.keel.proxy.pipeline.PipelineHolder;
import dev.keel.proxy.upstream.UpstreamPool;
import java.time.Clock;

/** What every inbound handler shares: config, pipeline, TLS, metrics, the upstream pool. Immutable. */
record InboundServices(ProxyConfig config, PipelineHolder pipelines, ServerTlsContexts tls, ProxyMetrics metrics,
        UpstreamPool upstream, AccessLog accessLog, Clock clock) {

    String ownSpiffeId() {
        return config.workload().spiffeId();
    }

    String destinationWorkload() {
        String app = config.workload().labels().get("app");
        return app != null ? app : config.workload().serviceAccount();
    }

    String destinationNamespace() {
        return config.workload().namespace();
    }
}
