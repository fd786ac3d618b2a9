package dev.keel.proxy.inbound;

import dev.keel.proxy.http.HeaderList;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.EventLoop;
import io.netty.util.ReferenceCountUtil;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;

/**
 * The HTTP/1.1 side of a connection after {@link Http1RequestDecoder}: hands each whole request to the
 * filter pipeline in turn (pipelined requests wait, so responses leave in request order) and writes
 * each response as bytes: status line, fields, {@code content-length}, body, in one buffer when the
 * body is small so TLS seals one record. A {@link Http1Rejection} from the decoder is answered in its
 * turn and closes the connection. Event loop only.
 */
final class Http1ServerHandler extends ChannelInboundHandlerAdapter implements ResponseWriter {

    /** Bodies up to this size are copied behind the head: one buffer, one TLS record, one write. */
    private static final int INLINE_BODY = 4096;
    private static final byte[] HTTP_1_1 = "HTTP/1.1 ".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] CONTENT_LENGTH = "content-length: ".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] CONNECTION_CLOSE = "connection: close\r\n".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] CONNECTION_KEEP_ALIVE = "connection: keep-alive\r\n".getBytes(StandardCharsets.US_ASCII);

    private final RequestStages stages;
    /** Requests (and at most one rejection, last) waiting for the one in progress. */
    private final ArrayDeque<Object> pending = new ArrayDeque<>(2);
    private ChannelHandlerContext ctx;
    /** The request being answered, or null when idle. */
    private InboundRequest current;
    /** A response that closes the connection has been written: nothing more is dispatched. */
    private boolean closing;

    Http1ServerHandler(RequestStages stages) {
        this.stages = stages;
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        this.ctx = ctx;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (!(msg instanceof InboundRequest) && !(msg instanceof Http1Rejection) || closing) {
            // After a response that closes the connection, requests decoded behind it are not served.
            if (msg instanceof InboundRequest r) {
                r.release();
            } else {
                ReferenceCountUtil.release(msg);
            }
            return;
        }
        if (current != null || !pending.isEmpty()) {
            pending.add(msg);
            return;
        }
        dispatch(msg);
    }

    private void dispatch(Object msg) {
        if (msg instanceof Http1Rejection rejection) {
            reject(rejection);
            return;
        }
        InboundRequest req = (InboundRequest) msg;
        current = req;
        stages.handle(req, this);
    }

    private void reject(Http1Rejection r) {
        byte[] body = r.reason().getBytes(StandardCharsets.US_ASCII);
        HeaderList h = new HeaderList(1);
        h.add("content-type", "text/plain");
        ByteBuf out = head(r.status(), r.reason(), h, body.length, true, false);
        out.writeBytes(body);
        closing = true;
        ctx.writeAndFlush(out).addListener(ChannelFutureListener.CLOSE);
        releasePending();
    }

    @Override
    public int respond(int status, String reason, HeaderList headers, ByteBuf body, boolean close) {
        InboundRequest req = current;
        current = null;
        if (!ctx.channel().isActive() || req == null) {
            body.release();
            releasePending();
            return 0;
        }
        boolean keepAlive = !close && req.keepAlive;
        int bodyLength = body.readableBytes();
        boolean head = "HEAD".equals(req.method);
        ByteBuf out = head(status, reason, headers, bodyLength, !keepAlive, keepAlive && req.protocol == InboundRequest.HTTP_1_0);
        int headBytes = out.readableBytes();
        if (head) {
            body.release(); // a response to HEAD announces the length but carries no body
            body = Unpooled.EMPTY_BUFFER;
        } else if (bodyLength <= INLINE_BODY) {
            out.writeBytes(body);
            body.release();
            body = Unpooled.EMPTY_BUFFER;
        }
        if (body.isReadable()) {
            ctx.write(out, ctx.voidPromise());
            out = body;
        }
        if (!keepAlive) {
            closing = true;
            ctx.writeAndFlush(out).addListener(ChannelFutureListener.CLOSE);
            releasePending();
            return headBytes;
        }
        ctx.writeAndFlush(out, ctx.voidPromise());
        if (!pending.isEmpty()) {
            // The next pipelined request starts on its own turn of the loop, not inside this call stack.
            ctx.executor().execute(this::next);
        }
        return headBytes;
    }

    private void next() {
        Object msg = pending.poll();
        if (msg == null) {
            return;
        }
        if (!ctx.channel().isActive()) {
            if (msg instanceof InboundRequest r) {
                r.release();
            }
            releasePending();
            return;
        }
        dispatch(msg);
    }

    private ByteBuf head(int status, String reason, HeaderList headers, int bodyLength, boolean close,
            boolean keepAlive10) {
        ByteBuf out = ctx.alloc().directBuffer(64 + reason.length() + headers.wireLength() + INLINE_BODY / 4);
        out.writeBytes(HTTP_1_1);
        writeStatus(out, status);
        out.writeByte(' ');
        out.writeCharSequence(reason, StandardCharsets.ISO_8859_1);
        out.writeShort('\r' << 8 | '\n');
        headers.writeHttp1(out);
        if (bodyLength > 0 || !headers.contains("content-length")) {
            out.writeBytes(CONTENT_LENGTH);
            out.writeCharSequence(Integer.toString(bodyLength), StandardCharsets.US_ASCII);
            out.writeShort('\r' << 8 | '\n');
        }
        if (close) {
            out.writeBytes(CONNECTION_CLOSE);
        } else if (keepAlive10) {
            out.writeBytes(CONNECTION_KEEP_ALIVE);
        }
        out.writeShort('\r' << 8 | '\n');
        return out;
    }

    private static void writeStatus(ByteBuf out, int status) {
        out.writeByte('0' + status / 100 % 10);
        out.writeByte('0' + status / 10 % 10);
        out.writeByte('0' + status % 10);
    }

    @Override
    public EventLoop eventLoop() {
        return ctx.channel().eventLoop();
    }

    @Override
    public boolean isActive() {
        return ctx.channel().isActive();
    }

    private void releasePending() {
        Object msg;
        while ((msg = pending.poll()) != null) {
            if (msg instanceof InboundRequest r) {
                r.release();
            }
        }
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) throws Exception {
        releasePending();
        super.channelInactive(ctx);
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        ctx.close();
    }
}
