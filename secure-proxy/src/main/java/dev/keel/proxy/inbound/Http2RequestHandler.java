package dev.keel.proxy.inbound;

import dev.keel.proxy.ProxyConfig;
import dev.keel.proxy.http.HeaderList;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http2.DefaultHttp2ResetFrame;
import io.netty.handler.codec.http2.DefaultHttp2WindowUpdateFrame;
import io.netty.handler.codec.http2.Http2CodecUtil;
import io.netty.handler.codec.http2.Http2DataFrame;
import io.netty.handler.codec.http2.Http2FrameStreamEvent;
import io.netty.handler.codec.http2.Http2FrameStreamException;
import io.netty.handler.codec.http2.Http2HeadersFrame;
import io.netty.handler.codec.http2.Http2ResetFrame;
import io.netty.handler.codec.http2.Http2Stream;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.collection.IntObjectHashMap;
import java.nio.charset.StandardCharsets;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * HTTP/2 requests straight from the frames of one connection, behind its {@code Http2FrameCodec}: one
 * handler for all streams, per-stream state in a map keyed by stream id, no child channel or pipeline
 * per stream and no conversion to HTTP/1 message objects. Each whole request (HEADERS, DATA up to the
 * body limit, trailers dropped) goes to the {@link RequestStages}, which answer through the stream's
 * {@link Http2Exchange}. Streams are independent: a refused or reset stream leaves the others alone.
 *
 * <p>Flow control is the application's with the frame codec: the bytes of every DATA frame are returned
 * (a WINDOW_UPDATE frame written to the codec) as soon as the frame is read. Buffering stays bounded by
 * the body limit per stream and the concurrent-stream limit per connection. A client's GOAWAY ends
 * nothing here: streams it already opened still get their answers (RFC 9113 section 6.8); the
 * connection closing releases whatever is outstanding.
 *
 * <p>Runs on the connection's event loop.
 */
final class Http2RequestHandler extends ChannelInboundHandlerAdapter {

    private static final Logger LOG = LoggerFactory.getLogger(Http2RequestHandler.class);

    private final InboundServices services;
    private final ConnectionInfo info;
    private final RequestStages stages;
    private final int maxHeaders;
    private final int maxBodyBytes;
    /** Streams between their HEADERS and their response (or reset). */
    private final IntObjectHashMap<Http2Exchange> streams = new IntObjectHashMap<>(16);
    private ChannelHandlerContext ctx;

    Http2RequestHandler(InboundServices services, ConnectionInfo info, RequestStages stages) {
        this.services = services;
        this.info = info;
        this.stages = stages;
        ProxyConfig.Limits limits = services.config().limits();
        this.maxHeaders = limits.maxHeaders();
        this.maxBodyBytes = limits.maxRequestBodyBytes();
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        this.ctx = ctx;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (msg instanceof Http2HeadersFrame headers) {
            onHeaders(headers);
        } else if (msg instanceof Http2DataFrame data) {
            onData(data);
        } else if (msg instanceof Http2ResetFrame reset) {
            streamGone(reset.stream().id());
        } else {
            // SETTINGS, PING, GOAWAY, WINDOW_UPDATE, unknown frames: the codec has done what they ask.
            ReferenceCountUtil.release(msg);
        }
    }

    private void onHeaders(Http2HeadersFrame frame) {
        int id = frame.stream().id();
        Http2Exchange ex = streams.get(id);
        if (ex != null) {
            // Trailers: they end the request and are not forwarded (the app is reached over HTTP/1.1
            // with a content-length). HEADERS without END_STREAM here is refused by the codec already.
            if (frame.isEndStream() && !ex.requestEnded) {
                dispatch(ex);
            }
            return;
        }
        Http2Stream.State state = frame.stream().state();
        if (state == Http2Stream.State.HALF_CLOSED_LOCAL || state == Http2Stream.State.CLOSED) {
            // Trailers of a stream refused before its request ended, arriving before our reset did.
            return;
        }
        Http2RequestHead head = Http2RequestHead.read(frame.headers(), maxHeaders, maxBodyBytes);
        ex = new Http2Exchange(this, ctx, frame.stream(), head);
        ex.requestEnded = frame.isEndStream();
        if (head.refused()) {
            refuse(ex, head.refusedStatus, head.refusedFlags, head.refusedDetail);
            return;
        }
        streams.put(id, ex);
        if (ex.requestEnded) {
            dispatch(ex);
        }
    }

    private void onData(Http2DataFrame frame) {
        try {
            Http2Exchange ex = streams.get(frame.stream().id());
            if (ex == null || ex.requestEnded) {
                return; // a refused or reset stream: its bytes are only given back to the window
            }
            if (!ex.append(frame.content(), maxBodyBytes)) {
                ex.requestEnded = frame.isEndStream();
                refuse(ex, 413, "-", "request body over " + maxBodyBytes + " bytes");
            } else if (frame.isEndStream()) {
                dispatch(ex);
            }
        } finally {
            int consumed = frame.initialFlowControlledBytes();
            if (consumed > 0) {
                ctx.write(new DefaultHttp2WindowUpdateFrame(consumed).stream(frame.stream()));
            }
            frame.release();
        }
    }

    private void dispatch(Http2Exchange ex) {
        ex.requestEnded = true;
        Http2RequestHead head = ex.head;
        InboundRequest request = new InboundRequest(head.method, head.path, InboundRequest.HTTP_2, head.headers,
                head.headerBytes, true, ex.takeBody());
        try {
            stages.handle(request, ex);
        } catch (RuntimeException e) {
            // A bug in a stage must not leave the stream hanging; the body is the stages' to release.
            LOG.warn("request stages failed on HTTP/2 stream {} of {}", ex.stream.id(), info.downstream, e);
            if (!ex.responded()) {
                refuse(ex, 500, "-", "request stages failed: " + e.getClass().getSimpleName());
            }
        }
    }

    /** A local answer for a request the stages did not answer, and its access-log line. */
    private void refuse(Http2Exchange ex, int status, String flags, String detail) {
        services.accessLog().rejected(services, info, InboundRequest.HTTP_2, status, flags, detail);
        ex.respond(status, reason(status), textPlain(), reasonBody(status), false);
    }

    /** RFC 9110's reason phrases (Netty still has RFC 2616's "Request Entity Too Large" for 413). */
    private static String reason(int status) {
        return status == 413 ? "Payload Too Large" : HttpResponseStatus.valueOf(status).reasonPhrase();
    }

    private static HeaderList textPlain() {
        HeaderList h = new HeaderList(1);
        h.add("content-type", "text/plain");
        return h;
    }

    private static ByteBuf reasonBody(int status) {
        return Unpooled.wrappedBuffer(reason(status).getBytes(StandardCharsets.US_ASCII));
    }

    /** Called by the exchange when it answers: the stream needs no more state here. */
    void finished(Http2Exchange ex) {
        int id = ex.stream.id();
        if (streams.get(id) == ex) {
            streams.remove(id);
        }
    }

    private void streamGone(int id) {
        Http2Exchange ex = streams.remove(id);
        if (ex != null) {
            ex.gone();
        }
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) throws Exception {
        if (evt instanceof Http2FrameStreamEvent e) {
            // A stream closed before its response was written was reset (by either side): with END_STREAM
            // from both, the response has been written and the exchange is no longer here.
            if (e.type() == Http2FrameStreamEvent.Type.State && e.stream().state() == Http2Stream.State.CLOSED) {
                streamGone(e.stream().id());
            }
            return;
        }
        super.userEventTriggered(ctx, evt);
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        if (cause instanceof Http2FrameStreamException e) {
            // A stream error (a malformed request the codec caught): the frame codec leaves the reset to the
            // application. The connection and its other streams carry on.
            LOG.debug("HTTP/2 stream {} of {} failed: {}", e.stream().id(), info.downstream, cause.getCause());
            Http2Exchange ex = streams.remove(e.stream().id());
            if (ex != null) {
                ex.gone();
            }
            if (ctx.channel().isActive() && e.stream().state() != Http2Stream.State.CLOSED) {
                ctx.writeAndFlush(new DefaultHttp2ResetFrame(e.error()).stream(e.stream()));
            }
            return;
        }
        if (Http2CodecUtil.getEmbeddedHttp2Exception(cause) != null) {
            // A connection error: the codec sends GOAWAY and closes after this; closing first would lose the GOAWAY.
            LOG.debug("HTTP/2 connection error from {}: {}", info.downstream, cause.toString());
            return;
        }
        LOG.debug("HTTP/2 connection from {} failed: {}", info.downstream, cause.toString());
        ctx.close();
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) throws Exception {
        releaseAll();
        super.channelInactive(ctx);
    }

    @Override
    public void handlerRemoved(ChannelHandlerContext ctx) {
        releaseAll();
    }

    private void releaseAll() {
        if (streams.isEmpty()) {
            return;
        }
        for (Http2Exchange ex : streams.values()) {
            ex.gone();
        }
        streams.clear();
    }
}
