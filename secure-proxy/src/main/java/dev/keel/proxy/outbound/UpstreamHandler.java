package dev.keel.proxy.outbound;

import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.timeout.IdleStateEvent;
import io.netty.util.ReferenceCountUtil;

/**
 * The last handler of a pooled upstream connection: hands the one expected response to the waiting
 * exchange, or the failure when the connection ends first. Runs on the connection's event loop,
 * which is also the downstream connection's; must not block.
 */
final class UpstreamHandler extends ChannelInboundHandlerAdapter {

    /** What waits for a response; called once, on the event loop. */
    interface Exchange {
        /** Takes ownership of {@code response}. */
        void response(FullHttpResponse response);

        void failed(Throwable cause);
    }

    private Exchange pending;

    void expect(Exchange exchange) {
        pending = exchange;
    }

    boolean busy() {
        return pending != null;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        Exchange exchange = pending;
        pending = null;
        if (exchange != null && msg instanceof FullHttpResponse response) {
            exchange.response(response);
            return;
        }
        // A response nobody asked for: the connection is out of step, drop it.
        ReferenceCountUtil.release(msg);
        ctx.close();
        if (exchange != null) {
            exchange.failed(new UpstreamClosedException("unexpected message from upstream"));
        }
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        fail(new UpstreamClosedException("upstream connection closed before the response"));
        ctx.fireChannelInactive();
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        ctx.close();
        fail(cause);
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
        if (evt instanceof IdleStateEvent && pending == null) {
            ctx.close();
            return;
        }
        ctx.fireUserEventTriggered(evt);
    }

    private void fail(Throwable cause) {
        Exchange exchange = pending;
        pending = null;
        if (exchange != null) {
            exchange.failed(cause);
        }
    }
}
