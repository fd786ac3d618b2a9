package dev.keel.proxy.inbound;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.nio.charset.StandardCharsets;
import java.util.Objects;

/**
 * An HTTP/1.1 request that {@link Http1RequestDecoder} refused (framing, limits, header-read timeout,
 * body size, expectation), emitted in the place of the request so that its answer cannot overtake the
 * answers of the requests pipelined before it. The decoder has already recorded it (access log and
 * metrics) and discards every later byte of the connection; whoever consumes it writes {@link #response()}
 * once every earlier request is answered, then closes the connection after that write.
 *
 * @param status the HTTP status (400, 408, 413, 417, 431, 505)
 * @param reason the reason phrase, also the response body
 * @param detail why, for the access log only; never carries request data (header values hold secrets)
 * @param flags the access log's response flags: {@code DPE} for framing and limit errors, else {@code -}
 */
record Http1Rejection(int status, String reason, String detail, String flags) {

    Http1Rejection {
        Objects.requireNonNull(reason, "reason");
        Objects.requireNonNull(detail, "detail");
        Objects.requireNonNull(flags, "flags");
    }

    /** The whole answer: status line, {@code text/plain}, {@code content-length}, {@code connection: close}, the reason. */
    ByteBuf response() {
        byte[] body = reason.getBytes(StandardCharsets.US_ASCII);
        String head = "HTTP/1.1 " + status + " " + reason + "\r\ncontent-type: text/plain\r\ncontent-length: "
                + body.length + "\r\nconnection: close\r\n\r\n";
        return Unpooled.wrappedBuffer(head.getBytes(StandardCharsets.US_ASCII), body);
    }
}
