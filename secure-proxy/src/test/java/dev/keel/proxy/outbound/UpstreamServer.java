package dev.keel.proxy.outbound;

import dev.keel.proxy.X509Material;
import dev.keel.proxy.tls.PeerIdentity;
import dev.keel.proxy.tls.TlsContexts;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.epoll.EpollEventLoopGroup;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.ssl.ClientAuth;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslHandler;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Stands in for the destination's inbound proxy: mTLS with client certificates required (the
 * proxy's own server contexts), answering each request with who it is, who called and what came.
 */
final class UpstreamServer implements AutoCloseable {

    final AtomicInteger connections = new AtomicInteger();
    private final EpollEventLoopGroup group = new EpollEventLoopGroup(1);
    private final Channel server;

    UpstreamServer(X509Material material) throws Exception {
        this(material, TlsContexts.SERVER_ALPN);
    }

    /** A server offering exactly {@code alpn} (HTTP/1.1 is all it speaks, whatever it offers). */
    UpstreamServer(X509Material material, List<String> alpn) throws Exception {
        SslContext tls = TlsContexts.server(material, ClientAuth.REQUIRE, alpn, Clock.systemUTC());
        String self = material.spiffeId().toString();
        server = new ServerBootstrap().group(group).channel(EpollServerSocketChannel.class)
                .childHandler(new ChannelInitializer<Channel>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        connections.incrementAndGet();
                        SslHandler ssl = tls.newHandler(ch.alloc());
                        ch.pipeline().addLast(ssl, new HttpServerCodec(), new HttpObjectAggregator(1 << 20));
                        ch.pipeline().addLast(new SimpleChannelInboundHandler<FullHttpRequest>() {
                            @Override
                            protected void channelRead0(ChannelHandlerContext ctx, FullHttpRequest request) {
                                String caller = PeerIdentity.of(ssl).map(Object::toString).orElse("none");
                                String body = "server=" + self + "\ncaller=" + caller + "\nmethod=" + request.method()
                                        + "\nuri=" + request.uri() + "\nhost=" + request.headers().get("host")
                                        + "\nbody=" + request.content().toString(StandardCharsets.UTF_8) + "\n";
                                FullHttpResponse response = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1,
                                        HttpResponseStatus.OK, Unpooled.copiedBuffer(body, StandardCharsets.UTF_8));
                                response.headers().set("x-upstream", "yes");
                                HttpUtil.setContentLength(response, response.content().readableBytes());
                                ctx.writeAndFlush(response);
                            }

                            @Override
                            public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
                                ctx.close();
                            }
                        });
                    }
                }).bind("127.0.0.1", 0).sync().channel();
    }

    InetSocketAddress address() {
        return (InetSocketAddress) server.localAddress();
    }

    @Override
    public void close() throws InterruptedException {
        server.close().await(5, TimeUnit.SECONDS);
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS).await(5, TimeUnit.SECONDS);
    }
}
