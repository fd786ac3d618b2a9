package dev.keel.proxy.inbound;

import dev.keel.authz.AuthzRequest;
import dev.keel.authz.Decision;
import dev.keel.authz.Protocol;
import dev.keel.jwt.HeaderMutations;
import dev.keel.jwt.JwtRequest;
import dev.keel.jwt.JwtResult;
import dev.keel.jwt.VerifiedJwt;
import dev.keel.proxy.http.HeaderList;
import dev.keel.proxy.http.UpstreamResponse;
import dev.keel.proxy.pipeline.Pipeline;
import dev.keel.proxy.upstream.Http1ConnectionPool;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.handler.codec.http.QueryStringDecoder;
import io.netty.util.concurrent.Future;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;

/**
 * The filter pipeline for one connection's requests, whichever protocol carried them: XFCC stripped,
 * request id and traceparent settled, path normalization (400), JWT authentication (401 with {@code
 * WWW-Authenticate}), authorization (403 {@code RBAC: access denied}), then the app over the pooled
 * HTTP/1.1 connections, with the caller's identity in {@code x-forwarded-client-cert}. Records the
 * request metrics and the access-log line. Each stage reads the pipeline in force when the request
 * arrived, so a policy swap never changes a request half way.
 *
 * <p>Runs on the connection's event loop; the JWT stage may finish on another thread (a JWKS fetch)
 * and the rest hops back. Requests are built and forwarded on their bytes and header lists: no HTTP
 * message objects, no copy of the header set for the authorization stage.
 */
final class RequestFlow implements RequestStages {

    static final String XFCC = "x-forwarded-client-cert";
    private static final byte[] RBAC_DENIED = "RBAC: access denied".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] JWT_FAILED = "Jwt verification fails".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] UPSTREAM_TIMEOUT = "upstream request timeout".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] UPSTREAM_FAILED = "upstream connect error or disconnect/reset before headers"
            .getBytes(StandardCharsets.US_ASCII);
    private static final byte[] HTTP_1_1_CRLF = " HTTP/1.1\r\n".getBytes(StandardCharsets.US_ASCII);

    private final InboundServices services;
    private final ConnectionInfo info;
    private final byte[] sourceAddress;
    private final byte[] destinationAddress;
    private final String forwardedProto;

    RequestFlow(InboundServices services, ConnectionInfo info) {
        this.services = services;
        this.info = info;
        this.sourceAddress = address(info.remoteIp);
        this.destinationAddress = address(info.localIp);
        this.forwardedProto = info.tls ? "https" : "http";
    }

    /** A literal address as bytes (never a name lookup: the strings come from the socket). */
    private static byte[] address(String literal) {
        try {
            return InetAddress.getByName(literal).getAddress();
        } catch (UnknownHostException e) {
            throw new IllegalStateException("not an address literal: " + literal, e);
        }
    }

    /** The state of one request across the stages. */
    private final class Exchange {
        final InboundRequest req;
        final ResponseWriter out;
        final AccessLog.Entry log = new AccessLog.Entry();
        final long startNanos = System.nanoTime();
        final long requestBytes;
        /** {@code request_protocol}: grpc or http. */
        final String protocol;
        String normalizedPath;

        Exchange(InboundRequest req, ResponseWriter out) {
            this.req = req;
            this.out = out;
            this.requestBytes = req.headerBytes + (long) req.body.readableBytes();
            String contentType = req.headers.get("content-type");
            this.protocol = contentType != null && contentType.startsWith("application/grpc") ? "grpc" : "http";
            log.start = services.clock().instant();
            log.protocol = req.protocol;
            log.method = req.method;
            int q = req.uri.indexOf('?');
            log.path = q < 0 ? req.uri : req.uri.substring(0, q);
            log.sourcePrincipal = info.sourcePrincipal;
            log.securityPolicy = info.securityPolicy;
            log.downstream = info.downstream;
            log.bytesReceived = requestBytes;
        }
    }

    @Override
    public void handle(InboundRequest req, ResponseWriter out) {
        Exchange ex = new Exchange(req, out);
        HeaderList headers = req.headers;
        headers.remove(XFCC);
        String requestId = TraceHeaders.requestId(headers.get("x-request-id"));
        String traceparent = TraceHeaders.traceparent(headers.get("traceparent"));
        headers.set("x-request-id", requestId);
        headers.set("traceparent", traceparent);
        ex.log.requestId = requestId;
        ex.log.traceparent = traceparent;

        Pipeline pipeline = services.pipelines().current();
        ex.normalizedPath = pipeline.normalizePath(req.uri);
        if (ex.normalizedPath == null) {
            ex.log.detail = "path normalization failed";
            respond(ex, 400, "Bad Request", null, null, "-", true);
            return;
        }
        CompletableFuture<JwtResult> authn;
        try {
            authn = pipeline.authenticate(new JwtView(req));
        } catch (RuntimeException e) {
            authn = CompletableFuture.failedFuture(e);
        }
        if (authn.isDone()) {
            afterAuthentication(ex, pipeline, authn);
        } else {
            CompletableFuture<JwtResult> f = authn;
            f.whenComplete((r, e) -> out.eventLoop().execute(() -> afterAuthentication(ex, pipeline, f)));
        }
    }

    private void afterAuthentication(Exchange ex, Pipeline pipeline, CompletableFuture<JwtResult> authn) {
        JwtResult result;
        try {
            result = authn.join();
        } catch (RuntimeException e) {
            result = new JwtResult.Invalid(JwtResult.Reason.INTERNAL_ERROR, "authentication failed");
        }
        if (!ex.out.isActive()) {
            ex.req.release();
            ex.out.respond(499, "Client Closed Request", new HeaderList(0), Unpooled.EMPTY_BUFFER, true);
            return;
        }
        if (result instanceof JwtResult.Invalid invalid) {
            ex.log.detail = "jwt " + invalid.reason() + ": " + invalid.detail();
            HeaderList h = new HeaderList(2);
            h.add("www-authenticate", invalid.wwwAuthenticate());
            respond(ex, invalid.httpStatus(), invalid.httpStatus() == 403 ? "Forbidden" : "Unauthorized",
                    Unpooled.wrappedBuffer(JWT_FAILED), h, "-", false);
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
                .sourceIp(sourceAddress)
                .destinationIp(destinationAddress)
                .destinationPort(info.listener.targetPort())
                .method(ex.req.method)
                .path(ex.normalizedPath)
                .host(ex.req.headers.get("host"))
                .headers(ex.req.headers);
        if (info.sni != null) {
            a.sni(info.sni);
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
            respond(ex, 403, "Forbidden", Unpooled.wrappedBuffer(RBAC_DENIED), null, "-", false);
            return;
        }
        ex.log.authz = decision.allowed() ? "allowed" : "denied";
        ex.log.authzPolicy = decision.policy();
        if (!decision.allowed()) {
            ex.log.detail = decision.summary();
            respond(ex, 403, "Forbidden", Unpooled.wrappedBuffer(RBAC_DENIED), null, "-", false);
            return;
        }
        forward(ex, query);
    }

    /** Applies the JWT stage's header mutations; returns the query to forward (without {@code ?}), or null. */
    private static String apply(HeaderMutations m, InboundRequest req) {
        HeaderList headers = req.headers;
        if (!m.isEmpty()) {
            m.removeHeaders().forEach(headers::remove);
            m.setHeaders().forEach(headers::set);
            if (!m.removeCookies().isEmpty()) {
                List<String> kept = new ArrayList<>();
                for (String cookie : headers.getAll("cookie")) {
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
                headers.remove("cookie");
                kept.forEach(c -> headers.add("cookie", c));
            }
        }
        String uri = req.uri;
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

    /**
     * Fields a proxy never forwards (RFC 9110 section 7.6.1), the framing it writes itself, and {@code
     * expect}: the decoder has answered it and the whole body goes to the app.
     */
    static boolean hopByHop(String lowerCaseName) {
        return switch (lowerCaseName) {
            case "connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade", "te", "trailer",
                    "http2-settings", "content-length", "expect" -> true;
            default -> false;
        };
    }

    static boolean hopByHopButLength(String lowerCaseName) {
        return hopByHop(lowerCaseName) && !lowerCaseName.equals("content-length");
    }

    private void forward(Exchange ex, String query) {
        InboundRequest in = ex.req;
        String xfcc = info.xfcc(services.ownSpiffeId());
        ByteBuf body = in.body;
        int bodyLength = body.readableBytes();
        HeaderList headers = in.headers;
        int estimate = in.method.length() + ex.normalizedPath.length() + (query == null ? 0 : query.length() + 1)
                + headers.wireLength() + (xfcc == null ? 0 : xfcc.length() + 30) + 64;
        boolean inline = bodyLength <= 2048;
        ByteBuf out = ByteBufAllocator.DEFAULT.directBuffer(estimate + (inline ? bodyLength : 0));
        ByteBufUtil.writeAscii(out, in.method);
        out.writeByte(' ');
        out.writeCharSequence(ex.normalizedPath, StandardCharsets.ISO_8859_1);
        if (query != null && !query.isEmpty()) {
            out.writeByte('?');
            out.writeCharSequence(query, StandardCharsets.ISO_8859_1);
        }
        out.writeBytes(HTTP_1_1_CRLF);
        for (int i = 0; i < headers.size(); i++) {
            String name = headers.name(i);
            if (!hopByHop(name) && !name.equals("x-forwarded-proto")) {
                HeaderList.writeField(out, name, headers.value(i));
            }
        }
        if (xfcc != null) {
            HeaderList.writeField(out, XFCC, xfcc);
        }
        HeaderList.writeField(out, "x-forwarded-proto", forwardedProto);
        out.writeCharSequence("content-length: ", StandardCharsets.US_ASCII);
        out.writeCharSequence(Integer.toString(bodyLength), StandardCharsets.US_ASCII);
        out.writeShort('\r' << 8 | '\n');
        out.writeShort('\r' << 8 | '\n');
        ByteBuf request;
        if (inline) {
            out.writeBytes(body);
            body.release();
            request = out;
        } else {
            request = Unpooled.wrappedBuffer(out, body);
        }
        in.body = Unpooled.EMPTY_BUFFER;
        ex.log.upstream = info.upstream;
        boolean head = "HEAD".equals(in.method);
        services.upstream().send(ex.out.eventLoop(), info.listener.upstream(), request, head)
                .addListener(f -> answer(ex, f));
    }

    private void answer(Exchange ex, Future<? super UpstreamResponse> f) {
        if (f.isSuccess()) {
            UpstreamResponse upstream = (UpstreamResponse) f.getNow();
            HeaderList h = upstream.headers();
            // Only a bodiless answer to HEAD (or a 304) keeps the app's content-length: the length it announces.
            h.removeIf("HEAD".equals(ex.req.method) || upstream.status() == 304 ? RequestFlow::hopByHopButLength
                    : RequestFlow::hopByHop);
            send(ex, upstream.status(), upstream.reason(), h, upstream.body(), "-", false);
        } else if (f.cause() instanceof Http1ConnectionPool.UpstreamTimeoutException) {
            ex.log.detail = f.cause().getMessage();
            respond(ex, 504, "Gateway Timeout", Unpooled.wrappedBuffer(UPSTREAM_TIMEOUT), null, "UT", false);
        } else {
            ex.log.detail = "upstream: " + f.cause();
            respond(ex, 503, "Service Unavailable", Unpooled.wrappedBuffer(UPSTREAM_FAILED), null, "UF", false);
        }
    }

    /** A local reply; releases the request's body. */
    private void respond(Exchange ex, int status, String reason, ByteBuf body, HeaderList headers, String flags,
            boolean close) {
        ex.req.release();
        HeaderList h = headers != null ? headers : new HeaderList(2);
        h.add("content-type", "text/plain");
        send(ex, status, reason, h, body == null ? Unpooled.copiedBuffer(reason, StandardCharsets.US_ASCII) : body,
                flags, close);
    }

    private void send(Exchange ex, int status, String reason, HeaderList headers, ByteBuf body, String flags,
            boolean close) {
        double millis = (System.nanoTime() - ex.startNanos) / 1e6;
        int bodyLength = body.readableBytes();
        // Recorded before the write: once the client has its answer, the line and the metrics exist.
        // Sizes are counted the same way for both protocols: a 17-byte status line, each field as
        // "name: value\r\n", the content-length the writer adds, and the body.
        long responseBytes = 17L + headers.wireLength() + "content-length".length() + 4
                + Integer.toString(bodyLength).length() + bodyLength;
        info.requestSeries(services, ex.protocol, status, flags).record(millis, ex.requestBytes, responseBytes);
        ex.log.status = status;
        ex.log.flags = flags;
        ex.log.durationMillis = millis;
        ex.log.bytesSent = responseBytes;
        services.accessLog().log(ex.log);
        ex.out.respond(status, reason, headers, body, close);
    }

    /** The request as jwt-authn reads it, without copying. */
    private static final class JwtView implements JwtRequest {
        private final InboundRequest req;
        private Map<String, List<String>> params;

        JwtView(InboundRequest req) {
            this.req = req;
        }

        @Override
        public List<String> headers(String lowerCaseName) {
            return req.headers.getAll(lowerCaseName);
        }

        @Override
        public List<String> queryParams(String name) {
            if (params == null) {
                params = new QueryStringDecoder(req.uri).parameters();
            }
            return params.getOrDefault(name, List.of());
        }
    }
}
