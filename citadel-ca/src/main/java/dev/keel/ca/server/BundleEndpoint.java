package dev.keel.ca.server;

import dev.keel.ca.TrustBundle;
import dev.keel.ca.crl.CrlPublisher;
import dev.keel.ca.crl.SignedCrl;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.timeout.ReadTimeoutHandler;
import io.netty.util.AsciiString;
import java.nio.charset.StandardCharsets;
import java.util.Optional;

/**
 * The SPIFFE bundle endpoint: {@code GET /} over HTTPS returns the trust bundle JSON, and
 * {@code GET /crl} the issuing CA's current CRL in DER ({@code application/pkix-crl}, RFC 5280
 * section 5 and RFC 2585) when the server publishes one. Requests are tiny, so anything with a body
 * or over 8 KiB of headers is refused, and a connection idle for 30 s is closed.
 */
final class BundleEndpoint extends ChannelInitializer<SocketChannel> {

    static final AsciiString APPLICATION_PKIX_CRL = AsciiString.cached("application/pkix-crl");

    private final SslContext tls;
    private final TrustBundle bundle;
    private final CrlPublisher crl;

    /**
     * @param crl the CRL to serve at {@code /crl}, or null to answer 404 there
     */
    BundleEndpoint(SslContext tls, TrustBundle bundle, CrlPublisher crl) {
        this.tls = tls;
        this.bundle = bundle;
        this.crl = crl;
    }

    @Override
    protected void initChannel(SocketChannel channel) {
        channel.pipeline()
                .addLast(tls.newHandler(channel.alloc()))
                .addLast(new ReadTimeoutHandler(30))
                .addLast(new HttpServerCodec(4096, 8192, 8192))
                .addLast(new HttpObjectAggregator(1024))
                .addLast(new Handler(bundle, crl));
    }

    /** Answers one request; runs on the event loop and does not block. */
    private static final class Handler extends SimpleChannelInboundHandler<FullHttpRequest> {

        private final TrustBundle bundle;
        private final CrlPublisher crl;

        Handler(TrustBundle bundle, CrlPublisher crl) {
            this.bundle = bundle;
            this.crl = crl;
        }

        @Override
        protected void channelRead0(ChannelHandlerContext ctx, FullHttpRequest request) {
            FullHttpResponse response;
            if (!request.decoderResult().isSuccess()) {
                response = text(HttpResponseStatus.BAD_REQUEST, "bad request\n");
            } else if (!request.method().equals(HttpMethod.GET) && !request.method().equals(HttpMethod.HEAD)) {
                response = text(HttpResponseStatus.METHOD_NOT_ALLOWED, "only GET\n");
                response.headers().set(HttpHeaderNames.ALLOW, "GET, HEAD");
            } else if (isPath(request.uri(), "/crl")) {
                response = crl(request);
            } else if (!isPath(request.uri(), "/")) {
                response = text(HttpResponseStatus.NOT_FOUND,
                        crl == null ? "the bundle is served at /\n" : "the bundle is served at /, the CRL at /crl\n");
            } else {
                response = ok(request, Unpooled.copiedBuffer(bundle.json(), StandardCharsets.UTF_8),
                        HttpHeaderValues.APPLICATION_JSON);
            }
            if (!response.headers().contains(HttpHeaderNames.CONTENT_LENGTH)) {
                HttpUtil.setContentLength(response, response.content().readableBytes());
            }
            boolean keepAlive = HttpUtil.isKeepAlive(request) && response.status().equals(HttpResponseStatus.OK);
            HttpUtil.setKeepAlive(response, keepAlive);
            if (keepAlive) {
                ctx.writeAndFlush(response);
            } else {
                ctx.writeAndFlush(response).addListener(ChannelFutureListener.CLOSE);
            }
        }

        /** The exact path, with or without a query string. */
        private static boolean isPath(String uri, String path) {
            return uri.equals(path) || uri.startsWith(path + "?");
        }

        /** Reads the current CRL only: signing happens on the CA server's scheduler, never here. */
        private FullHttpResponse crl(FullHttpRequest request) {
            if (crl == null) {
                return text(HttpResponseStatus.NOT_FOUND, "this CA does not publish a CRL\n");
            }
            Optional<SignedCrl> current = crl.current();
            if (current.isEmpty()) {
                return text(HttpResponseStatus.SERVICE_UNAVAILABLE, "no CRL signed yet; retry later\n");
            }
            return ok(request, Unpooled.wrappedBuffer(current.get().der()), APPLICATION_PKIX_CRL);
        }

        private static FullHttpResponse ok(FullHttpRequest request, ByteBuf body, CharSequence contentType) {
            FullHttpResponse response = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK, body);
            response.headers().set(HttpHeaderNames.CONTENT_TYPE, contentType);
            response.headers().set(HttpHeaderNames.CACHE_CONTROL, "no-cache");
            if (request.method().equals(HttpMethod.HEAD)) {
                response.headers().setInt(HttpHeaderNames.CONTENT_LENGTH, body.readableBytes());
                response = response.replace(Unpooled.EMPTY_BUFFER);
                body.release();
            }
            return response;
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            ctx.close();
        }

        private static FullHttpResponse text(HttpResponseStatus status, String body) {
            FullHttpResponse response = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, status,
                    Unpooled.copiedBuffer(body, StandardCharsets.UTF_8));
            response.headers().set(HttpHeaderNames.CONTENT_TYPE, HttpHeaderValues.TEXT_PLAIN);
            return response;
        }
    }
}
