package dev.keel.proxy.upstream;

import dev.keel.proxy.http.UpstreamResponse;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.ScheduledFuture;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.concurrent.TimeUnit;

/**
 * One keep-alive connection to the app, and the only handler in its pipeline: it writes a request as
 * the bytes it is given, parses the response from the bytes read ({@link Http1ResponseDecoder}), and
 * enforces the response timeout, with no HTTP message objects and no hop between handlers. One request
 * at a time. Event loop only.
 */
final class Http1Connection extends ChannelInboundHandlerAdapter implements ChannelFutureListener {

    private final Http1ConnectionPool pool;
    private final InetSocketAddress target;
    private final Duration responseTimeout;
    private final long responseTimeoutNanos;
    private final Http1ResponseDecoder decoder;
    private final Runnable checkDeadline = this::checkDeadline;

    private Channel channel;
    /** Bytes read but not consumed yet: a line that is not whole. */
    private ByteBuf cumulation;
    private Http1ConnectionPool.Exchange exchange;
    /** {@link System#nanoTime()} by which the current exchange's response must have arrived. */
    private long deadline;
    /** Whether a byte of the current exchange's response has arrived: until then a failure may be retried. */
    private boolean responseStarted;
    private boolean requestWritten;
    private ScheduledFuture<?> watchdog;
    /** The idle queue holding this connection, or null while it is in use. Set by the pool. */
    ArrayDeque<Http1Connection> idleIn;

    Http1Connection(Http1ConnectionPool pool, InetSocketAddress target, int maxResponseBytes, Duration responseTimeout) {
        this.pool = pool;
        this.target = target;
        this.responseTimeout = responseTimeout;
        this.responseTimeoutNanos = responseTimeout.toNanos();
        this.decoder = new Http1ResponseDecoder(maxResponseBytes);
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        channel = ctx.channel();
    }

    boolean isActive() {
        return channel.isActive();
    }

    void close() {
        channel.close();
    }

    /** Starts {@code ex} by writing {@code request}, which this connection releases (by writing it, or here). */
    void start(Http1ConnectionPool.Exchange ex, ByteBuf request) {
        exchange = ex;
        responseStarted = false;
        requestWritten = false;
        deadline = System.nanoTime() + responseTimeoutNanos;
        decoder.reset(ex.headRequest);
        if (watchdog == null) {
            watchdog = channel.eventLoop().schedule(checkDeadline, responseTimeoutNanos, TimeUnit.NANOSECONDS);
        }
        if (!channel.isActive()) {
            request.release();
            fail(closedBeforeAnswer(), true);
            return;
        }
        channel.writeAndFlush(request).addListener(this);
    }

    /** The request write. A connection gets a new exchange only after its last write ended, so this is the current one's. */
    @Override
    public void operationComplete(ChannelFuture future) {
        if (future.isSuccess()) {
            requestWritten = true;
        } else {
            fail(new IOException("cannot write the request to the app at " + target + ": " + future.cause(),
                    future.cause()), !responseStarted);
            future.channel().close();
        }
    }

    /**
     * One timer per connection, re-armed lazily for the current exchange's deadline (as Netty's
     * IdleStateHandler does) rather than scheduled and cancelled for every request: on a busy keep-alive
     * connection that would put two priority-queue operations on every request.
     */
    private void checkDeadline() {
        watchdog = null;
        if (exchange == null) {
            return; // idle: the next exchange arms the timer again
        }
        long left = deadline - System.nanoTime();
        if (left > 0) {
            watchdog = channel.eventLoop().schedule(checkDeadline, left, TimeUnit.NANOSECONDS);
            return;
        }
        fail(new Http1ConnectionPool.UpstreamTimeoutException(
                "no response from " + target + " within " + responseTimeout), false);
        channel.close();
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (exchange == null || !(msg instanceof ByteBuf buf)) {
            // Bytes nobody asked for: where the next response would start is unknown, so the connection is done.
            ReferenceCountUtil.release(msg);
            releaseCumulation();
            ctx.close();
            return;
        }
        responseStarted = true;
        ByteBuf in = cumulate(ctx.alloc(), buf);
        UpstreamResponse response;
        try {
            response = decoder.decode(ctx.alloc(), in);
        } catch (IOException | RuntimeException e) {
            releaseCumulation();
            fail(e, false);
            ctx.close();
            return;
        }
        if (response == null) {
            if (!in.isReadable()) {
                releaseCumulation();
            }
            return;
        }
        boolean unsolicited = in.isReadable();
        releaseCumulation();
        Http1ConnectionPool.Exchange ex = exchange;
        exchange = null;
        // A response that came before the request was all written leaves the app's reading of the rest
        // unknown, so that connection is not reused either.
        boolean keepAlive = decoder.keepAlive() && requestWritten && !unsolicited;
        if (!keepAlive) {
            ctx.close();
        }
        pool.completed(this, ex, response, keepAlive);
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        if (watchdog != null) {
            watchdog.cancel(false);
            watchdog = null;
        }
        pool.forget(this);
        releaseCumulation();
        Http1ConnectionPool.Exchange ex = exchange;
        if (ex != null) {
            if (decoder.readsUntilClose()) {
                exchange = null;
                pool.completed(this, ex, decoder.finishOnClose(), false);
            } else if (responseStarted) {
                fail(new IOException("the app at " + target + " closed the connection before the response was complete"),
                        false);
            } else {
                fail(closedBeforeAnswer(), true);
            }
        }
        decoder.discard();
        ctx.fireChannelInactive();
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        // A reset after the request went out may follow the app acting on it: not sent twice.
        fail(cause, !responseStarted && !requestWritten);
        ctx.close();
    }

    private IOException closedBeforeAnswer() {
        return new IOException("the app at " + target + " closed the connection without answering");
    }

    /** Ends the current exchange, if any, with {@code cause}; {@code retryable}: no response byte came. */
    private void fail(Throwable cause, boolean retryable) {
        Http1ConnectionPool.Exchange ex = exchange;
        if (ex == null) {
            return;
        }
        exchange = null;
        decoder.discard();
        pool.failed(ex, cause, retryable);
    }

    /**
     * The bytes not consumed yet followed by {@code buf}. Usually there are none and {@code buf} itself is
     * returned. A cumulation that a response body still shares (a retained slice) is never written into.
     */
    private ByteBuf cumulate(ByteBufAllocator alloc, ByteBuf buf) {
        if (cumulation == null) {
            cumulation = buf;
            return buf;
        }
        int incoming = buf.readableBytes();
        if (cumulation.refCnt() == 1 && !cumulation.isReadOnly() && cumulation.writableBytes() >= incoming) {
            cumulation.writeBytes(buf);
        } else {
            // Room to grow, so a head trickling in a few bytes a read is not copied again on every read.
            int needed = cumulation.readableBytes() + incoming;
            ByteBuf merged = alloc.buffer(alloc.calculateNewCapacity(needed, Integer.MAX_VALUE));
            merged.writeBytes(cumulation).writeBytes(buf);
            cumulation.release();
            cumulation = merged;
        }
        buf.release();
        return cumulation;
    }

    private void releaseCumulation() {
        if (cumulation != null) {
            cumulation.release();
            cumulation = null;
        }
    }
}
