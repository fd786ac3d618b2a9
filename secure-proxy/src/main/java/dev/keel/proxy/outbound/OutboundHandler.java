package dev.keel.proxy.outbound;

import dev.keel.identity.SpiffeId;
import dev.keel.proxy.ProxyMetrics;
import dev.keel.proxy.outbound.RouteTable.Route;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.http.DefaultFullHttpRequest;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http2.HttpConversionUtil;
import io.netty.handler.timeout.IdleStateEvent;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.ScheduledFuture;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One app connection (HTTP/1.1) or one h2c stream to the outbound listener: each aggregated request
 * is routed by its Host (h2: {@code :authority}), sent over mTLS to a peer that passed secure
 * naming, HTTP/1.1 on a pooled keep-alive connection or a stream of the route's shared h2
 * connection, and the response relayed. One request at a time per instance (reading pauses while one
 * is in flight). Runs on the connection's event loop; must not block.
 */
final class OutboundHandler extends ChannelInboundHandlerAdapter {

    private static final Logger log = LoggerFactory.getLogger(OutboundHandler.class);
    private static final List<String> HOP_BY_HOP = List.of("connection", "keep-alive", "proxy-connection", "te",
            "trailer", "transfer-encoding", "upgrade");
    private static final Set<HttpMethod> IDEMPOTENT = Set.of(HttpMethod.GET, HttpMethod.HEAD, HttpMethod.PUT,
            HttpMethod.DELETE, HttpMethod.OPTIONS, HttpMethod.TRACE);

    private final Supplier<RouteTable> routes;
    private final UpstreamPool pool;
    private final SourceLabels labels;
    private final ProxyMetrics metrics;
    private final Duration requestTimeout;
    private final boolean http2Downstream;
    private boolean inFlight;

    /** {@code http2Downstream}: this instance serves one stream of an h2c connection. */
    OutboundHandler(Supplier<RouteTable> routes, UpstreamPool pool, SourceLabels labels, ProxyMetrics metrics,
            Duration requestTimeout, boolean http2Downstream) {
        this.routes = routes;
        this.pool = pool;
        this.labels = labels;
        this.metrics = metrics;
        this.requestTimeout = requestTimeout;
        this.http2Downstream = http2Downstream;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (!(msg instanceof FullHttpRequest request)) {
            ReferenceCountUtil.release(msg);
            return;
        }
        try {
            long start = System.nanoTime();
            if (request.decoderResult().isFailure()) {
                respond(ctx, HttpResponseStatus.BAD_REQUEST, "malformed request\n", false);
                return;
            }
            boolean keepAlive = HttpUtil.isKeepAlive(request);
            String host = request.headers().get(HttpHeaderNames.HOST);
            Optional<Route> route = routes.get().find(host);
            if (route.isEmpty()) {
                respond(ctx, HttpResponseStatus.NOT_FOUND, "no route to " + host + "\n", keepAlive);
                record(null, null, request, 404, "NR", start, request.content().readableBytes(), 0);
                return;
            }
            inFlight = true;
            ctx.channel().config().setAutoRead(false);
            boolean http2Upstream = http2Downstream || route.get().protocol() == RouteProtocol.HTTP2;
            new Exchange(ctx, route.get(), forwardCopy(request), keepAlive, start,
                    IDEMPOTENT.contains(request.method()), http2Upstream, protocolLabel(request)).send(true);
        } finally {
            request.release();
        }
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
        if (evt instanceof IdleStateEvent && !inFlight) {
            ctx.close();
            return;
        }
        ctx.fireUserEventTriggered(evt);
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        log.debug("Outbound connection from {} failed", ctx.channel().remoteAddress(), cause);
        ctx.close();
    }

    /** One request on its way upstream; completes once, on the event loop. */
    private final class Exchange implements UpstreamHandler.Exchange {

        private final ChannelHandlerContext ctx;
        private final Route route;
        private final FullHttpRequest forward;
        private final boolean keepAlive;
        private final long start;
        private final boolean retryable;
        private final boolean http2Upstream;
        private final String protocol;
        private final long requestBytes;
        private Channel upstream;
        private boolean reused;
        private boolean done;
        private ScheduledFuture<?> timeout;

        Exchange(ChannelHandlerContext ctx, Route route, FullHttpRequest forward, boolean keepAlive, long start,
                boolean retryable, boolean http2Upstream, String protocol) {
            this.ctx = ctx;
            this.route = route;
            this.forward = forward;
            this.keepAlive = keepAlive;
            this.start = start;
            this.retryable = retryable;
            this.http2Upstream = http2Upstream;
            this.protocol = protocol;
            this.requestBytes = forward.content().readableBytes();
        }

        void send(boolean allowReuse) {
            timeout = ctx.executor().schedule(() -> failed(new TimeoutException("no response within " + requestTimeout)),
                    requestTimeout.toMillis(), TimeUnit.MILLISECONDS);
            pool.acquire(route, ctx.channel().eventLoop(), http2Upstream, allowReuse).addListener(acquired -> {
                if (!acquired.isSuccess()) {
                    failed(acquired.cause());
                    return;
                }
                Channel channel = (Channel) acquired.getNow();
                if (done) {
                    pool.release(route, channel);
                    return;
                }
                upstream = channel;
                reused = Boolean.TRUE.equals(channel.attr(UpstreamPool.REUSED).get());
                channel.pipeline().get(UpstreamHandler.class).expect(this);
                // Keep one reference so the request can be resent once on a fresh connection.
                channel.writeAndFlush(forward.retainedDuplicate()).addListener((ChannelFutureListener) written -> {
                    if (!written.isSuccess()) {
                        written.channel().close();
                    }
                });
            });
        }

        @Override
        public void response(FullHttpResponse response) {
            if (done) {
                response.release();
                return;
            }
            finish();
            boolean upstreamKeepAlive = HttpUtil.isKeepAlive(response);
            int status = response.status().code();
            long responseBytes = response.content().readableBytes();
            FullHttpResponse relay = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, response.status(),
                    response.content(), stripHopByHop(response.headers()), response.trailingHeaders());
            // The aggregator left a Content-Length (the upstream's own for HEAD).
            HttpUtil.setKeepAlive(relay, keepAlive);
            if (upstreamKeepAlive) {
                pool.release(route, upstream);
            } else {
                upstream.close();
            }
            SpiffeId peer = upstream.attr(UpstreamConnector.PEER).get();
            write(relay);
            record(route, peer, protocol, status, "-", start, requestBytes, responseBytes);
        }

        @Override
        public void failed(Throwable cause) {
            if (done) {
                return;
            }
            if (upstream != null) {
                upstream.pipeline().get(UpstreamHandler.class).expect(null);
            }
            if (reused && retryable && cause instanceof UpstreamClosedException) {
                // A pooled connection the upstream had closed meanwhile: resend once on a new one.
                log.debug("Retrying {} on a new connection: {}", route.destination(), cause.getMessage());
                timeout.cancel(false);
                reused = false;
                upstream = null;
                send(false);
                return;
            }
            finish();
            if (upstream != null) {
                upstream.close();
            }
            HttpResponseStatus status;
            String flags;
            String body;
            if (cause instanceof SecureNamingException) {
                status = HttpResponseStatus.SERVICE_UNAVAILABLE;
                flags = "UF";
                body = "upstream connect error: secure naming: " + cause.getMessage() + "\n";
                log.warn("Secure naming failure: {}", cause.getMessage());
            } else if (cause instanceof TimeoutException) {
                status = HttpResponseStatus.GATEWAY_TIMEOUT;
                flags = "UT";
                body = "upstream request timeout\n";
            } else if (cause instanceof UpstreamClosedException) {
                status = HttpResponseStatus.SERVICE_UNAVAILABLE;
                flags = "UC";
                body = "upstream connection terminated: " + cause.getMessage() + "\n";
            } else {
                status = HttpResponseStatus.SERVICE_UNAVAILABLE;
                flags = "UF";
                body = "upstream connect error: " + cause + "\n";
                log.warn("Upstream {} for {} failed: {}", route.upstream(), route.destination(), cause.toString());
            }
            FullHttpResponse response = textResponse(status, body);
            HttpUtil.setKeepAlive(response, keepAlive);
            write(response);
            record(route, null, protocol, status.code(), flags, start, requestBytes, 0);
        }

        private void finish() {
            done = true;
            timeout.cancel(false);
            forward.release();
        }

        private void write(FullHttpResponse response) {
            inFlight = false;
            if (keepAlive) {
                ctx.writeAndFlush(response);
                ctx.channel().config().setAutoRead(true);
            } else {
                ctx.writeAndFlush(response).addListener(ChannelFutureListener.CLOSE);
            }
        }
    }

    private static FullHttpRequest forwardCopy(FullHttpRequest request) {
        HttpHeaders headers = stripHopByHop(request.headers());
        if (request.headers().containsValue(HttpHeaderNames.TE, HttpHeaderValues.TRAILERS, true)) {
            // The one TE value h2 allows, and gRPC servers require it.
            headers.set(HttpHeaderNames.TE, HttpHeaderValues.TRAILERS);
        }
        FullHttpRequest copy = new DefaultFullHttpRequest(HttpVersion.HTTP_1_1, request.method(), request.uri(),
                request.content().retain(), headers, request.trailingHeaders().copy());
        HttpUtil.setContentLength(copy, copy.content().readableBytes());
        return copy;
    }

    /**
     * A copy without hop-by-hop headers, nor the {@code x-http2-*} headers Netty's h2 to HTTP/1.1
     * conversion adds (they describe this hop's stream, not the request).
     */
    private static HttpHeaders stripHopByHop(HttpHeaders headers) {
        HttpHeaders copy = headers.copy();
        for (String listed : headers.getAll(HttpHeaderNames.CONNECTION)) {
            for (String name : listed.split(",")) {
                copy.remove(name.trim());
            }
        }
        HOP_BY_HOP.forEach(copy::remove);
        for (HttpConversionUtil.ExtensionHeaderNames extension : HttpConversionUtil.ExtensionHeaderNames.values()) {
            copy.remove(extension.text());
        }
        return copy;
    }

    private static String protocolLabel(FullHttpRequest request) {
        String contentType = request.headers().get(HttpHeaderNames.CONTENT_TYPE);
        return contentType != null && contentType.startsWith("application/grpc") ? "grpc" : "http";
    }

    private void respond(ChannelHandlerContext ctx, HttpResponseStatus status, String body, boolean keepAlive) {
        FullHttpResponse response = textResponse(status, body);
        HttpUtil.setKeepAlive(response, keepAlive);
        if (keepAlive) {
            ctx.writeAndFlush(response);
        } else {
            ctx.writeAndFlush(response).addListener(ChannelFutureListener.CLOSE);
        }
    }

    private static FullHttpResponse textResponse(HttpResponseStatus status, String body) {
        FullHttpResponse response = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, status,
                Unpooled.wrappedBuffer(body.getBytes(StandardCharsets.UTF_8)));
        response.headers().set(HttpHeaderNames.CONTENT_TYPE, HttpHeaderValues.TEXT_PLAIN + "; charset=utf-8");
        HttpUtil.setContentLength(response, response.content().readableBytes());
        return response;
    }

    /** Istio's standard request metric, reported by the source side. */
    private void record(Route route, SpiffeId peer, String protocol, int status, String flags, long start,
            long requestBytes, long responseBytes) {
        metrics.request(labels.request(route, peer, protocol, status, flags),
                (System.nanoTime() - start) / 1e6, requestBytes, responseBytes);
    }

    private void record(Route route, SpiffeId peer, FullHttpRequest request, int status, String flags, long start,
            long requestBytes, long responseBytes) {
        record(route, peer, protocolLabel(request), status, flags, start, requestBytes, responseBytes);
    }
}
