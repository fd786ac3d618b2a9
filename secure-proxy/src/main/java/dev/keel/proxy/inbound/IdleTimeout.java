package dev.keel.proxy.inbound;

import io.netty.channel.ChannelDuplexHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelPromise;
import io.netty.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;

/**
 * Closes a connection on which nothing was read and nothing written for the idle timeout. Netty's
 * IdleStateHandler observes writes by replacing each write's promise and adding a listener to it, an
 * allocation and a callback on every response; here a write only stamps the time, and one timer per
 * connection re-arms itself for the remaining time when it finds the connection active.
 * Event loop only.
 */
final class IdleTimeout extends ChannelDuplexHandler {

    private final long timeoutNanos;
    private final LongSupplier nanoTime;
    private long lastActivity;
    private ScheduledFuture<?> timer;

    IdleTimeout(long timeoutMillis) {
        this(timeoutMillis, System::nanoTime);
    }

    /** With a clock of its own, for tests that move time forward. */
    IdleTimeout(long timeoutMillis, LongSupplier nanoTime) {
        this.nanoTime = nanoTime;
        if (timeoutMillis <= 0) {
            throw new IllegalArgumentException("timeoutMillis: " + timeoutMillis + " (expected: > 0)");
        }
        this.timeoutNanos = TimeUnit.MILLISECONDS.toNanos(timeoutMillis);
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        if (ctx.channel().isActive() && ctx.channel().isRegistered()) {
            start(ctx);
        }
    }

    @Override
    public void channelActive(ChannelHandlerContext ctx) throws Exception {
        start(ctx);
        super.channelActive(ctx);
    }

    private void start(ChannelHandlerContext ctx) {
        if (timer == null) {
            lastActivity = nanoTime.getAsLong();
            timer = ctx.executor().schedule(() -> check(ctx), timeoutNanos, TimeUnit.NANOSECONDS);
        }
    }

    private void check(ChannelHandlerContext ctx) {
        if (!ctx.channel().isOpen()) {
            return;
        }
        long idle = nanoTime.getAsLong() - lastActivity;
        if (idle >= timeoutNanos) {
            ctx.close();
            return;
        }
        timer = ctx.executor().schedule(() -> check(ctx), timeoutNanos - idle, TimeUnit.NANOSECONDS);
    }

    @Override
    public void channelReadComplete(ChannelHandlerContext ctx) {
        lastActivity = nanoTime.getAsLong();
        ctx.fireChannelReadComplete();
    }

    @Override
    public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) {
        lastActivity = nanoTime.getAsLong();
        ctx.write(msg, promise);
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) throws Exception {
        stop();
        super.channelInactive(ctx);
    }

    @Override
    public void handlerRemoved(ChannelHandlerContext ctx) {
        stop();
    }

    private void stop() {
        if (timer != null) {
            timer.cancel(false);
            timer = null;
        }
    }
}
