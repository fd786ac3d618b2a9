package dev.keel.proxy.http;

import io.netty.buffer.ByteBuf;
import io.netty.util.ReferenceCounted;
import java.util.Objects;

/**
 * A whole response read from the app: status, reason phrase, header fields (lower-case names, hop-by-hop
 * ones included as received; the framing fields {@code content-length} and {@code transfer-encoding}
 * are not kept since the body is whole), and the body. Whoever receives it releases it.
 */
public final class UpstreamResponse {

    private final int status;
    private final String reason;
    private final HeaderList headers;
    private final ByteBuf body;

    public UpstreamResponse(int status, String reason, HeaderList headers, ByteBuf body) {
        if (status < 100 || status > 999) {
            throw new IllegalArgumentException("status: " + status + " (expected: 100-999)");
        }
        this.status = status;
        this.reason = Objects.requireNonNull(reason, "reason");
        this.headers = Objects.requireNonNull(headers, "headers");
        this.body = Objects.requireNonNull(body, "body");
    }

    public int status() {
        return status;
    }

    public String reason() {
        return reason;
    }

    public HeaderList headers() {
        return headers;
    }

    /** The whole body (dechunked); owned by whoever holds this response. */
    public ByteBuf body() {
        return body;
    }

    public void release() {
        body.release();
    }
}
