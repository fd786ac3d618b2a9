package dev.keel.proxy.upstream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.sun.net.httpserver.HttpServer;
import io.netty.buffer.Unpooled;
import io.netty.channel.EventLoop;
import io.netty.channel.nio.NioEventLoopGroup;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.handler.codec.http.DefaultFullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpVersion;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class UpstreamPoolTest {

    HttpServer app;
    NioEventLoopGroup group;
    UpstreamPool pool;
    final List<Integer> remotePorts = new CopyOnWriteArrayList<>();
    volatile boolean closeAfterResponse;
    final java.util.concurrent.CountDownLatch slowReleased = new java.util.concurrent.CountDownLatch(1);

    @BeforeEach
    void start() throws IOException {
        app = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        app.createContext("/", exchange -> {
            remotePorts.add(exchange.getRemoteAddress().getPort());
            exchange.getRequestBody().readAllBytes();
            if (exchange.getRequestURI().getPath().startsWith("/slow")) {
                try {
                    slowReleased.await(5, java.util.concurrent.TimeUnit.SECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
            if (closeAfterResponse) {
                exchange.getResponseHeaders().set("Connection", "close");
            }
            byte[] out = exchange.getRequestURI().toString().getBytes(StandardCharsets.UTF_8);
            exchange.sendResponseHeaders(200, out.length);
            try (OutputStream os = exchange.getResponseBody()) {
                os.write(out);
            }
        });
        app.setExecutor(java.util.concurrent.Executors.newCachedThreadPool());
        app.start();
        group = new NioEventLoopGroup(1);
        pool = new UpstreamPool(NioSocketChannel.class, 1024 * 1024, Duration.ofSeconds(5), Duration.ofSeconds(10));
    }

    @AfterEach
    void stop() {
        slowReleased.countDown();
        pool.close();
        group.shutdownGracefully(0, 1, java.util.concurrent.TimeUnit.SECONDS).syncUninterruptibly();
        app.stop(0);
    }

    String get(String path) throws Exception {
        return get(pool, path);
    }

    String get(UpstreamPool via, String path) throws Exception {
        EventLoop loop = group.next();
        InetSocketAddress target = app.getAddress();
        FullHttpResponse r = loop.submit(() -> via.send(loop, target,
                new DefaultFullHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.GET, path, Unpooled.EMPTY_BUFFER)))
                .get().get();
        try {
            return r.status().code() + " " + r.content().toString(StandardCharsets.UTF_8);
        } finally {
            r.release();
        }
    }

    @Test
    void sequentialRequestsOnOneLoopReuseOneConnection() throws Exception {
        assertThat(get("/a")).isEqualTo("200 /a");
        assertThat(get("/b")).isEqualTo("200 /b");
        assertThat(get("/c")).isEqualTo("200 /c");
        assertThat(remotePorts).hasSize(3).containsOnly(remotePorts.get(0));
    }

    @Test
    void aConnectionTheAppClosesIsNotReused() throws Exception {
        closeAfterResponse = true;
        assertThat(get("/a")).isEqualTo("200 /a");
        assertThat(get("/b")).isEqualTo("200 /b");
        assertThat(remotePorts).hasSize(2).doesNotHaveDuplicates();
    }

    @Test
    void anAnswerThatDoesNotComeInTimeFailsTheRequestEvenOnAReusedConnection() throws Exception {
        UpstreamPool quick = new UpstreamPool(NioSocketChannel.class, 1024 * 1024, Duration.ofSeconds(5),
                Duration.ofMillis(300));
        try {
            // The first exchange arms the connection's timer; the slow one reuses the connection after it.
            assertThat(get(quick, "/fast")).isEqualTo("200 /fast");
            assertThatThrownBy(() -> get(quick, "/slow"))
                    .hasCauseInstanceOf(UpstreamPool.UpstreamTimeoutException.class)
                    .hasMessageContaining("no response from");
            slowReleased.countDown();
            assertThat(get(quick, "/after")).isEqualTo("200 /after");
        } finally {
            quick.close();
        }
    }
}
