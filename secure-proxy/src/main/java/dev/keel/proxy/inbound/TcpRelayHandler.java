package dev.keel.proxy.inbound;

import dev.keel.authz.AuthzRequest;
import dev.keel.authz.Decision;
import dev.keel.authz.Protocol;
import io.netty.bootstrap.Bootstrap;
import dev.keel.proxy.upstream.Relay;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelOption;
import io.netty.util.ReferenceCountUtil;
import java.util.ArrayDeque;

/**
 * Opaque TCP to the app port: authorized once at connect time (authz-engine with {@link Protocol#TCP}:
 * source principal, addresses, port), then bytes relayed both ways with back-pressure (each side reads
 * only when the other has flushed). A denied connection is closed, as Envoy's network RBAC filter does.
 * Counts the TCP metrics and logs one access line when the connection ends. Event loop only; the app
 * connection lives on the same event loop.
 */
final class TcpRelayHandler extends ChannelInboundHandlerAdapter {

    private final InboundServices services;
    private final ConnectionInfo info;
    private final ArrayDeque<Object> early = new ArrayDeque<>();
    private final AccessLog.Entry log = new AccessLog.Entry();
    private final long startNanos = System.nanoTime();
    private Channel inbound;
    private Channel app;
    private String[] labels;
    private long received;
    private long sent;
    private boolean closed;

    TcpRelayHandler(InboundServices services, ConnectionInfo info) {
        this.services = services;
        this.info = info;
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        inbound = ctx.channel();
        log.start = services.clock().instant();
        log.protocol = "TCP";
        log.sourcePrincipal = info.sourcePrincipal;
        log.securityPolicy = info.securityPolicy;
        log.downstream = info.downstream;
        log.upstream = info.upstream;
        Decision decision;
        try {
            decision = services.pipelines().current().authorize(AuthzRequest.builder(Protocol.TCP)
                    .sourcePrincipal(info.sourcePrincipal)
                    .sourceIp(info.remoteIp)
                    .destinationIp(info.localIp)
                    .destinationPort(info.listener.targetPort())
                    .build());
        } catch (RuntimeException e) {
            decision = null;
        }
        log.authz = decision != null && decision.allowed() ? "allowed" : "denied";
        log.authzPolicy = decision == null ? null : decision.policy();
        if (decision == null || !decision.allowed()) {
            log.detail = decision == null ? "authorization failed" : decision.summary();
            log.flags = "-";
            services.accessLog().log(log);
            closed = true;
            ctx.close();
            return;
        }
        inbound.config().setAutoRead(false);
        ChannelFuture connect = new Bootstrap().group(inbound.eventLoop()).channel(socketChannelType(inbound))
                .option(ChannelOption.AUTO_READ, false)
                .option(ChannelOption.TCP_NODELAY, true)
                .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, 5000)
                .handler(new AppSide())
                .connect(info.listener.upstream());
        app = connect.channel();
        connect.addListener(f -> {
            if (closed) {
                // the caller went away while we connected
                app.close();
                return;
            }
            if (!f.isSuccess()) {
                log.detail = "upstream: " + f.cause();
                finish("UF");
                inbound.close();
                return;
            }
            labels = info.tcpLabels(services.ownSpiffeId(), services.destinationWorkload(),
                    services.destinationNamespace(), "-");
            services.metrics().tcpOpened(labels);
            Object m;
            while ((m = early.poll()) != null) {
                received += Relay.size(m);
                app.write(m);
            }
            app.flush();
            app.read();
            inbound.read();
        });
    }

    @SuppressWarnings("unchecked")
    private static Class<? extends Channel> socketChannelType(Channel ch) {
        return ch instanceof io.netty.channel.epoll.EpollSocketChannel
                ? io.netty.channel.epoll.EpollSocketChannel.class
                : io.netty.channel.socket.nio.NioSocketChannel.class;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (closed) {
            ReferenceCountUtil.release(msg);
            return;
        }
        if (app == null || !app.isActive()) {
            early.add(msg);
            return;
        }
        received += Relay.forward(msg, app, inbound);
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        Relay.closeAfterFlush(app);
        releaseEarly();
        finish("-");
        ctx.fireChannelInactive();
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        ctx.close();
    }

    private void releaseEarly() {
        Object m;
        while ((m = early.poll()) != null) {
            ReferenceCountUtil.release(m);
        }
    }

    private void finish(String flags) {
        if (closed) {
            return;
        }
        closed = true;
        if (labels != null) {
            services.metrics().tcpClosed(labels, sent, received);
        }
        log.flags = flags;
        log.durationMillis = (System.nanoTime() - startNanos) / 1e6;
        log.bytesReceived = received;
        log.bytesSent = sent;
        services.accessLog().log(log);
    }

    /** The app connection: relays back to the caller. */
    private final class AppSide extends ChannelInboundHandlerAdapter {
        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            sent += Relay.forward(msg, inbound, app);
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            Relay.closeAfterFlush(inbound);
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            ctx.close();
        }
    }
}
