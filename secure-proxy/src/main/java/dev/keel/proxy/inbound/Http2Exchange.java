package dev.keel.proxy.inbound;

import dev.keel.proxy.http.HeaderList;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.EventLoop;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http2.DefaultHttp2DataFrame;
import io.netty.handler.codec.http2.DefaultHttp2Headers;
import io.netty.handler.codec.http2.DefaultHttp2HeadersFrame;
import io.netty.handler.codec.http2.DefaultHttp2ResetFrame;
import io.netty.handler.codec.http2.Http2Error;
import io.netty.handler.codec.http2.Http2FrameStream;
import io.netty.handler.codec.http2.Http2Headers;
import io.netty.handler.codec.http2.Http2Stream;
import io.netty.util.AsciiString;

/**
 * One request on one HTTP/2 stream, from its HEADERS to its response: the body aggregated from DATA
 * frames, then the {@link ResponseWriter} the filter pipeline answers through. Created and used by
 * {@link Http2RequestHandler} on the connection's event loop; {@link #respond} must be called there too.
 */
final class Http2Exchange implements ResponseWriter {

    private static final AsciiString CONTENT_LENGTH = AsciiString.cached("content-length");
    /** {@code :status} as {@link ResponseWriter#respond} counts it: name, value and the 4 bytes of {@code ": "} and CRLF. */
    private static final int STATUS_FIELD_BYTES = ":status".length() + 3 + 4;

    private final Http2RequestHandler owner;
    private final ChannelHandlerContext ctx;
    final Http2FrameStream stream;
    final Http2RequestHead head;
    /** The body read so far: the first DATA frame's own buffer, then a copy that grows; null while empty. */
    private ByteBuf body;
    private boolean copied;
    /** The client ended its side of the stream: the request is whole. */
    boolean requestEnded;
    private boolean responded;
    /** The stream was reset or closed before the response, or the connection went away. */
    private boolean gone;

    Http2Exchange(Http2RequestHandler owner, ChannelHandlerContext ctx, Http2FrameStream stream, Http2RequestHead head) {
        this.owner = owner;
        this.ctx = ctx;
        this.stream = stream;
        this.head = head;
    }

    /**
     * Adds one DATA frame's bytes (the caller keeps and releases {@code data}); false when the body would
     * exceed {@code maxBytes}, which leaves the body as it was. A single-frame body is kept without a copy;
     * a longer one is copied into one buffer sized by {@code content-length} when declared (within
     * reason), so a body of many small frames costs neither a component per frame nor repeated
     * consolidation.
     */
    boolean append(ByteBuf data, int maxBytes) {
        int n = data.readableBytes();
        if (n == 0) {
            return true;
        }
        if (body == null) {
            if (n > maxBytes) {
                return false;
            }
            body = data.retain();
            return true;
        }
        long total = (long) body.readableBytes() + n;
        if (total > maxBytes) {
            return false;
        }
        if (!copied) {
            long hint = head.contentLength > total ? head.contentLength : total * 2;
            // A declared length is a claim, not bytes: reserve at most 64 KiB beyond what has arrived, so
            // streams that announce large bodies and send little cannot make the proxy hold much memory.
            hint = Math.min(hint, total + 64 * 1024);
            ByteBuf all = ctx.alloc().buffer((int) Math.min(hint, maxBytes), maxBytes);
            all.writeBytes(body);
            body.release();
            body = all;
            copied = true;
        }
        body.writeBytes(data);
        return true;
    }

    /** Hands the aggregated body over (to the request); the exchange no longer owns it. */
    ByteBuf takeBody() {
        ByteBuf b = body;
        body = null;
        return b == null ? Unpooled.EMPTY_BUFFER : b;
    }

    /** The stream was reset or closed, or the connection is gone: the partial body is dropped, answers go nowhere. */
    void gone() {
        gone = true;
        releaseBody();
    }

    private void releaseBody() {
        if (body != null) {
            body.release();
            body = null;
        }
    }

    /**
     * HEADERS ({@code :status}, the fields without connection-specific ones, {@code content-length}),
     * then the body in one DATA frame that ends the stream, or HEADERS alone ending it for an empty body
     * (and for a response to HEAD, whose body is released unsent).
     * {@code close} and {@code reason} mean nothing in HTTP/2. When the client has not finished its
     * request (a refusal before the whole body arrived), the stream is reset with {@code NO_ERROR} once
     * the response is written, which asks the client to stop sending (RFC 9113 section 8.1).
     */
    @Override
    public int respond(int status, String reason, HeaderList headers, ByteBuf body, boolean close) {
        if (!ctx.executor().inEventLoop()) {
            body.release();
            throw new IllegalStateException("HTTP/2 response for stream " + stream.id() + " written off its event loop");
        }
        if (responded || gone || !ctx.channel().isActive()) {
            body.release();
            responded = true;
            return 0;
        }
        responded = true;
        releaseBody();
        owner.finished(this);
        int length = body.readableBytes();
        Http2Headers out = new DefaultHttp2Headers(false, headers.size() + 2);
        out.status(HttpResponseStatus.valueOf(status).codeAsText());
        int size = STATUS_FIELD_BYTES;
        for (int i = 0; i < headers.size(); i++) {
            String name = headers.name(i);
            String value = headers.value(i);
            if (!connectionSpecific(name, value) || length == 0 && name.equals("content-length")) {
                out.add(name, value);
                size += name.length() + value.length() + 4;
            }
        }
        if (length > 0 || !headers.contains("content-length")) {
            String contentLength = Integer.toString(length);
            out.add(CONTENT_LENGTH, contentLength);
            size += CONTENT_LENGTH.length() + contentLength.length() + 4;
        }
        ChannelFuture last;
        // A response to HEAD announces the length of the body it does not carry (RFC 9110 section 9.3.2).
        if (length == 0 || "HEAD".equals(head.method)) {
            body.release();
            last = ctx.write(new DefaultHttp2HeadersFrame(out, true).stream(stream));
        } else {
            ctx.write(new DefaultHttp2HeadersFrame(out, false).stream(stream));
            last = ctx.write(new DefaultHttp2DataFrame(body, true).stream(stream));
        }
        if (!requestEnded) {
            // After the DATA frame has left the flow controller: a reset sent earlier would discard it.
            last.addListener((ChannelFutureListener) f -> resetIfOpen(Http2Error.NO_ERROR));
        }
        ctx.flush();
        return size;
    }

    /** Sends RST_STREAM unless the stream is already closed (by the client, or both sides done). */
    void resetIfOpen(Http2Error error) {
        if (ctx.channel().isActive() && stream.state() != Http2Stream.State.CLOSED) {
            ctx.writeAndFlush(new DefaultHttp2ResetFrame(error).stream(stream));
        }
    }

    /**
     * Fields HTTP/2 forbids (RFC 9113 section 8.2.2), pseudo-headers, and {@code content-length}, which
     * this writer sets itself.
     */
    private static boolean connectionSpecific(String name, String value) {
        return switch (name) {
            case "connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade", "content-length" -> true;
            case "te" -> !value.equalsIgnoreCase("trailers");
            default -> name.isEmpty() || name.charAt(0) == ':';
        };
    }

    @Override
    public EventLoop eventLoop() {
        return ctx.channel().eventLoop();
    }

    @Override
    public boolean isActive() {
        return !gone && ctx.channel().isActive();
    }

    boolean responded() {
        return responded;
    }
}
