package dev.keel.proxy.inbound;

import dev.keel.authz.AuthzRequest;
import dev.keel.authz.Decision;
import dev.keel.authz.Protocol;
import dev.keel.jwt.HeaderMutations;
import dev.keel.jwt.JwtRequest;
import dev.keel.jwt.JwtResult;
import dev.keel.jwt.VerifiedJwt;
import dev.keel.proxy.pipeline.Pipeline;
import dev.keel.proxy.upstream.UpstreamPool;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.TooLongFrameException;
import io.netty.handler.codec.http.DefaultFullHttpRequest;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.DefaultHttpHeadersFactory;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.QueryStringDecoder;
import io.netty.util.ReferenceCountUtil;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;

/**
 * One HTTP request at a time through the filter pipeline: XFCC stripped, request id and traceparent
 * settled, path normalization (400), JWT authentication (401 with {@code WWW-Authenticate}),
 * authorization (403 {@code RBAC: access denied}), then the app over the upstream pool, with the
 * caller's identity in {@code x-forwarded-client-cert}. Records metrics and the access log line.
 * For HTTP/1.1 one instance serves the connection and queues pipelined requests; for HTTP/2 one
 * instance serves one stream. Runs on the event loop; the JWT stage may finish on another thread and
 * hops back.
 */
final class HttpRequestHandler extends ChannelInboundHandlerAdapter {

    static final String XFCC = "x-forwarded-client-cert";
    private static final Set<String> HOP_BY_HOP = Set.of("connection", "keep-alive", "proxy-connection",
            "transfer-encoding", "upgrade", "te", "trailer", "http2-settings");
    /**
     * Headers of the messages this handler builds by copying: every name and value was validated when its
     * message was decoded (or is the proxy's own), so validating again on every request only costs.
     */
    private static final DefaultHttpHeadersFactory COPIED_HEADERS = DefaultHttpHeadersFactory.headersFactory()
            .withValidation(false);
    private static final byte[] RBAC_DENIED = "RBAC: access denied".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] JWT_FAILED = "Jwt verification fails".getBytes(StandardCharsets.US_ASCII);

    private final InboundServices services;
    private final ConnectionInfo info;
    private final boolean http2;
    /** Pipelined HTTP/1.1 requests waiting their turn; HTTP/2 streams carry one request, so it stays small. */
    private final ArrayDeque<FullHttpRequest> pending = new ArrayDeque<>(2);
    private boolean busy;

    HttpRequestHandler(InboundServices services, ConnectionInfo info, boolean http2) {
        this.services = services;
        this.info = info;
        this.http2 = http2;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (!(msg instanceof FullHttpRequest req)) {
            ReferenceCountUtil.release(msg);
            return;
        }
        if (busy) {
            pending.add(req);
            return;
        }
        busy = true;
        start(ctx, req);
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) throws Exception {
        FullHttpRequest r;
        while ((r = pending.poll()) != null) {
            r.release();
        }
        super.channelInactive(ctx);
    }

    /** The state of one request across the stages. */
    private final class Exchange {
        final ChannelHandlerContext ctx;
        final FullHttpRequest req;
        final AccessLog.Entry log = new AccessLog.Entry();
        final long startNanos = System.nanoTime();
        final long requestBytes;
        /** {@code request_protocol}: grpc or http. */
        final String protocol;
        String normalizedPath;

        Exchange(ChannelHandlerContext ctx, FullHttpRequest req) {
            this.ctx = ctx;
            this.req = req;
            long headerBytes = req.method().name().length() + req.uri().length() + 12;
            for (Map.Entry<String, String> h : req.headers()) {
                headerBytes += h.getKey().length() + h.getValue().length() + 4;
            }
            this.requestBytes = headerBytes + req.content().readableBytes();
            String contentType = req.headers().get(HttpHeaderNames.CONTENT_TYPE);
            this.protocol = contentType != null && contentType.startsWith("application/grpc") ? "grpc" : "http";
            log.start = services.clock().instant();
            log.protocol = http2 ? "HTTP/2" : req.protocolVersion().text();
            log.method = req.method().name();
            int q = req.uri().indexOf('?');
            log.path = q < 0 ? req.uri() : req.uri().substring(0, q);
            log.sourcePrincipal = info.sourcePrincipal;
            log.securityPolicy = info.securityPolicy;
            log.downstream = info.downstream;
            log.bytesReceived = requestBytes;
        }
    }

    private void start(ChannelHandlerContext ctx, FullHttpRequest req) {
        Exchange ex = new Exchange(ctx, req);
        if (!req.decoderResult().isSuccess()) {
            Throwable cause = req.decoderResult().cause();
            boolean tooLong = cause instanceof TooLongFrameException;
            ex.log.detail = "undecodable request: " + cause;
            respond(ex, tooLong ? HttpResponseStatus.REQUEST_HEADER_FIELDS_TOO_LARGE : HttpResponseStatus.BAD_REQUEST,
                    null, null, "DPE", true);
            return;
        }
        HttpHeaders headers = req.headers();
        if (headers.size() > services.config().limits().maxHeaders()) {
            ex.log.detail = "more than " + services.config().limits().maxHeaders() + " header fields";
            respond(ex, HttpResponseStatus.REQUEST_HEADER_FIELDS_TOO_LARGE, null, null, "DPE", true);
            return;
        }
        headers.remove(XFCC);
        String requestId = TraceHeaders.requestId(headers.get("x-request-id"));
        String traceparent = TraceHeaders.traceparent(headers.get("traceparent"));
        headers.set("x-request-id", requestId);
        headers.set("traceparent", traceparent);
        ex.log.requestId = requestId;
        ex.log.traceparent = traceparent;

        Pipeline pipeline = services.pipelines().current();
        ex.normalizedPath = pipeline.normalizePath(req.uri());
        if (ex.normalizedPath == null) {
            ex.log.detail = "path normalization failed";
            respond(ex, HttpResponseStatus.BAD_REQUEST, null, null, "-", true);
            return;
        }
        CompletableFuture<JwtResult> authn;
        try {
            authn = pipeline.authenticate(new NettyJwtRequest(req));
        } catch (RuntimeException e) {
            authn = CompletableFuture.failedFuture(e);
        }
        if (authn.isDone()) {
            afterAuthentication(ex, pipeline, authn);
        } else {
            CompletableFuture<JwtResult> f = authn;
            f.whenComplete((r, e) -> ctx.executor().execute(() -> afterAuthentication(ex, pipeline, f)));
        }
    }

    private void afterAuthentication(Exchange ex, Pipeline pipeline, CompletableFuture<JwtResult> authn) {
        JwtResult result;
        try {
            result = authn.join();
        } catch (RuntimeException e) {
            result = new JwtResult.Invalid(JwtResult.Reason.INTERNAL_ERROR, "authentication failed");
        }
        if (!ex.ctx.channel().isActive()) {
            ex.req.release();
            next(ex.ctx);
            return;
        }
        if (result instanceof JwtResult.Invalid invalid) {
            ex.log.detail = "jwt " + invalid.reason() + ": " + invalid.detail();
            respond(ex, HttpResponseStatus.valueOf(invalid.httpStatus()), Unpooled.wrappedBuffer(JWT_FAILED),
                    Map.of("www-authenticate", invalid.wwwAuthenticate()), "-", false);
            return;
        }
        VerifiedJwt jwt = null;
        HeaderMutations mutations;
        if (result instanceof JwtResult.Ok ok) {
            jwt = ok.jwt();
            mutations = ok.mutations();
            ex.log.requestPrincipal = jwt.principal();
        } else {
            mutations = ((JwtResult.Missing) result).mutations();
        }
        String query = apply(mutations, ex.req);

        AuthzRequest.Builder a = AuthzRequest.builder(Protocol.HTTP)
                .sourcePrincipal(info.sourcePrincipal)
                .sourceIp(info.remoteIp)
                .destinationIp(info.localIp)
                .destinationPort(info.listener.targetPort())
                .method(ex.req.method().name())
                .path(ex.normalizedPath)
                .host(ex.req.headers().get(HttpHeaderNames.HOST));
        if (info.sni != null) {
            a.sni(info.sni);
        }
        for (Map.Entry<String, String> h : ex.req.headers()) {
            a.header(h.getKey(), h.getValue());
        }
        if (jwt != null) {
            a.requestPrincipal(jwt.principal()).audiences(jwt.audiences()).claims(jwt.claims());
            jwt.presenter().ifPresent(a::presenter);
        }
        Decision decision;
        try {
            decision = pipeline.authorize(a.build());
        } catch (RuntimeException e) {
            ex.log.detail = "authorization failed: " + e.getMessage();
            respond(ex, HttpResponseStatus.FORBIDDEN, Unpooled.wrappedBuffer(RBAC_DENIED), null, "-", false);
            return;
        }
        ex.log.authz = decision.allowed() ? "allowed" : "denied";
        ex.log.authzPolicy = decision.policy();
        if (!decision.allowed()) {
            ex.log.detail = decision.summary();
            respond(ex, HttpResponseStatus.FORBIDDEN, Unpooled.wrappedBuffer(RBAC_DENIED), null, "-", false);
            return;
        }
        forward(ex, query);
    }

    /** Applies the JWT stage's header mutations; returns the query to forward (without {@code ?}), or null. */
    private static String apply(HeaderMutations m, FullHttpRequest req) {
        HttpHeaders headers = req.headers();
        m.removeHeaders().forEach(headers::remove);
        m.setHeaders().forEach(headers::set);
        if (!m.removeCookies().isEmpty()) {
            List<String> kept = new ArrayList<>();
            for (String cookie : headers.getAll(HttpHeaderNames.COOKIE)) {
                StringBuilder b = new StringBuilder();
                for (String pair : cookie.split(";")) {
                    int eq = pair.indexOf('=');
                    String name = (eq > 0 ? pair.substring(0, eq) : pair).trim();
                    if (!m.removeCookies().contains(name)) {
                        b.append(b.length() == 0 ? "" : "; ").append(pair.trim());
                    }
                }
                if (b.length() > 0) {
                    kept.add(b.toString());
                }
            }
            headers.remove(HttpHeaderNames.COOKIE);
            kept.forEach(c -> headers.add(HttpHeaderNames.COOKIE, c));
        }
        String uri = req.uri();
        int q = uri.indexOf('?');
        if (q < 0) {
            return null;
        }
        String query = uri.substring(q + 1);
        int hash = query.indexOf('#');
        if (hash >= 0) {
            query = query.substring(0, hash);
        }
        if (m.removeQueryParams().isEmpty()) {
            return query;
        }
        StringBuilder b = new StringBuilder();
        for (String pair : query.split("&")) {
            int eq = pair.indexOf('=');
            String name = QueryStringDecoder.decodeComponent(eq >= 0 ? pair.substring(0, eq) : pair);
            if (!m.removeQueryParams().contains(name)) {
                b.append(b.length() == 0 ? "" : "&").append(pair);
            }
        }
        return b.toString();
    }

    private void forward(Exchange ex, String query) {
        FullHttpRequest in = ex.req;
        String uri = query == null || query.isEmpty() ? ex.normalizedPath : ex.normalizedPath + "?" + query;
        FullHttpRequest out = new DefaultFullHttpRequest(HttpVersion.HTTP_1_1, in.method(), uri, in.content().retain(),
                COPIED_HEADERS, DefaultHttpHeadersFactory.trailersFactory());
        HttpHeaders h = out.headers();
        for (Map.Entry<String, String> e : in.headers()) {
            String name = e.getKey().toLowerCase(Locale.ROOT);
            if (!HOP_BY_HOP.contains(name) && !name.startsWith("x-http2-") && !name.equals("content-length")) {
                h.add(name, e.getValue());
            }
        }
        String xfcc = info.xfcc(services.ownSpiffeId());
        if (xfcc != null) {
            h.set(XFCC, xfcc);
        }
        h.set("x-forwarded-proto", info.tls ? "https" : "http");
        h.set(HttpHeaderNames.CONTENT_LENGTH, out.content().readableBytes());
        ex.req.release();
        ex.log.upstream = info.upstream;
        services.upstream().send(ex.ctx.channel().eventLoop(), info.listener.upstream(), out).addListener(f -> {
            if (f.isSuccess()) {
                FullHttpResponse upstream = (FullHttpResponse) f.getNow();
                FullHttpResponse response = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, upstream.status(),
                        upstream.content(), COPIED_HEADERS, DefaultHttpHeadersFactory.trailersFactory());
                for (Map.Entry<String, String> e : upstream.headers()) {
                    String name = e.getKey().toLowerCase(Locale.ROOT);
                    if (!HOP_BY_HOP.contains(name) && !name.equals("content-length")) {
                        response.headers().add(name, e.getValue());
                    }
                }
                send(ex, response, "-", false);
            } else if (f.cause() instanceof UpstreamPool.UpstreamTimeoutException) {
                ex.log.detail = f.cause().getMessage();
                respond(ex, HttpResponseStatus.GATEWAY_TIMEOUT, Unpooled.copiedBuffer("upstream request timeout",
                        StandardCharsets.US_ASCII), null, "UT", false);
            } else {
                ex.log.detail = "upstream: " + f.cause();
                respond(ex, HttpResponseStatus.SERVICE_UNAVAILABLE, Unpooled.copiedBuffer(
                        "upstream connect error or disconnect/reset before headers", StandardCharsets.US_ASCII),
                        null, "UF", false);
            }
        });
    }

    /** A local reply; releases the request. */
    private void respond(Exchange ex, HttpResponseStatus status, ByteBuf body, Map<String, String> headers, String flags,
            boolean close) {
        ex.req.release();
        FullHttpResponse response = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, status,
                body == null ? Unpooled.copiedBuffer(status.reasonPhrase(), StandardCharsets.US_ASCII) : body);
        response.headers().set(HttpHeaderNames.CONTENT_TYPE, "text/plain");
        if (headers != null) {
            headers.forEach(response.headers()::set);
        }
        send(ex, response, flags, close);
    }

    private void send(Exchange ex, FullHttpResponse response, String flags, boolean close) {
        response.headers().set(HttpHeaderNames.CONTENT_LENGTH, response.content().readableBytes());
        if (close && !http2) {
            response.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
        }
        long responseBytes = response.content().readableBytes() + 17;
        for (Map.Entry<String, String> h : response.headers()) {
            responseBytes += h.getKey().length() + h.getValue().length() + 4;
        }
        int status = response.status().code();
        double millis = (System.nanoTime() - ex.startNanos) / 1e6;
        info.requestSeries(services, ex.protocol, status, flags).record(millis, ex.requestBytes, responseBytes);
        ex.log.status = status;
        ex.log.flags = flags;
        ex.log.durationMillis = millis;
        ex.log.bytesSent = responseBytes;
        services.accessLog().log(ex.log);
        boolean keepAlive = !close && (http2 || HttpUtil.isKeepAlive(response));
        ex.ctx.writeAndFlush(response).addListener(f -> {
            if (!keepAlive && !http2) {
                ex.ctx.channel().close();
            } else if (close) {
                ex.ctx.channel().close();
            }
            next(ex.ctx);
        });
    }

    private void next(ChannelHandlerContext ctx) {
        FullHttpRequest r = pending.poll();
        if (r == null || !ctx.channel().isActive()) {
            if (r != null) {
                r.release();
            }
            busy = false;
            return;
        }
        start(ctx, r);
    }

    /** The request as jwt-authn reads it, without copying. */
    private static final class NettyJwtRequest implements JwtRequest {
        private final FullHttpRequest req;
        private Map<String, List<String>> params;

        NettyJwtRequest(FullHttpRequest req) {
            this.req = req;
        }

        @Override
        public List<String> headers(String lowerCaseName) {
            return req.headers().getAll(lowerCaseName);
        }

        @Override
        public List<String> queryParams(String name) {
            if (params == null) {
                params = new QueryStringDecoder(req.uri()).parameters();
            }
            return params.getOrDefault(name, List.of());
        }
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        ctx.close();
    }
}
