package dev.keel.proxy.upstream;

import dev.keel.proxy.http.UpstreamResponse;
import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoop;
import io.netty.channel.socket.SocketChannel;
import io.netty.util.concurrent.Promise;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.RejectedExecutionException;

/**
 * Keep-alive HTTP/1.1 connections to the local application, working on bytes: a request goes out as
 * the encoded bytes the caller made, and the response is parsed from the bytes read, with one handler
 * per connection. Connections are pooled per event loop and target, so a request never crosses
 * threads: the connection it uses lives on the event loop of the inbound connection that sent it. One
 * request at a time per connection; a connection the app closed while idle is replaced, and a request
 * that fails on a reused connection before any byte of the response is retried once on a new one.
 *
 * <p>Threading: call {@link #send} on {@code loop} (a call from elsewhere is moved there); its promise
 * completes there, after the connection went back to the pool, so a request the caller starts from the
 * promise's listener can reuse it.
 */
public final class Http1ConnectionPool implements AutoCloseable {

    /** The app did not answer within the response timeout. */
    public static final class UpstreamTimeoutException extends IOException {
        private static final long serialVersionUID = 1L;

        UpstreamTimeoutException(String message) {
            super(message);
        }
    }

    private final Class<? extends SocketChannel> channelType;
    private final int maxResponseBytes;
    private final Duration connectTimeout;
    private final Duration responseTimeout;
    /** Per event loop; the inner maps and queues are only touched on their loop. */
    private final Map<EventLoop, Map<InetSocketAddress, ArrayDeque<Http1Connection>>> idle = new ConcurrentHashMap<>();
    private volatile boolean closed;

    /**
     * @param channelType      the socket channel class matching the event loops (epoll or NIO)
     * @param maxResponseBytes a larger response body fails the request
     */
    public Http1ConnectionPool(Class<? extends SocketChannel> channelType, int maxResponseBytes,
            Duration connectTimeout, Duration responseTimeout) {
        this.channelType = Objects.requireNonNull(channelType, "channelType");
        if (maxResponseBytes <= 0) {
            throw new IllegalArgumentException("maxResponseBytes: " + maxResponseBytes + " (expected: > 0)");
        }
        this.maxResponseBytes = maxResponseBytes;
        this.connectTimeout = Objects.requireNonNull(connectTimeout, "connectTimeout");
        this.responseTimeout = Objects.requireNonNull(responseTimeout, "responseTimeout");
    }

    /**
     * Sends {@code request}, a complete encoded HTTP/1.1 request (request line, header fields with the
     * body's framing, body), to {@code target} as it is. The buffer passes to the pool, which releases it
     * on every path. The response, when it arrives, belongs to the caller, who releases it. The promise
     * fails with {@link UpstreamTimeoutException} when the app does not answer in time, and with another
     * {@link IOException} when it cannot be reached, closes the connection or answers something that is
     * not a well-formed response within the limits.
     *
     * @param headRequest the request is a HEAD: its response has no body whatever its header fields say
     */
    public Promise<UpstreamResponse> send(EventLoop loop, InetSocketAddress target, ByteBuf request,
            boolean headRequest) {
        Objects.requireNonNull(loop, "loop");
        Objects.requireNonNull(request, "request");
        Promise<UpstreamResponse> result = loop.newPromise();
        if (target == null) {
            request.release();
            return result.setFailure(new NullPointerException("target"));
        }
        if (loop.inEventLoop()) {
            dispatch(loop, target, request, headRequest, result);
            return result;
        }
        try {
            loop.execute(() -> dispatch(loop, target, request, headRequest, result));
        } catch (RejectedExecutionException e) {
            request.release();
            result.tryFailure(new IOException("the event loop is shut down", e));
        }
        return result;
    }

    private void dispatch(EventLoop loop, InetSocketAddress target, ByteBuf request, boolean headRequest,
            Promise<UpstreamResponse> result) {
        if (closed) {
            request.release();
            result.setFailure(new IOException("the upstream pool is closed"));
            return;
        }
        Http1Connection pooled = poll(loop, target);
        if (pooled != null) {
            // The app may have closed this connection a moment ago without the FIN read yet: a duplicate
            // goes out and the request is kept for one more try on a new connection.
            pooled.start(new Exchange(result, loop, target, headRequest, request), request.retainedDuplicate());
        } else {
            connect(loop, target, request, headRequest, result);
        }
    }

    private void connect(EventLoop loop, InetSocketAddress target, ByteBuf request, boolean headRequest,
            Promise<UpstreamResponse> result) {
        if (closed) {
            request.release();
            result.setFailure(new IOException("the upstream pool is closed"));
            return;
        }
        Http1Connection connection = new Http1Connection(this, target, maxResponseBytes, responseTimeout);
        ChannelFuture connect = new Bootstrap().group(loop).channel(channelType)
                .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, (int) Math.min(Integer.MAX_VALUE, connectTimeout.toMillis()))
                .option(ChannelOption.TCP_NODELAY, true)
                .handler(connection)
                .connect(target);
        connect.addListener(f -> {
            if (f.isSuccess()) {
                connection.start(new Exchange(result, loop, target, headRequest, null), request);
            } else {
                request.release();
                result.tryFailure(new IOException("cannot connect to the app at " + target + ": " + f.cause(), f.cause()));
            }
        });
    }

    /** A response arrived; {@code connection} is reusable when {@code keepAlive}. */
    void completed(Http1Connection connection, Exchange ex, UpstreamResponse response, boolean keepAlive) {
        if (keepAlive) {
            offer(connection, ex.loop, ex.target);
        }
        if (ex.retry != null) {
            ex.retry.release();
        }
        if (!ex.promise.trySuccess(response)) {
            response.release();
        }
    }

    /** The exchange failed; {@code retryable} when no byte of a response had arrived. */
    void failed(Exchange ex, Throwable cause, boolean retryable) {
        if (ex.retry != null) {
            if (retryable) {
                // Once only: the exchange on the new connection carries no request to retry.
                connect(ex.loop, ex.target, ex.retry, ex.headRequest, ex.promise);
                return;
            }
            ex.retry.release();
        }
        ex.promise.tryFailure(cause);
    }

    private Http1Connection poll(EventLoop loop, InetSocketAddress target) {
        Map<InetSocketAddress, ArrayDeque<Http1Connection>> byTarget = idle.get(loop);
        ArrayDeque<Http1Connection> q = byTarget == null ? null : byTarget.get(target);
        while (q != null && !q.isEmpty()) {
            Http1Connection c = q.pollFirst();
            c.idleIn = null;
            if (c.isActive()) {
                return c;
            }
        }
        return null;
    }

    private void offer(Http1Connection connection, EventLoop loop, InetSocketAddress target) {
        if (closed) {
            connection.close();
            return;
        }
        ArrayDeque<Http1Connection> q = idle.computeIfAbsent(loop, l -> new HashMap<>())
                .computeIfAbsent(target, t -> new ArrayDeque<>());
        // Most recently used first: the connections used least age out on the app's idle timeout.
        q.addFirst(connection);
        connection.idleIn = q;
    }

    /** Drops a closed connection from its idle queue, so closed connections do not pile up there. */
    void forget(Http1Connection connection) {
        if (connection.idleIn != null) {
            connection.idleIn.remove(connection);
            connection.idleIn = null;
        }
    }

    /** Closes the idle connections; those in use close when their exchange ends. */
    @Override
    public void close() {
        closed = true;
        idle.forEach((loop, byTarget) -> {
            try {
                loop.execute(() -> {
                    List<Http1Connection> all = new ArrayList<>();
                    byTarget.values().forEach(all::addAll);
                    byTarget.clear();
                    all.forEach(c -> {
                        c.idleIn = null;
                        c.close();
                    });
                });
            } catch (RejectedExecutionException e) {
                // The loop is shut down, and its connections closed with it.
            }
        });
    }

    /**
     * One request and the promise of its response. {@code retry} is the request kept, on a reused
     * connection, for one more try on a new one; null when there is none.
     */
    static final class Exchange {
        final Promise<UpstreamResponse> promise;
        final EventLoop loop;
        final InetSocketAddress target;
        final boolean headRequest;
        final ByteBuf retry;

        Exchange(Promise<UpstreamResponse> promise, EventLoop loop, InetSocketAddress target, boolean headRequest,
                ByteBuf retry) {
            this.promise = promise;
            this.loop = loop;
            this.target = target;
            this.headRequest = headRequest;
            this.retry = retry;
        }
    }
}
