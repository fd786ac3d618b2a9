package dev.keel.proxy;

import io.prometheus.metrics.config.EscapingScheme;
import io.prometheus.metrics.core.datapoints.CounterDataPoint;
import io.prometheus.metrics.core.datapoints.DistributionDataPoint;
import io.prometheus.metrics.core.metrics.Counter;
import io.prometheus.metrics.core.metrics.Histogram;
import io.prometheus.metrics.expositionformats.PrometheusTextFormatWriter;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.io.IOException;
import java.io.OutputStream;

/**
 * Istio's standard metrics, with its names and labels, so existing dashboards work: requests,
 * their duration and sizes, and TCP bytes and connections. One registry per proxy.
 */
public final class ProxyMetrics {

    /** The labels Istio puts on its standard metrics, in this order. */
    static final String[] LABELS = {"reporter", "source_principal", "source_workload", "source_workload_namespace",
            "destination_principal", "destination_workload", "destination_workload_namespace", "request_protocol",
            "response_code", "response_flags", "connection_security_policy"};
    private static final String[] TCP_LABELS = {"reporter", "source_principal", "source_workload",
            "source_workload_namespace", "destination_principal", "destination_workload",
            "destination_workload_namespace", "request_protocol", "response_flags", "connection_security_policy"};

    private final PrometheusRegistry registry = new PrometheusRegistry();
    private final Counter requests;
    private final Histogram duration;
    private final Histogram requestBytes;
    private final Histogram responseBytes;
    private final Counter tcpSent;
    private final Counter tcpReceived;
    private final Counter tcpOpened;
    private final Counter tcpClosed;
    private final Counter secureNamingFailures;

    public ProxyMetrics() {
        // No exemplars: there is no trace context to attach, and sampling them costs on every observation.
        requests = Counter.builder().name("istio_requests_total").help("Requests handled by the proxy")
                .withoutExemplars().labelNames(LABELS).register(registry);
        duration = Histogram.builder().name("istio_request_duration_milliseconds").help("Request duration")
                .classicOnly().classicUpperBounds(0.5, 1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000,
                        30000, 60000, 300000, 600000, 1800000, 3600000)
                .withoutExemplars().labelNames(LABELS).register(registry);
        requestBytes = Histogram.builder().name("istio_request_bytes").help("Request sizes (headers and body)")
                .classicOnly().classicExponentialUpperBounds(1, 10, 8).withoutExemplars().labelNames(LABELS)
                .register(registry);
        responseBytes = Histogram.builder().name("istio_response_bytes").help("Response sizes (headers and body)")
                .classicOnly().classicExponentialUpperBounds(1, 10, 8).withoutExemplars().labelNames(LABELS)
                .register(registry);
        tcpSent = Counter.builder().name("istio_tcp_sent_bytes").help("Bytes sent on TCP connections")
                .labelNames(TCP_LABELS).register(registry);
        tcpReceived = Counter.builder().name("istio_tcp_received_bytes").help("Bytes received on TCP connections")
                .labelNames(TCP_LABELS).register(registry);
        tcpOpened = Counter.builder().name("istio_tcp_connections_opened").help("TCP connections opened")
                .labelNames(TCP_LABELS).register(registry);
        tcpClosed = Counter.builder().name("istio_tcp_connections_closed").help("TCP connections closed")
                .labelNames(TCP_LABELS).register(registry);
        secureNamingFailures = Counter.builder().name("keel_proxy_secure_naming_failures")
                .help("Outbound connections refused because the server's SPIFFE ID was not one allowed for the destination")
                .labelNames("destination").register(registry);
    }

    /**
     * One finished HTTP request. {@code labels} are the values of {@link #LABELS} in order; callers
     * keep one array per connection and change only what differs (response code and flags).
     */
    public void request(String[] labels, double millis, long requestSize, long responseSize) {
        requestSeries(labels).record(millis, requestSize, responseSize);
    }

    /**
     * The request metrics of one label set ({@link #LABELS} values in order), looked up once. The
     * lookup hashes every label; a caller that sees the same labels again (a connection's requests)
     * keeps the series and skips it.
     */
    public RequestSeries requestSeries(String[] labels) {
        return new RequestSeries(requests.labelValues(labels), duration.labelValues(labels),
                requestBytes.labelValues(labels), responseBytes.labelValues(labels));
    }

    /** The data points of one label set of the request metrics. Thread-safe. */
    public static final class RequestSeries {
        private final CounterDataPoint count;
        private final DistributionDataPoint duration;
        private final DistributionDataPoint requestBytes;
        private final DistributionDataPoint responseBytes;

        RequestSeries(CounterDataPoint count, DistributionDataPoint duration, DistributionDataPoint requestBytes,
                DistributionDataPoint responseBytes) {
            this.count = count;
            this.duration = duration;
            this.requestBytes = requestBytes;
            this.responseBytes = responseBytes;
        }

        /** One finished request. */
        public void record(double millis, long requestSize, long responseSize) {
            count.inc();
            duration.observe(millis);
            requestBytes.observe(requestSize);
            responseBytes.observe(responseSize);
        }
    }

    /** A TCP connection opened; {@code labels} are {@link #tcpLabelNames()} values in order. */
    public void tcpOpened(String[] labels) {
        tcpOpened.labelValues(labels).inc();
    }

    public void tcpClosed(String[] labels, long sent, long received) {
        tcpSent.labelValues(labels).inc(sent);
        tcpReceived.labelValues(labels).inc(received);
        tcpClosed.labelValues(labels).inc();
    }

    public void secureNamingFailure(String destination) {
        secureNamingFailures.labelValues(destination).inc();
    }

    public static String[] labelNames() {
        return LABELS.clone();
    }

    public static String[] tcpLabelNames() {
        return TCP_LABELS.clone();
    }

    public void writeText(OutputStream out) throws IOException {
        PrometheusTextFormatWriter.create().write(out, registry.scrape(), EscapingScheme.ALLOW_UTF8);
    }

    public String contentType() {
        return PrometheusTextFormatWriter.CONTENT_TYPE;
    }
}
