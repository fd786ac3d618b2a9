package dev.keel.proxy.outbound;

import dev.keel.identity.SpiffeId;
import dev.keel.proxy.ProxyMetrics;
import dev.keel.proxy.outbound.RouteTable.Route;
import dev.keel.proxy.outbound.UpstreamConnector.Alpn;
import dev.keel.proxy.upstream.Relay;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.util.ReferenceCountUtil;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One app connection to a TCP route's listen port: an mTLS connection to the destination's proxy is
 * opened first (secure naming checked at the handshake; on any failure the app connection is closed
 * and, for a wrong identity, the failure counted), then bytes are relayed both ways with
 * back-pressure: each side reads again only once the other side has flushed. Counts Istio's TCP
 * metrics with {@code reporter="source"}. The app channel must start with auto-read off. Runs on the
 * app connection's event loop, which the upstream connection shares; must not block.
 */
final class TcpOutboundHandler extends ChannelInboundHandlerAdapter {

    private static final Logger log = LoggerFactory.getLogger(TcpOutboundHandler.class);

    private final Route route;
    private final UpstreamConnector connector;
    private final SourceLabels labels;
    private final ProxyMetrics metrics;
    private Channel app;
    private Channel upstream;
    private String[] connectionLabels;
    private long received;
    private long sent;
    private boolean finished;

    TcpOutboundHandler(Route route, UpstreamConnector connector, SourceLabels labels, ProxyMetrics metrics) {
        this.route = route;
        this.connector = connector;
        this.labels = labels;
        this.metrics = metrics;
    }

    @Override
    public void channelActive(ChannelHandlerContext ctx) {
        app = ctx.channel();
        connector.connect(route, app.eventLoop(), Alpn.NONE).addListener(connected -> {
            if (!connected.isSuccess()) {
                Throwable cause = connected.cause();
                if (cause instanceof SecureNamingException) {
                    log.warn("Secure naming failure: {}", cause.getMessage());
                } else {
                    log.warn("Upstream {} for TCP route {} failed: {}", route.upstream(), route.destination(),
                            cause.toString());
                }
                connectionLabels = labels.tcp(null, "UF");
                metrics.tcpOpened(connectionLabels);
                finish();
                app.close();
                return;
            }
            Channel channel = (Channel) connected.getNow();
            if (!app.isActive()) {
                channel.close();
                return;
            }
            upstream = channel;
            SpiffeId peer = channel.attr(UpstreamConnector.PEER).get();
            connectionLabels = labels.tcp(peer, "-");
            metrics.tcpOpened(connectionLabels);
            channel.config().setAutoRead(false);
            channel.pipeline().addLast("relay", new UpstreamSide());
            channel.read();
            app.read();
        });
        ctx.fireChannelActive();
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (upstream == null || !upstream.isActive()) {
            ReferenceCountUtil.release(msg);
            return;
        }
        received += Relay.forward(msg, upstream, app);
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        Relay.closeAfterFlush(upstream);
        finish();
        ctx.fireChannelInactive();
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        log.debug("TCP connection from {} for {} failed", ctx.channel().remoteAddress(), route.destination(), cause);
        ctx.close();
    }

    private void finish() {
        if (finished || connectionLabels == null) {
            return;
        }
        finished = true;
        metrics.tcpClosed(connectionLabels, sent, received);
    }

    /** The destination side: relays back to the app. */
    private final class UpstreamSide extends ChannelInboundHandlerAdapter {
        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            sent += Relay.forward(msg, app, upstream);
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            Relay.closeAfterFlush(app);
            ctx.fireChannelInactive();
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            log.debug("Upstream {} of TCP route {} failed", route.upstream(), route.destination(), cause);
            ctx.close();
        }
    }
}
