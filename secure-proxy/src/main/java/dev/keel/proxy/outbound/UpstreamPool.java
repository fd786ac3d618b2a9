package dev.keel.proxy.outbound;

import dev.keel.identity.SpiffeId;
import dev.keel.proxy.ProxyMetrics;
import dev.keel.proxy.outbound.RouteTable.Route;
import dev.keel.proxy.tls.PeerIdentity;
import dev.keel.proxy.tls.TlsContextHolder;
import io.netty.bootstrap.Bootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoop;
import io.netty.channel.socket.SocketChannel;
import io.netty.handler.codec.http.HttpClientCodec;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.ssl.SslHandler;
import io.netty.handler.timeout.IdleStateHandler;
import io.netty.util.AttributeKey;
import io.netty.util.concurrent.Future;
import io.netty.util.concurrent.Promise;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

/**
 * Keep-alive mTLS connections to upstream proxies, per event loop and route, so a downstream
 * connection and its upstream share one thread. A new connection is handed out only after its
 * handshake and the secure-naming check passed. Each event loop's idle lists are touched only on
 * that loop.
 */
final class UpstreamPool {

    static final AttributeKey<SpiffeId> PEER = AttributeKey.valueOf("keel.upstream.peer");
    private static final int MAX_IDLE_PER_ROUTE = 64;

    private final TlsContextHolder tls;
    private final ProxyMetrics metrics;
    private final Class<? extends SocketChannel> channelClass;
    private final Duration connectTimeout;
    private final Duration idleTimeout;
    private final int maxResponseBytes;
    private final Map<EventLoop, Map<Route, ArrayDeque<Channel>>> idle = new ConcurrentHashMap<>();

    UpstreamPool(TlsContextHolder tls, ProxyMetrics metrics, Class<? extends SocketChannel> channelClass,
            Duration connectTimeout, Duration idleTimeout, int maxResponseBytes) {
        this.tls = tls;
        this.metrics = metrics;
        this.channelClass = channelClass;
        this.connectTimeout = connectTimeout;
        this.idleTimeout = idleTimeout;
        this.maxResponseBytes = maxResponseBytes;
    }

    /** A connection for {@code route}: an idle one, else a new verified one. Call on {@code loop}. */
    Future<Channel> acquire(Route route, EventLoop loop, boolean allowReuse) {
        Promise<Channel> promise = loop.newPromise();
        if (allowReuse) {
            ArrayDeque<Channel> channels = idleFor(loop, route);
            Channel channel;
            while ((channel = channels.pollLast()) != null) {
                if (channel.isActive()) {
                    return promise.setSuccess(channel);
                }
            }
        }
        connect(route, loop, promise);
        return promise;
    }

    /** Returns a connection whose exchange completed with keep-alive. Call on its loop. */
    void release(Route route, Channel channel) {
        ArrayDeque<Channel> channels = idleFor(channel.eventLoop(), route);
        if (channel.isActive() && channels.size() < MAX_IDLE_PER_ROUTE) {
            channels.addLast(channel);
        } else {
            channel.close();
        }
    }

    private ArrayDeque<Channel> idleFor(EventLoop loop, Route route) {
        return idle.computeIfAbsent(loop, l -> new HashMap<>()).computeIfAbsent(route, r -> new ArrayDeque<>());
    }

    private void connect(Route route, EventLoop loop, Promise<Channel> promise) {
        io.netty.handler.ssl.SslContext context;
        try {
            context = tls.client();
        } catch (IllegalStateException e) {
            promise.setFailure(e);
            return;
        }
        String host = route.upstream().getHostString();
        int port = route.upstream().getPort();
        Bootstrap bootstrap = new Bootstrap().group(loop).channel(channelClass)
                .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, (int) connectTimeout.toMillis())
                .option(ChannelOption.TCP_NODELAY, true)
                .handler(new ChannelInitializer<SocketChannel>() {
                    @Override
                    protected void initChannel(SocketChannel ch) {
                        ch.pipeline().addLast("tls", context.newHandler(ch.alloc(), host, port));
                        ch.pipeline().addLast(new IdleStateHandler(0, 0, idleTimeout.toMillis(), TimeUnit.MILLISECONDS));
                        ch.pipeline().addLast(new HttpClientCodec());
                        ch.pipeline().addLast(new HttpObjectAggregator(maxResponseBytes));
                        ch.pipeline().addLast(new UpstreamHandler());
                    }
                });
        bootstrap.connect(route.upstream()).addListener(connected -> {
            if (!connected.isSuccess()) {
                promise.tryFailure(connected.cause());
                return;
            }
            Channel channel = ((io.netty.channel.ChannelFuture) connected).channel();
            SslHandler ssl = (SslHandler) channel.pipeline().get("tls");
            ssl.handshakeFuture().addListener(handshake -> {
                if (!handshake.isSuccess()) {
                    channel.close();
                    promise.tryFailure(handshake.cause());
                    return;
                }
                Optional<SpiffeId> peer = PeerIdentity.of(ssl);
                if (peer.isEmpty() || !route.allowedIds().contains(peer.get())) {
                    metrics.secureNamingFailure(route.destination());
                    channel.close();
                    promise.tryFailure(new SecureNamingException(route.destination(), peer, route.allowedIds()));
                    return;
                }
                channel.attr(PEER).set(peer.get());
                if (!promise.trySuccess(channel)) {
                    channel.close();
                }
            });
        });
    }

    /** Closes every idle connection (at shutdown). */
    void closeIdle() {
        idle.forEach((loop, byRoute) -> {
            try {
                loop.execute(() -> {
                    byRoute.values().forEach(channels -> channels.forEach(Channel::close));
                    byRoute.clear();
                });
            } catch (java.util.concurrent.RejectedExecutionException e) {
                // The loop is already shut down, and its channels with it.
            }
        });
    }
}
