package dev.keel.proxy.inbound;

import dev.keel.proxy.http.HeaderList;
import io.netty.buffer.ByteBuf;
import java.util.Objects;

/**
 * One whole request as the filter pipeline sees it, whichever protocol carried it: HTTP/1.1 (decoded
 * on the bytes by {@link Http1RequestDecoder}) or HTTP/2 (from HEADERS and DATA frames). The body is
 * aggregated up to the configured limit; the pipeline releases it. Event loop only.
 */
final class InboundRequest {

    static final String HTTP_1_0 = "HTTP/1.0";
    static final String HTTP_1_1 = "HTTP/1.1";
    static final String HTTP_2 = "HTTP/2";

    final String method;
    /** The request target as received (origin form: path and query), not yet normalized. */
    final String uri;
    /** {@link #HTTP_1_0}, {@link #HTTP_1_1} or {@link #HTTP_2}. */
    final String protocol;
    /** Lower-case names; for HTTP/2 without pseudo-headers, {@code :authority} given as {@code host}. */
    final HeaderList headers;
    /** Bytes of the request line (or pseudo-headers) and header fields, for {@code istio_request_bytes}. */
    final int headerBytes;
    /** HTTP/1.x: the connection may carry another request after this one's response. Always true for HTTP/2. */
    final boolean keepAlive;
    ByteBuf body;

    InboundRequest(String method, String uri, String protocol, HeaderList headers, int headerBytes, boolean keepAlive,
            ByteBuf body) {
        this.method = Objects.requireNonNull(method, "method");
        this.uri = Objects.requireNonNull(uri, "uri");
        this.protocol = Objects.requireNonNull(protocol, "protocol");
        this.headers = Objects.requireNonNull(headers, "headers");
        this.headerBytes = headerBytes;
        this.keepAlive = keepAlive;
        this.body = Objects.requireNonNull(body, "body");
    }

    void release() {
        body.release();
    }
}
