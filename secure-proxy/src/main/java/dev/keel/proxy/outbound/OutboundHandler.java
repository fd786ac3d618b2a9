package dev.keel.proxy.outbound;

import dev.keel.identity.SpiffeId;
import dev.keel.proxy.ProxyMetrics;
import dev.keel.proxy.X509Material;
import dev.keel.proxy.outbound.RouteTable.Route;
import dev.keel.proxy.tls.TlsContextHolder;
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
 * One app connection to the outbound listener: each aggregated HTTP/1.1 request is routed, sent
 * over a pooled mTLS connection whose peer passed secure naming, and the response relayed. One
 * request at a time per connection (reading pauses while one is in flight). Runs on the
 * connection's event loop; must not block.
 */
final class OutboundHandler extends ChannelInboundHandlerAdapter {

    private static final Logger log = LoggerFactory.getLogger(OutboundHandler.class);
    private static final List<String> HOP_BY_HOP = List.of("connection", "keep-alive", "proxy-connection", "te",
            "trailer", "transfer-encoding", "upgrade");
    private static final Set<HttpMethod> IDEMPOTENT = Set.of(HttpMethod.GET, HttpMethod.HEAD, HttpMethod.PUT,
            HttpMethod.DELETE, HttpMethod.OPTIONS, HttpMethod.TRACE);

    private final Supplier<RouteTable> routes;
    private final UpstreamPool pool;
    private final TlsContextHolder tls;
    private final ProxyMetrics metrics;
    private final Duration requestTimeout;
    private boolean inFlight;

    OutboundHandler(Supplier<RouteTable> routes, UpstreamPool pool, TlsContextHolder tls, ProxyMetrics metrics,
            Duration requestTimeout) {
        this.routes = routes;
        this.pool = pool;
        this.tls = tls;
        this.metrics = metrics;
        this.requestTimeout = requestTimeout;
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
                record(null, null, 404, "NR", start, request.content().readableBytes(), 0);
                return;
            }
            inFlight = true;
            ctx.channel().config().setAutoRead(false);
            new Exchange(ctx, route.get(), forwardCopy(request), keepAlive, start,
                    IDEMPOTENT.contains(request.method())).send(true);
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
        private final long requestBytes;
        private Channel upstream;
        private boolean reused;
        private boolean done;
        private ScheduledFuture<?> timeout;

        Exchange(ChannelHandlerContext ctx, Route route, FullHttpRequest forward, boolean keepAlive, long start,
                boolean retryable) {
            this.ctx = ctx;
            this.route = route;
            this.forward = forward;
            this.keepAlive = keepAlive;
            this.start = start;
            this.retryable = retryable;
            this.requestBytes = forward.content().readableBytes();
        }

        void send(boolean allowReuse) {
            timeout = ctx.executor().schedule(() -> failed(new TimeoutException("no response within " + requestTimeout)),
                    requestTimeout.toMillis(), TimeUnit.MILLISECONDS);
            pool.acquire(route, ctx.channel().eventLoop(), allowReuse).addListener(acquired -> {
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
                reused = channel.attr(REUSED).get() != null;
                channel.attr(REUSED).set(Boolean.TRUE);
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
            SpiffeId peer = upstream.attr(UpstreamPool.PEER).get();
            write(relay);
            record(route, peer, status, "-", start, requestBytes, responseBytes);
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
            record(route, null, status.code(), flags, start, requestBytes, 0);
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

    private static final io.netty.util.AttributeKey<Boolean> REUSED = io.netty.util.AttributeKey.valueOf("keel.upstream.used");

    private static FullHttpRequest forwardCopy(FullHttpRequest request) {
        FullHttpRequest copy = new DefaultFullHttpRequest(HttpVersion.HTTP_1_1, request.method(), request.uri(),
                request.content().retain(), stripHopByHop(request.headers()), request.trailingHeaders().copy());
        HttpUtil.setContentLength(copy, copy.content().readableBytes());
        return copy;
    }

    private static HttpHeaders stripHopByHop(HttpHeaders headers) {
        HttpHeaders copy = headers.copy();
        for (String listed : headers.getAll(HttpHeaderNames.CONNECTION)) {
            for (String name : listed.split(",")) {
                copy.remove(name.trim());
            }
        }
        HOP_BY_HOP.forEach(copy::remove);
        return copy;
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
    private void record(Route route, SpiffeId peer, int status, String flags, long start, long requestBytes,
            long responseBytes) {
        Optional<SpiffeId> self = tls.current().map(c -> c.material()).map(X509Material::spiffeId);
        String[] labels = {
            "source",
            self.map(SpiffeId::toString).orElse("unknown"),
            self.map(OutboundHandler::serviceAccount).orElse("unknown"),
            self.map(OutboundHandler::namespace).orElse("unknown"),
            peer == null ? "unknown" : peer.toString(),
            route == null ? "unknown" : route.destination(),
            peer == null ? "unknown" : namespace(peer),
            "http",
            Integer.toString(status),
            flags,
            peer == null ? "unknown" : "mutual_tls",
        };
        metrics.request(labels, (System.nanoTime() - start) / 1e6, requestBytes, responseBytes);
    }

    private static String namespace(SpiffeId id) {
        return segmentAfter(id, "ns");
    }

    private static String serviceAccount(SpiffeId id) {
        return segmentAfter(id, "sa");
    }

    private static String segmentAfter(SpiffeId id, String key) {
        String[] segments = id.path().split("/");
        for (int i = 0; i + 1 < segments.length; i++) {
            if (segments[i].equals(key)) {
                return segments[i + 1];
            }
        }
        return "unknown";
    }

}
