package dev.keel.proxy.inbound;

import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpMessage;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpVersion;
import java.nio.charset.StandardCharsets;

/**
 * Aggregates a request up to the configured body size; above it answers 413 and closes the
 * connection (HTTP/1.1) or the stream (HTTP/2), so the rest of the body is never read as a request.
 */
final class BodyLimit extends HttpObjectAggregator {

    private final InboundServices services;
    private final ConnectionInfo info;
    private final boolean http2;

    BodyLimit(InboundServices services, ConnectionInfo info, boolean http2) {
        super(services.config().limits().maxRequestBodyBytes());
        this.services = services;
        this.info = info;
        this.http2 = http2;
    }

    @Override
    protected void handleOversizedMessage(ChannelHandlerContext ctx, HttpMessage oversized) {
        FullHttpResponse response = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1,
                HttpResponseStatus.REQUEST_ENTITY_TOO_LARGE,
                Unpooled.copiedBuffer("Payload Too Large", StandardCharsets.US_ASCII));
        response.headers().set(HttpHeaderNames.CONTENT_TYPE, "text/plain");
        response.headers().set(HttpHeaderNames.CONTENT_LENGTH, response.content().readableBytes());
        if (!http2) {
            response.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
        }
        services.accessLog().rejected(services, info, 413, "-", "request body over "
                + services.config().limits().maxRequestBodyBytes() + " bytes");
        ctx.writeAndFlush(response).addListener(ChannelFutureListener.CLOSE);
    }
}
