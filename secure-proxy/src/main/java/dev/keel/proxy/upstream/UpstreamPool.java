package dev.keel.proxy.upstream;

import io.netty.bootstrap.Bootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoop;
import io.netty.channel.socket.SocketChannel;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpClientCodec;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.util.AttributeKey;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.Promise;
import io.netty.util.concurrent.ScheduledFuture;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.channels.ClosedChannelException;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

/**
 * Keep-alive HTTP/1.1 connections to the local application, pooled per event loop and target, so a
 * request never crosses threads: the connection it uses lives on the event loop of the inbound
 * connection that sent it. One request at a time per connection; a connection the app closed while
 * idle is replaced, and a request that fails on a reused connection before any response is retried
 * once on a new one.
 *
 * <p>Threading: {@link #send} must be called on {@code loop}; its future completes there.
 */
public final class UpstreamPool implements AutoCloseable {

    /** The app did not answer within the response timeout. */
    public static final class UpstreamTimeoutException extends IOException {
        private static final long serialVersionUID = 1L;

        UpstreamTimeoutException(String message) {
            super(message);
        }
    }

    private static final AttributeKey<Exchange> EXCHANGE = AttributeKey.valueOf("keel.upstream.exchange");

    private final Class<? extends SocketChannel> channelType;
    private final int maxResponseBytes;
    private final Duration connectTimeout;
    private final Duration responseTimeout;
    private final Map<EventLoop, Map<InetSocketAddress, ArrayDeque<Channel>>> idle = new ConcurrentHashMap<>();
    private volatile boolean closed;

    /**
     * @param channelType      the socket channel class matching the event loops (epoll or NIO)
     * @param maxResponseBytes a larger response body fails the request (502)
     */
    public UpstreamPool(Class<? extends SocketChannel> channelType, int maxResponseBytes, Duration connectTimeout,
            Duration responseTimeout) {
        this.channelType = Objects.requireNonNull(channelType, "channelType");
        if (maxResponseBytes <= 0) {
            throw new IllegalArgumentException("maxResponseBytes: " + maxResponseBytes + " (expected: > 0)");
        }
        this.maxResponseBytes = maxResponseBytes;
        this.connectTimeout = Objects.requireNonNull(connectTimeout, "connectTimeout");
        this.responseTimeout = Objects.requireNonNull(responseTimeout, "responseTimeout");
    }

    /**
     * Sends {@code request} (ownership passes to the pool, which releases it) to {@code target}. The
     * response, when it arrives, belongs to the caller, who releases it.
     */
    public Promise<FullHttpResponse> send(EventLoop loop, InetSocketAddress target, FullHttpRequest request) {
        Promise<FullHttpResponse> result = loop.newPromise();
        Channel pooled = poll(loop, target);
        attempt(loop, target, request, pooled, result);
        return result;
    }

    private void attempt(EventLoop loop, InetSocketAddress target, FullHttpRequest request, Channel pooled,
            Promise<FullHttpResponse> result) {
        if (pooled != null) {
            Promise<FullHttpResponse> first = loop.newPromise();
            exchange(loop, target, pooled, request.retainedDuplicate(), first);
            first.addListener(f -> {
                if (f.isSuccess()) {
                    request.release();
                    result.setSuccess(first.getNow());
                } else if (f.cause() instanceof ClosedChannelException) {
                    // The app closed the idle connection as we used it: once more, on a new connection.
                    connectAndExchange(loop, target, request, result);
                } else {
                    request.release();
                    result.setFailure(f.cause());
                }
            });
        } else {
            connectAndExchange(loop, target, request, result);
        }
    }

    private void connectAndExchange(EventLoop loop, InetSocketAddress target, FullHttpRequest request,
            Promise<FullHttpResponse> result) {
        if (closed) {
            request.release();
            result.setFailure(new IOException("the upstream pool is closed"));
            return;
        }
        Bootstrap b = new Bootstrap().group(loop).channel(channelType)
                .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, (int) connectTimeout.toMillis())
                .option(ChannelOption.TCP_NODELAY, true)
                .handler(new ChannelInitializer<SocketChannel>() {
                    @Override
                    protected void initChannel(SocketChannel ch) {
                        ch.pipeline().addLast(new HttpClientCodec(), new HttpObjectAggregator(maxResponseBytes),
                                new ExchangeHandler());
                    }
                });
        ChannelFuture connect = b.connect(target);
        connect.addListener(f -> {
            if (f.isSuccess()) {
                exchange(loop, target, connect.channel(), request, result);
            } else {
                request.release();
                result.setFailure(f.cause());
            }
        });
    }

    private void exchange(EventLoop loop, InetSocketAddress target, Channel ch, FullHttpRequest request,
            Promise<FullHttpResponse> result) {
        Exchange ex = new Exchange(result, target, System.nanoTime() + responseTimeout.toNanos());
        ch.attr(EXCHANGE).set(ex);
        ExchangeHandler handler = ch.pipeline().get(ExchangeHandler.class);
        if (handler != null) {
            handler.watch(ch);
        }
        if (!ch.isActive()) {
            ReferenceCountUtil.release(request);
            ex.fail(new ClosedChannelException());
            return;
        }
        ch.writeAndFlush(request).addListener(f -> {
            if (!f.isSuccess()) {
                ex.fail(f.cause() instanceof ClosedChannelException ? f.cause() : new ClosedChannelException());
                ch.close();
            }
        });
    }

    private Channel poll(EventLoop loop, InetSocketAddress target) {
        ArrayDeque<Channel> q = idle.computeIfAbsent(loop, l -> new HashMap<>()).get(target);
        while (q != null && !q.isEmpty()) {
            Channel ch = q.pollFirst();
            if (ch.isActive()) {
                return ch;
            }
        }
        return null;
    }

    private void offer(Channel ch, InetSocketAddress target) {
        if (closed) {
            ch.close();
            return;
        }
        EventLoop loop = ch.eventLoop();
        ArrayDeque<Channel> q = idle.computeIfAbsent(loop, l -> new HashMap<>())
                .computeIfAbsent(target, t -> new ArrayDeque<>());
        q.addFirst(ch);
    }

    /** Closes the idle connections; those in use close when their exchange ends. */
    @Override
    public void close() {
        closed = true;
        idle.forEach((loop, byTarget) -> loop.execute(() -> {
            byTarget.values().forEach(q -> q.forEach(Channel::close));
            byTarget.clear();
        }));
    }

    /** One request on one connection. Event loop only. */
    private static final class Exchange {
        final Promise<FullHttpResponse> promise;
        final InetSocketAddress target;
        /** {@link System#nanoTime()} by which the response must have arrived. */
        final long deadline;

        Exchange(Promise<FullHttpResponse> promise, InetSocketAddress target, long deadline) {
            this.promise = promise;
            this.target = target;
            this.deadline = deadline;
        }

        boolean fail(Throwable cause) {
            return promise.tryFailure(cause);
        }
    }

    /**
     * Reads responses and enforces the response timeout. The timeout uses one timer per connection that
     * is re-armed lazily for the current exchange's deadline (as Netty's IdleStateHandler does), rather
     * than scheduling and cancelling a timer for every request: on a busy keep-alive connection that
     * would put two priority-queue operations on every request. Event loop only.
     */
    private final class ExchangeHandler extends ChannelInboundHandlerAdapter {
        private ScheduledFuture<?> watchdog;

        void watch(Channel ch) {
            if (watchdog == null) {
                watchdog = ch.eventLoop().schedule(() -> check(ch), responseTimeout.toNanos(), TimeUnit.NANOSECONDS);
            }
        }

        private void check(Channel ch) {
            watchdog = null;
            Exchange ex = ch.attr(EXCHANGE).get();
            if (ex == null) {
                return; // idle: the next exchange arms the timer again
            }
            long left = ex.deadline - System.nanoTime();
            if (left > 0) {
                watchdog = ch.eventLoop().schedule(() -> check(ch), left, TimeUnit.NANOSECONDS);
                return;
            }
            if (ex.fail(new UpstreamTimeoutException("no response from " + ex.target + " within " + responseTimeout))) {
                ch.close();
            }
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            Exchange ex = ctx.channel().attr(EXCHANGE).getAndSet(null);
            if (!(msg instanceof FullHttpResponse response) || ex == null) {
                ReferenceCountUtil.release(msg);
                ctx.close();
                return;
            }
            boolean keepAlive = HttpUtil.isKeepAlive(response) && response.decoderResult().isSuccess();
            if (!response.decoderResult().isSuccess()) {
                response.release();
                ex.promise.tryFailure(new IOException("bad response from the app: " + response.decoderResult().cause()));
                ctx.close();
                return;
            }
            // Back to the pool before the caller sees the response, so a request it starts right away can reuse it.
            if (keepAlive) {
                offer(ctx.channel(), ex.target);
            } else {
                ctx.close();
            }
            if (!ex.promise.trySuccess(response)) {
                response.release();
            }
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            if (watchdog != null) {
                watchdog.cancel(false);
                watchdog = null;
            }
            Exchange ex = ctx.channel().attr(EXCHANGE).getAndSet(null);
            if (ex != null) {
                ex.fail(new ClosedChannelException());
            }
            ctx.fireChannelInactive();
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            Exchange ex = ctx.channel().attr(EXCHANGE).getAndSet(null);
            if (ex != null) {
                ex.fail(cause);
            }
            ctx.close();
        }
    }
}
