package dev.keel.proxy.outbound;

import dev.keel.proxy.ProxyMetrics;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.socket.SocketChannel;
import io.netty.handler.codec.ByteToMessageDecoder;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http2.Http2FrameCodec;
import io.netty.handler.codec.http2.Http2FrameCodecBuilder;
import io.netty.handler.codec.http2.Http2MultiplexHandler;
import io.netty.handler.codec.http2.Http2Settings;
import io.netty.handler.codec.http2.Http2StreamChannel;
import io.netty.handler.codec.http2.Http2StreamFrameToHttpObjectCodec;
import io.netty.handler.timeout.IdleStateEvent;
import io.netty.handler.timeout.IdleStateHandler;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

/**
 * Sets up each app connection to the outbound HTTP port: the HTTP/2 connection preface (prior
 * knowledge, RFC 9113 section 3.3) makes it h2c, one {@link OutboundHandler} per stream; anything
 * else is HTTP/1.1, one {@link OutboundHandler} for the connection. Shared by the listener's
 * connections; stateless.
 */
final class HttpOutboundInitializer extends ChannelInitializer<SocketChannel> {

    private static final byte[] PREFACE = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".getBytes(StandardCharsets.US_ASCII);

    private final Supplier<RouteTable> routes;
    private final UpstreamPool pool;
    private final SourceLabels labels;
    private final ProxyMetrics metrics;
    private final Duration requestTimeout;
    private final Duration idleTimeout;
    private final int maxBodyBytes;
    private final int maxConcurrentStreams;

    HttpOutboundInitializer(Supplier<RouteTable> routes, UpstreamPool pool, SourceLabels labels, ProxyMetrics metrics,
            Duration requestTimeout, Duration idleTimeout, int maxBodyBytes, int maxConcurrentStreams) {
        this.routes = routes;
        this.pool = pool;
        this.labels = labels;
        this.metrics = metrics;
        this.requestTimeout = requestTimeout;
        this.idleTimeout = idleTimeout;
        this.maxBodyBytes = maxBodyBytes;
        this.maxConcurrentStreams = maxConcurrentStreams;
    }

    @Override
    protected void initChannel(SocketChannel ch) {
        ch.pipeline().addLast("idle", new IdleStateHandler(0, 0, idleTimeout.toMillis(), TimeUnit.MILLISECONDS));
        ch.pipeline().addLast("detect-h2c", new PrefaceDetector());
    }

    private void addHttp1(Channel ch) {
        ch.pipeline().addLast(new HttpServerCodec(8192, 32 * 1024, 8192));
        ch.pipeline().addLast(new HttpObjectAggregator(maxBodyBytes));
        ch.pipeline().addLast(new OutboundHandler(routes, pool, labels, metrics, requestTimeout, false));
    }

    private void addHttp2(Channel ch) {
        ch.pipeline().addLast("h2", Http2FrameCodecBuilder.forServer()
                .initialSettings(Http2Settings.defaultSettings().maxConcurrentStreams(maxConcurrentStreams))
                .validateHeaders(true)
                .build());
        ch.pipeline().addLast("h2-multiplex", new Http2MultiplexHandler(new ChannelInitializer<Http2StreamChannel>() {
            @Override
            protected void initChannel(Http2StreamChannel stream) {
                stream.pipeline().addLast(new Http2StreamFrameToHttpObjectCodec(true));
                stream.pipeline().addLast(new HttpObjectAggregator(maxBodyBytes));
                stream.pipeline().addLast(new OutboundHandler(routes, pool, labels, metrics, requestTimeout, true));
            }
        }));
        ch.pipeline().addLast("h2-idle", new Http2IdleCloser());
    }

    /** Decides h2c or HTTP/1.1 from the first bytes, then removes itself. */
    private final class PrefaceDetector extends ByteToMessageDecoder {
        @Override
        protected void decode(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) {
            int n = Math.min(in.readableBytes(), PREFACE.length);
            for (int i = 0; i < n; i++) {
                if (in.getByte(in.readerIndex() + i) != PREFACE[i]) {
                    addHttp1(ctx.channel());
                    ctx.pipeline().remove(this);
                    return;
                }
            }
            if (n == PREFACE.length) {
                addHttp2(ctx.channel());
                ctx.pipeline().remove(this);
            }
        }
    }

    /** Closes an idle h2c connection, but not while a stream is open (a slow upstream is the request timeout's job). */
    private static final class Http2IdleCloser extends ChannelInboundHandlerAdapter {
        @Override
        public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
            if (evt instanceof IdleStateEvent) {
                if (ctx.pipeline().get(Http2FrameCodec.class).connection().numActiveStreams() == 0) {
                    ctx.close();
                }
                return;
            }
            ctx.fireUserEventTriggered(evt);
        }
    }
}
