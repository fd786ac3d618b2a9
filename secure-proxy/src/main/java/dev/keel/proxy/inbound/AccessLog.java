package dev.keel.proxy.inbound;

import java.time.Instant;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One JSON line per request (and per TCP connection) on the slf4j logger {@code keel.access}. Only
 * what is safe to keep: the path without its query (tokens travel in queries), never a header value
 * but the request id and traceparent, the request principal ({@code iss/sub}) but never the token.
 * Thread-safe.
 */
final class AccessLog {

    static final String LOGGER = "keel.access";
    private static final Logger LOG = LoggerFactory.getLogger(LOGGER);
    private static final char[] HEX = "0123456789abcdef".toCharArray();

    /** One finished request; fields null when unknown. Filled on the event loop. */
    static final class Entry {
        Instant start;
        String protocol;
        String method;
        String path;
        int status;
        String flags = "-";
        double durationMillis;
        long bytesReceived;
        long bytesSent;
        String sourcePrincipal;
        String requestPrincipal;
        String requestId;
        String traceparent;
        String authz;
        String authzPolicy;
        String detail;
        String securityPolicy;
        String downstream;
        String upstream;
    }

    private final Consumer<String> sink;

    /** @param sink where lines go; null: the {@code keel.access} logger at INFO */
    AccessLog(Consumer<String> sink) {
        this.sink = sink;
    }

    void log(Entry e) {
        if (sink == null && !LOG.isInfoEnabled()) {
            return;
        }
        StringBuilder b = new StringBuilder(512).append('{');
        field(b, "time", e.start == null ? null : e.start.toString());
        field(b, "protocol", e.protocol);
        field(b, "method", e.method);
        field(b, "path", e.path);
        b.append("\"status\":").append(e.status).append(',');
        field(b, "response_flags", e.flags);
        b.append("\"duration_ms\":").append(Math.round(e.durationMillis * 1000) / 1000.0).append(',');
        b.append("\"bytes_received\":").append(e.bytesReceived).append(',');
        b.append("\"bytes_sent\":").append(e.bytesSent).append(',');
        field(b, "source_principal", e.sourcePrincipal);
        field(b, "request_principal", e.requestPrincipal);
        field(b, "connection_security_policy", e.securityPolicy);
        field(b, "downstream_remote_address", e.downstream);
        field(b, "upstream_host", e.upstream);
        field(b, "request_id", e.requestId);
        field(b, "traceparent", e.traceparent);
        field(b, "authz_decision", e.authz);
        field(b, "authz_policy", e.authzPolicy);
        field(b, "detail", e.detail);
        b.setLength(b.length() - 1);
        String line = b.append('}').toString();
        if (sink != null) {
            sink.accept(line);
        } else {
            LOG.info(line);
        }
    }

    /** A request refused before it could be parsed (framing, limits, timeouts). */
    void rejected(InboundServices services, ConnectionInfo info, int status, String flags, String detail) {
        rejected(services, info, "HTTP/1.1", status, flags, detail);
    }

    /** As {@link #rejected(InboundServices, ConnectionInfo, int, String, String)} for {@code protocol}. */
    void rejected(InboundServices services, ConnectionInfo info, String protocol, int status, String flags,
            String detail) {
        String[] labels = info.requestLabels(services.ownSpiffeId(), services.destinationWorkload(),
                services.destinationNamespace(), "http");
        labels[8] = Integer.toString(status);
        labels[9] = flags;
        services.metrics().request(labels, 0, 0, 0);
        Entry e = new Entry();
        e.start = services.clock().instant();
        e.protocol = protocol;
        e.status = status;
        e.flags = flags;
        e.sourcePrincipal = info.sourcePrincipal;
        e.securityPolicy = info.securityPolicy;
        e.downstream = info.downstream;
        e.detail = detail;
        log(e);
    }

    private static void field(StringBuilder b, String name, String value) {
        if (value == null) {
            return;
        }
        b.append('"').append(name).append("\":\"");
        for (int i = 0; i < value.length(); i++) {
            char c = value.charAt(i);
            switch (c) {
                case '"' -> b.append("\\\"");
                case '\\' -> b.append("\\\\");
                case '\n' -> b.append("\\n");
                case '\r' -> b.append("\\r");
                case '\t' -> b.append("\\t");
                default -> {
                    // Control characters and everything beyond ASCII as \\uXXXX: lines are pure ASCII,
                    // which AccessLogFile relies on.
                    if (c < 0x20 || c > 0x7e) {
                        b.append("\\u").append(HEX[c >> 12 & 0xf]).append(HEX[c >> 8 & 0xf]).append(HEX[c >> 4 & 0xf])
                                .append(HEX[c & 0xf]);
                    } else {
                        b.append(c);
                    }
                }
            }
        }
        b.append("\",");
    }
}
