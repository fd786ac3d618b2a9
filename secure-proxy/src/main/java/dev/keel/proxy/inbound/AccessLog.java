package dev.keel.proxy.inbound;

import io.netty.util.concurrent.FastThreadLocal;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.LocalDateTime;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
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
    private static final DateTimeFormatter SECONDS = DateTimeFormatter.ofPattern("uuuu-MM-dd'T'HH:mm:ss");

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
    /** The batched file's byte path: the line goes from the builder's bytes into its buffer with no String. */
    private final AccessLogFile file;
    /** One line builder per event loop thread, reused for every line. */
    private static final FastThreadLocal<Line> LINE = new FastThreadLocal<>() {
        @Override
        protected Line initialValue() {
            return new Line();
        }
    };

    /** @param sink where lines go; null: the {@code keel.access} logger at INFO */
    AccessLog(Consumer<String> sink) {
        this.sink = sink;
        this.file = sink instanceof AccessLogFile f ? f : null;
    }

    void log(Entry e) {
        if (sink == null && !LOG.isInfoEnabled()) {
            return;
        }
        Line b = LINE.get();
        b.length = 0;
        b.raw('{');
        if (e.start != null) {
            b.name("time").quote();
            b.instant(e.start);
            b.raw('"').raw(',');
        }
        b.field("protocol", e.protocol);
        b.field("method", e.method);
        b.field("path", e.path);
        b.name("status").number(e.status).raw(',');
        b.field("response_flags", e.flags);
        b.name("duration_ms").millis(e.durationMillis).raw(',');
        b.name("bytes_received").number(e.bytesReceived).raw(',');
        b.name("bytes_sent").number(e.bytesSent).raw(',');
        b.field("source_principal", e.sourcePrincipal);
        b.field("request_principal", e.requestPrincipal);
        b.field("connection_security_policy", e.securityPolicy);
        b.field("downstream_remote_address", e.downstream);
        b.field("upstream_host", e.upstream);
        b.field("request_id", e.requestId);
        b.field("traceparent", e.traceparent);
        b.field("authz_decision", e.authz);
        b.field("authz_policy", e.authzPolicy);
        b.field("detail", e.detail);
        b.length--; // the last comma
        b.raw('}');
        if (file != null) {
            file.acceptAscii(b.bytes, b.length);
        } else {
            String line = new String(b.bytes, 0, b.length, StandardCharsets.US_ASCII);
            if (sink != null) {
                sink.accept(line);
            } else {
                LOG.info(line);
            }
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

    /**
     * A JSON line as ASCII bytes: control characters and everything beyond ASCII escaped as {@code \\uXXXX},
     * so the line is pure ASCII (which the file's byte path relies on).
     */
    static final class Line {
        byte[] bytes = new byte[1024];
        int length;
        /** The second of the last formatted instant and its {@code yyyy-MM-ddTHH:mm:ss} form. */
        private long cachedSecond = Long.MIN_VALUE;
        private final byte[] cachedPrefix = new byte[19];

        private void ensure(int more) {
            if (length + more > bytes.length) {
                bytes = java.util.Arrays.copyOf(bytes, Math.max(bytes.length * 2, length + more));
            }
        }

        Line raw(char c) {
            ensure(1);
            bytes[length++] = (byte) c;
            return this;
        }

        Line quote() {
            return raw('"');
        }

        Line name(String name) {
            ensure(name.length() + 3);
            bytes[length++] = '"';
            for (int i = 0; i < name.length(); i++) {
                bytes[length++] = (byte) name.charAt(i);
            }
            bytes[length++] = '"';
            bytes[length++] = ':';
            return this;
        }

        Line number(long v) {
            if (v < 0) {
                raw('-');
                v = -v;
            }
            if (v < 10) {
                return raw((char) ('0' + v));
            }
            int digits = 0;
            for (long t = v; t > 0; t /= 10) {
                digits++;
            }
            ensure(digits);
            for (int i = length + digits - 1; i >= length; i--) {
                bytes[i] = (byte) ('0' + v % 10);
                v /= 10;
            }
            length += digits;
            return this;
        }

        /** Milliseconds with up to three decimals, as the previous {@code Math.round(x * 1000) / 1000.0} printed them. */
        Line millis(double ms) {
            long micros = Math.round(ms * 1000);
            if (micros < 0) {
                raw('-');
                micros = -micros;
            }
            number(micros / 1000);
            raw('.');
            long frac = micros % 1000;
            if (frac == 0) {
                return raw('0');
            }
            int d100 = (int) (frac / 100);
            int d10 = (int) (frac / 10 % 10);
            int d1 = (int) (frac % 10);
            raw((char) ('0' + d100));
            if (d10 != 0 || d1 != 0) {
                raw((char) ('0' + d10));
            }
            if (d1 != 0) {
                raw((char) ('0' + d1));
            }
            return this;
        }

        /** ISO-8601 UTC with milliseconds ({@code 2026-11-23T09:03:07.123Z}), the date part cached per second. */
        Line instant(Instant t) {
            long second = t.getEpochSecond();
            if (second != cachedSecond) {
                String iso = LocalDateTime.ofEpochSecond(second, 0, ZoneOffset.UTC).format(SECONDS);
                for (int i = 0; i < 19; i++) {
                    cachedPrefix[i] = (byte) iso.charAt(i);
                }
                cachedSecond = second;
            }
            ensure(24);
            System.arraycopy(cachedPrefix, 0, bytes, length, 19);
            length += 19;
            int ms = t.getNano() / 1_000_000;
            bytes[length++] = '.';
            bytes[length++] = (byte) ('0' + ms / 100);
            bytes[length++] = (byte) ('0' + ms / 10 % 10);
            bytes[length++] = (byte) ('0' + ms % 10);
            bytes[length++] = 'Z';
            return this;
        }

        void field(String name, String value) {
            if (value == null) {
                return;
            }
            name(name);
            raw('"');
            int n = value.length();
            ensure(n + 2);
            for (int i = 0; i < n; i++) {
                char c = value.charAt(i);
                if (c >= 0x20 && c <= 0x7e && c != '"' && c != '\\') {
                    if (length == bytes.length) {
                        ensure(n - i + 2);
                    }
                    bytes[length++] = (byte) c;
                    continue;
                }
                switch (c) {
                    case '"' -> raw('\\').raw('"');
                    case '\\' -> raw('\\').raw('\\');
                    case '\n' -> raw('\\').raw('n');
                    case '\r' -> raw('\\').raw('r');
                    case '\t' -> raw('\\').raw('t');
                    default -> raw('\\').raw('u').raw(HEX[c >> 12 & 0xf]).raw(HEX[c >> 8 & 0xf]).raw(HEX[c >> 4 & 0xf])
                            .raw(HEX[c & 0xf]);
                }
                ensure(n - i + 2);
            }
            raw('"').raw(',');
        }
    }
}
