package dev.keel.proxy.tls;

import dev.keel.identity.SpiffeId;
import io.netty.bootstrap.Bootstrap;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.epoll.EpollEventLoopGroup;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.channel.epoll.EpollSocketChannel;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslHandler;
import io.netty.handler.ssl.SslHandshakeCompletionEvent;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.security.cert.X509Certificate;
import java.util.Optional;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

/** A TLS echo server on 127.0.0.1 and a client for it, both on Netty with the contexts under test. */
final class TlsEcho implements AutoCloseable {

    final EpollEventLoopGroup group = new EpollEventLoopGroup(2);
    /** The client SPIFFE ID (or empty) of each handshake the server completed, or the failure. */
    final BlockingQueue<Object> serverHandshakes = new LinkedBlockingQueue<>();
    private final Channel server;

    TlsEcho(Supplier<SslContext> serverContext) throws InterruptedException {
        server = new ServerBootstrap().group(group).channel(EpollServerSocketChannel.class)
                .childHandler(new ChannelInitializer<Channel>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        ch.pipeline().addLast(serverContext.get().newHandler(ch.alloc()));
                        ch.pipeline().addLast(new ChannelInboundHandlerAdapter() {
                            @Override
                            public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
                                if (evt instanceof SslHandshakeCompletionEvent e) {
                                    serverHandshakes.add(e.isSuccess()
                                            ? PeerIdentity.of(ctx.pipeline().get(SslHandler.class)) : e.cause());
                                }
                                ctx.fireUserEventTriggered(evt);
                            }

                            @Override
                            public void channelRead(ChannelHandlerContext ctx, Object msg) {
                                ctx.writeAndFlush(msg);
                            }

                            @Override
                            public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
                                ctx.close();
                            }
                        });
                    }
                }).bind("127.0.0.1", 0).sync().channel();
    }

    int port() {
        return ((InetSocketAddress) server.localAddress()).getPort();
    }

    /** A client connection after its handshake, successful or not. */
    final class Client implements AutoCloseable {
        final Channel channel;
        final SslHandler ssl;
        final Throwable failure;
        private final BlockingQueue<String> received = new LinkedBlockingQueue<>();

        Client(SslContext context) throws InterruptedException {
            SslHandler[] handler = new SslHandler[1];
            channel = new Bootstrap().group(group).channel(EpollSocketChannel.class)
                    .handler(new ChannelInitializer<Channel>() {
                        @Override
                        protected void initChannel(Channel ch) {
                            // Kept here: a failed handshake may close the channel and empty the pipeline early.
                            handler[0] = context.newHandler(ch.alloc(), "127.0.0.1", port());
                            ch.pipeline().addLast(handler[0]);
                            ch.pipeline().addLast(new SimpleChannelInboundHandler<ByteBuf>() {
                                @Override
                                protected void channelRead0(ChannelHandlerContext ctx, ByteBuf msg) {
                                    received.add(msg.toString(StandardCharsets.UTF_8));
                                }

                                @Override
                                public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
                                    ctx.close();
                                }
                            });
                        }
                    }).connect("127.0.0.1", port()).sync().channel();
            ssl = handler[0];
            ssl.handshakeFuture().await(10, TimeUnit.SECONDS);
            failure = ssl.handshakeFuture().isSuccess() ? null : ssl.handshakeFuture().cause();
        }

        boolean ok() {
            return failure == null;
        }

        Optional<SpiffeId> serverId() {
            return PeerIdentity.of(ssl);
        }

        X509Certificate serverLeaf() {
            return PeerIdentity.leaf(ssl.engine().getSession()).orElseThrow();
        }

        String echo(String text) throws InterruptedException {
            channel.writeAndFlush(Unpooled.copiedBuffer(text, StandardCharsets.UTF_8));
            StringBuilder got = new StringBuilder();
            while (got.length() < text.length()) {
                String part = received.poll(10, TimeUnit.SECONDS);
                if (part == null) {
                    throw new AssertionError("no echo within 10 s; got " + got);
                }
                got.append(part);
            }
            return got.toString();
        }

        @Override
        public void close() throws InterruptedException {
            channel.close().await(5, TimeUnit.SECONDS);
        }
    }

    Client connect(SslContext context) throws InterruptedException {
        return new Client(context);
    }

    @Override
    public void close() throws InterruptedException {
        server.close().await(5, TimeUnit.SECONDS);
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS).await(5, TimeUnit.SECONDS);
    }
}
