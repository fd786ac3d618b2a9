package dev.keel.proxy.outbound;

import dev.keel.proxy.outbound.RouteTable.Route;
import dev.keel.proxy.outbound.UpstreamConnector.Alpn;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoop;
import io.netty.handler.codec.http.HttpClientCodec;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http2.Http2FrameCodec;
import io.netty.handler.codec.http2.Http2FrameCodecBuilder;
import io.netty.handler.codec.http2.Http2GoAwayFrame;
import io.netty.handler.codec.http2.Http2MultiplexHandler;
import io.netty.handler.codec.http2.Http2Settings;
import io.netty.handler.codec.http2.Http2StreamChannel;
import io.netty.handler.codec.http2.Http2StreamChannelBootstrap;
import io.netty.handler.codec.http2.Http2StreamFrameToHttpObjectCodec;
import io.netty.handler.ssl.ApplicationProtocolNames;
import io.netty.handler.timeout.IdleStateEvent;
import io.netty.handler.timeout.IdleStateHandler;
import io.netty.util.AttributeKey;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.Future;
import io.netty.util.concurrent.Promise;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;

/**
 * Upstream HTTP over mTLS, per event loop and route, so a downstream connection and its upstream
 * share one thread. HTTP/1.1: keep-alive connections, one exchange at a time each, idle ones kept
 * for reuse. h2: one connection per loop and route whose streams carry every exchange, multiplexed;
 * replaced when it closes or the server sends GOAWAY. Either way {@link #acquire} hands out a
 * channel that takes one {@code FullHttpRequest} and answers through its {@link UpstreamHandler};
 * for h2 that channel is a stream. A connection is used only after its handshake and secure naming
 * passed ({@link UpstreamConnector}).
 *
 * <p>Each loop's state is touched only on that loop: call {@link #acquire} and {@link #release} there.
 */
final class UpstreamPool {

    /** True on a handed-out channel whose connection served an exchange before (a retry candidate). */
    static final AttributeKey<Boolean> REUSED = AttributeKey.valueOf("keel.upstream.reused");
    private static final AttributeKey<Boolean> GOAWAY = AttributeKey.valueOf("keel.upstream.goaway");
    private static final int MAX_IDLE_PER_ROUTE = 64;

    /** One loop's connections. */
    private static final class LoopState {
        final Map<Route, ArrayDeque<Channel>> idle = new HashMap<>();
        final Map<Route, Future<Channel>> h2 = new HashMap<>();
        /**
         * Routes whose upstream answered an h2 offer with HTTP/1.1: not offered h2 again by this loop
         * (until restart), so their exchanges share pooled HTTP/1.1 connections instead of each
         * opening one to renegotiate.
         */
        final Set<Route> http1Only = new HashSet<>();
    }

    private final UpstreamConnector connector;
    private final Duration idleTimeout;
    private final int maxResponseBytes;
    private final Map<EventLoop, LoopState> loops = new ConcurrentHashMap<>();

    UpstreamPool(UpstreamConnector connector, Duration idleTimeout, int maxResponseBytes) {
        this.connector = connector;
        this.idleTimeout = idleTimeout;
        this.maxResponseBytes = maxResponseBytes;
    }

    /**
     * A channel for one exchange with {@code route}: over h2 when {@code http2} and the upstream
     * agrees, else HTTP/1.1. {@code allowReuse} false forces a new connection (a retry). Call on
     * {@code loop}.
     */
    Future<Channel> acquire(Route route, EventLoop loop, boolean http2, boolean allowReuse) {
        LoopState state = state(loop);
        Promise<Channel> promise = loop.newPromise();
        if (http2 && !state.http1Only.contains(route)) {
            acquireStream(route, loop, state, allowReuse, promise);
            return promise;
        }
        if (allowReuse) {
            ArrayDeque<Channel> channels = state.idle.get(route);
            Channel channel;
            while (channels != null && (channel = channels.pollLast()) != null) {
                if (channel.isActive()) {
                    channel.attr(REUSED).set(Boolean.TRUE);
                    return promise.setSuccess(channel);
                }
            }
        }
        connector.connect(route, loop, Alpn.HTTP_1_1).addListener(connected -> {
            if (!connected.isSuccess()) {
                promise.tryFailure(connected.cause());
                return;
            }
            Channel channel = (Channel) connected.getNow();
            addHttp1(channel);
            if (!promise.trySuccess(channel)) {
                channel.close();
            }
        });
        return promise;
    }

    /** Takes back a channel whose exchange completed with keep-alive. Call on its loop. */
    void release(Route route, Channel channel) {
        if (channel instanceof Http2StreamChannel) {
            // The stream ended with the response; the connection stays with its other streams.
            channel.close();
            return;
        }
        ArrayDeque<Channel> channels = state(channel.eventLoop()).idle.computeIfAbsent(route, r -> new ArrayDeque<>());
        if (channel.isActive() && channels.size() < MAX_IDLE_PER_ROUTE) {
            channels.addLast(channel);
        } else {
            channel.close();
        }
    }

    private void acquireStream(Route route, EventLoop loop, LoopState state, boolean allowReuse,
            Promise<Channel> promise) {
        Future<Channel> connection = state.h2.get(route);
        boolean reused = connection != null;
        if (connection == null || !allowReuse || unusable(connection)) {
            connection = connectHttp2(route, loop, state);
            reused = false;
        }
        boolean wasReused = reused;
        connection.addListener(ready -> {
            if (!ready.isSuccess()) {
                promise.tryFailure(ready.cause());
                return;
            }
            Channel parent = (Channel) ready.getNow();
            if (!ApplicationProtocolNames.HTTP_2.equals(UpstreamConnector.negotiated(parent))) {
                // The upstream chose HTTP/1.1: the first taker gets the connection, any other opens its own.
                if (parent.pipeline().get(UpstreamHandler.class) == null) {
                    addHttp1(parent);
                    if (promise.trySuccess(parent)) {
                        return;
                    }
                    parent.close();
                    return;
                }
                acquire(route, loop, false, true).addListener(again -> {
                    if (again.isSuccess()) {
                        if (!promise.trySuccess((Channel) again.getNow())) {
                            ((Channel) again.getNow()).close();
                        }
                    } else {
                        promise.tryFailure(again.cause());
                    }
                });
                return;
            }
            openStream(parent, wasReused, promise);
        });
    }

    private static boolean unusable(Future<Channel> connection) {
        if (!connection.isDone()) {
            return false;
        }
        if (!connection.isSuccess()) {
            return true;
        }
        Channel parent = connection.getNow();
        return !parent.isActive() || parent.hasAttr(GOAWAY);
    }

    private Future<Channel> connectHttp2(Route route, EventLoop loop, LoopState state) {
        Promise<Channel> ready = loop.newPromise();
        state.h2.put(route, ready);
        connector.connect(route, loop, Alpn.H2).addListener(connected -> {
            if (!connected.isSuccess()) {
                state.h2.remove(route, ready);
                ready.tryFailure(connected.cause());
                return;
            }
            Channel parent = (Channel) connected.getNow();
            if (!ApplicationProtocolNames.HTTP_2.equals(UpstreamConnector.negotiated(parent))) {
                state.h2.remove(route, ready);
                state.http1Only.add(route);
                ready.trySuccess(parent);
                return;
            }
            parent.pipeline().addLast("idle", new IdleStateHandler(0, 0, idleTimeout.toMillis(), TimeUnit.MILLISECONDS));
            parent.pipeline().addLast("h2", Http2FrameCodecBuilder.forClient()
                    .initialSettings(Http2Settings.defaultSettings().pushEnabled(false))
                    // More exchanges than the server allows at once wait for a free stream instead of failing.
                    .encoderEnforceMaxConcurrentStreams(true)
                    .validateHeaders(true)
                    .build());
            parent.pipeline().addLast("h2-multiplex", new Http2MultiplexHandler(new RefusePushedStreams()));
            parent.pipeline().addLast("h2-connection", new Http2ConnectionWatcher());
            parent.closeFuture().addListener(closed -> state.h2.remove(route, ready));
            ready.trySuccess(parent);
        });
        return ready;
    }

    private void openStream(Channel parent, boolean reused, Promise<Channel> promise) {
        new Http2StreamChannelBootstrap(parent).handler(new ChannelInitializer<Http2StreamChannel>() {
            @Override
            protected void initChannel(Http2StreamChannel stream) {
                stream.pipeline().addLast(new Http2StreamFrameToHttpObjectCodec(false));
                stream.pipeline().addLast(new HttpObjectAggregator(maxResponseBytes));
                stream.pipeline().addLast(new UpstreamHandler());
            }
        }).open().addListener(opened -> {
            if (!opened.isSuccess()) {
                // The connection went away between lookup and open: let the exchange retry like a closed keep-alive.
                promise.tryFailure(new UpstreamClosedException("h2 connection unusable: " + opened.cause()));
                return;
            }
            Http2StreamChannel stream = (Http2StreamChannel) opened.getNow();
            stream.attr(UpstreamConnector.PEER).set(parent.attr(UpstreamConnector.PEER).get());
            if (reused) {
                stream.attr(REUSED).set(Boolean.TRUE);
            }
            if (!promise.trySuccess(stream)) {
                stream.close();
            }
        });
    }

    private void addHttp1(Channel channel) {
        channel.pipeline().addLast(new IdleStateHandler(0, 0, idleTimeout.toMillis(), TimeUnit.MILLISECONDS));
        channel.pipeline().addLast(new HttpClientCodec());
        channel.pipeline().addLast(new HttpObjectAggregator(maxResponseBytes));
        channel.pipeline().addLast(new UpstreamHandler());
    }

    private LoopState state(EventLoop loop) {
        return loops.computeIfAbsent(loop, l -> new LoopState());
    }

    /** Closes every idle HTTP/1.1 connection and every h2 connection (at shutdown). */
    void closeIdle() {
        loops.forEach((loop, state) -> {
            try {
                loop.execute(() -> {
                    state.idle.values().forEach(channels -> channels.forEach(Channel::close));
                    state.idle.clear();
                    // Copied first: a closing connection removes itself from the map.
                    List<Future<Channel>> connections = new ArrayList<>(state.h2.values());
                    state.h2.clear();
                    connections.forEach(f -> f.addListener(done -> {
                        if (done.isSuccess()) {
                            ((Channel) done.getNow()).close();
                        }
                    }));
                });
            } catch (RejectedExecutionException e) {
                // The loop is already shut down, and its channels with it.
            }
        });
    }

    /** Server push is disabled in our SETTINGS; a pushed stream anyway is closed. */
    private static final class RefusePushedStreams extends ChannelInitializer<Http2StreamChannel> {
        @Override
        protected void initChannel(Http2StreamChannel stream) {
            stream.close();
        }
    }

    /**
     * Marks the connection after GOAWAY (no new streams on it; the ones in flight finish) and closes it
     * when idle with no stream open.
     */
    private static final class Http2ConnectionWatcher extends ChannelInboundHandlerAdapter {
        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            if (msg instanceof Http2GoAwayFrame) {
                ctx.channel().attr(GOAWAY).set(Boolean.TRUE);
            }
            ReferenceCountUtil.release(msg);
        }

        @Override
        public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
            if (evt instanceof IdleStateEvent) {
                if (ctx.pipeline().get(Http2FrameCodec.class).connection().numActiveStreams() == 0) {
                    ctx.close();
                }
                return;
            }
            ctx.fireUserEventTriggered(evt);
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            ctx.close();
        }
    }
}
