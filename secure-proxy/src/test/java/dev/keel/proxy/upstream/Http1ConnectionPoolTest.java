package dev.keel.proxy.upstream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.sun.net.httpserver.HttpServer;
import dev.keel.proxy.http.UpstreamResponse;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.Unpooled;
import io.netty.channel.EventLoop;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.channel.nio.NioEventLoopGroup;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.util.concurrent.Promise;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;

class Http1ConnectionPoolTest {

    static final int MAX_BODY = 64 * 1024;

    NioEventLoopGroup group;
    Http1ConnectionPool pool;
    /** Every request buffer handed to a pool: each must end released exactly once. */
    final List<ByteBuf> requests = new CopyOnWriteArrayList<>();

    @BeforeEach
    void startLoop() {
        group = new NioEventLoopGroup(1);
        pool = new Http1ConnectionPool(NioSocketChannel.class, MAX_BODY, Duration.ofSeconds(5), Duration.ofSeconds(10));
    }

    @AfterEach
    void stopLoopAndCheckRequestsReleased() {
        pool.close();
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
        assertThat(requests).allSatisfy(r -> assertThat(r.refCnt()).as("request buffer refCnt").isZero());
    }

    ByteBuf request(String method, String path, String body) {
        String head = method + " " + path + " HTTP/1.1\r\nhost: app\r\n"
                + (body.isEmpty() ? "" : "content-length: " + body.length() + "\r\n") + "\r\n";
        ByteBuf buf = ByteBufAllocator.DEFAULT.directBuffer();
        buf.writeCharSequence(head + body, StandardCharsets.ISO_8859_1);
        requests.add(buf);
        return buf;
    }

    UpstreamResponse exchange(Http1ConnectionPool via, InetSocketAddress target, String method, String path, String body)
            throws Exception {
        EventLoop loop = group.next();
        Promise<UpstreamResponse> p = loop.submit(() -> via.send(loop, target, request(method, path, body),
                method.equals("HEAD"))).get();
        return p.get(20, TimeUnit.SECONDS);
    }

    /** Status, body and the header fields, then the response released. */
    static String text(UpstreamResponse r) {
        try {
            StringBuilder b = new StringBuilder().append(r.status()).append(' ').append(r.reason());
            for (int i = 0; i < r.headers().size(); i++) {
                b.append('|').append(r.headers().name(i)).append('=').append(r.headers().value(i));
            }
            return b.append('|').append(r.body().toString(StandardCharsets.ISO_8859_1)).toString();
        } finally {
            r.release();
        }
    }

    /** Status and body only, then the response released. */
    static String statusAndBody(UpstreamResponse r) {
        try {
            return r.status() + " " + r.body().toString(StandardCharsets.ISO_8859_1);
        } finally {
            r.release();
        }
    }

    @Test
    void constructorValidatesItsArguments() {
        assertThatThrownBy(() -> new Http1ConnectionPool(NioSocketChannel.class, 0, Duration.ofSeconds(1),
                Duration.ofSeconds(1))).hasMessage("maxResponseBytes: 0 (expected: > 0)");
        assertThatThrownBy(() -> new Http1ConnectionPool(null, 1, Duration.ofSeconds(1), Duration.ofSeconds(1)))
                .hasMessage("channelType");
        assertThatThrownBy(() -> new Http1ConnectionPool(NioSocketChannel.class, 1, null, Duration.ofSeconds(1)))
                .hasMessage("connectTimeout");
        assertThatThrownBy(() -> new Http1ConnectionPool(NioSocketChannel.class, 1, Duration.ofSeconds(1), null))
                .hasMessage("responseTimeout");
    }

    @Test
    void anAppThatCannotBeReachedFailsTheRequestAndReleasesIt() throws Exception {
        InetSocketAddress gone;
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            gone = new InetSocketAddress("127.0.0.1", s.getLocalPort());
        }
        assertThatThrownBy(() -> exchange(pool, gone, "GET", "/", ""))
                .isInstanceOf(ExecutionException.class)
                .hasCauseInstanceOf(IOException.class)
                .hasMessageContaining("cannot connect to the app at");
    }

    @Test
    void aClosedPoolRefusesRequests() throws Exception {
        pool.close();
        assertThatThrownBy(() -> exchange(pool, new InetSocketAddress("127.0.0.1", 9), "GET", "/", ""))
                .hasCauseInstanceOf(IOException.class)
                .hasMessageContaining("the upstream pool is closed");
    }

    /** The JDK's HTTP server as the app, as UpstreamPoolTest has it. */
    @Nested
    class WithJdkServer {
        HttpServer app;
        final List<Integer> remotePorts = new CopyOnWriteArrayList<>();
        volatile boolean closeAfterResponse;
        final CountDownLatch slowReleased = new CountDownLatch(1);
        ExecutorService executor = Executors.newCachedThreadPool();

        @BeforeEach
        void start() throws IOException {
            app = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
            app.createContext("/", exchange -> {
                remotePorts.add(exchange.getRemoteAddress().getPort());
                byte[] in = exchange.getRequestBody().readAllBytes();
                if (exchange.getRequestURI().getPath().startsWith("/slow")) {
                    try {
                        slowReleased.await(5, TimeUnit.SECONDS);
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                }
                if (closeAfterResponse) {
                    exchange.getResponseHeaders().set("Connection", "close");
                }
                exchange.getResponseHeaders().add("X-Echo", "one");
                exchange.getResponseHeaders().add("X-Echo", "two");
                byte[] out = (exchange.getRequestMethod() + " " + exchange.getRequestURI() + " "
                        + new String(in, StandardCharsets.UTF_8)).trim().getBytes(StandardCharsets.UTF_8);
                if (exchange.getRequestURI().getPath().startsWith("/chunked")) {
                    exchange.sendResponseHeaders(200, 0);
                } else {
                    exchange.sendResponseHeaders(200, out.length);
                }
                try (OutputStream os = exchange.getResponseBody()) {
                    os.write(out);
                }
            });
            app.setExecutor(executor);
            app.start();
        }

        @AfterEach
        void stop() {
            slowReleased.countDown();
            app.stop(0);
            executor.shutdownNow();
        }

        String get(String path) throws Exception {
            return get(pool, path);
        }

        String get(Http1ConnectionPool via, String path) throws Exception {
            return statusAndBody(exchange(via, app.getAddress(), "GET", path, ""));
        }

        @Test
        void sequentialRequestsOnOneLoopReuseOneConnection() throws Exception {
            assertThat(get("/a")).isEqualTo("200 GET /a");
            assertThat(get("/b")).isEqualTo("200 GET /b");
            assertThat(get("/c")).isEqualTo("200 GET /c");
            assertThat(remotePorts).hasSize(3).containsOnly(remotePorts.get(0));
        }

        @Test
        void aConnectionTheAppClosesIsNotReused() throws Exception {
            closeAfterResponse = true;
            assertThat(get("/a")).isEqualTo("200 GET /a");
            assertThat(get("/b")).isEqualTo("200 GET /b");
            assertThat(remotePorts).hasSize(2).doesNotHaveDuplicates();
        }

        @Test
        void anAnswerThatDoesNotComeInTimeFailsTheRequestEvenOnAReusedConnection() throws Exception {
            Http1ConnectionPool quick = new Http1ConnectionPool(NioSocketChannel.class, MAX_BODY, Duration.ofSeconds(5),
                    Duration.ofMillis(300));
            try {
                // The first exchange arms the connection's timer; the slow one reuses the connection after it.
                assertThat(get(quick, "/fast")).isEqualTo("200 GET /fast");
                assertThatThrownBy(() -> get(quick, "/slow"))
                        .hasCauseInstanceOf(Http1ConnectionPool.UpstreamTimeoutException.class)
                        .hasMessageContaining("no response from");
                slowReleased.countDown();
                assertThat(get(quick, "/after")).isEqualTo("200 GET /after");
            } finally {
                quick.close();
            }
        }

        @Test
        void theRequestBytesGoOutAsTheyAreAndFieldsComeBackLowerCasedInOrderWithoutFraming() throws Exception {
            UpstreamResponse r = exchange(pool, app.getAddress(), "POST", "/echo", "hello body");
            assertThat(r.headers().getAll("x-echo")).containsExactly("one", "two");
            assertThat(r.headers().contains("date")).isTrue();
            assertThat(r.headers().contains("content-length")).isFalse();
            assertThat(statusAndBody(r)).isEqualTo("200 POST /echo hello body");
        }

        @Test
        void aChunkedResponseFromTheJdkServerIsDechunked() throws Exception {
            UpstreamResponse r = exchange(pool, app.getAddress(), "GET", "/chunked", "");
            assertThat(r.headers().contains("transfer-encoding")).isFalse();
            assertThat(statusAndBody(r)).isEqualTo("200 GET /chunked");
            assertThat(get("/again")).isEqualTo("200 GET /again");
            assertThat(remotePorts).hasSize(2).containsOnly(remotePorts.get(0));
        }

        @Test
        void aRequestSentFromAnotherThreadIsMovedToTheLoop() throws Exception {
            EventLoop loop = group.next();
            Promise<UpstreamResponse> p = pool.send(loop, app.getAddress(), request("GET", "/from-elsewhere", ""), false);
            assertThat(statusAndBody(p.get(20, TimeUnit.SECONDS))).isEqualTo("200 GET /from-elsewhere");
        }
    }

    /** A raw socket app that answers each request with the bytes a test gives it. */
    @Nested
    class WithRawApp {
        RawApp app;

        @AfterEach
        void stop() throws IOException {
            if (app != null) {
                app.close();
            }
        }

        String send(String method, String path) throws Exception {
            return text(exchange(pool, app.address(), method, path, ""));
        }

        Throwable failure(Http1ConnectionPool via, String method, String path) {
            try {
                UpstreamResponse r = exchange(via, app.address(), method, path, "");
                r.release();
                throw new AssertionError("expected a failure, got " + r.status());
            } catch (ExecutionException e) {
                return e.getCause();
            } catch (Exception e) {
                throw new AssertionError(e);
            }
        }

        Throwable failure(String path) {
            return failure(pool, "GET", path);
        }

        @Test
        void aChunkedBodyWithExtensionsAndTrailersIsDechunkedAndTheConnectionReused() throws Exception {
            app = new RawApp((c, n, head, out) -> {
                out.write(ascii("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nX-A: 1\r\n\r\n"
                        + "5;name=value;other\r\nhello\r\n" + "1 ; ext\r\n \r\n" + "A\r\n0123456789\r\n"
                        + "0\r\nTrailer-One: x\r\nTrailer-Two: y\r\n\r\n"));
                return true;
            });
            assertThat(send("GET", "/1")).isEqualTo("200 OK|x-a=1|hello 0123456789");
            assertThat(send("GET", "/2")).isEqualTo("200 OK|x-a=1|hello 0123456789");
            assertThat(app.connections()).isEqualTo(1);
        }

        @Test
        void aBodyWithoutLengthIsReadUntilTheAppClosesAndTheConnectionIsNotReused() throws Exception {
            app = new RawApp((c, n, head, out) -> {
                out.write(ascii("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil the end"));
                return false;
            });
            assertThat(send("GET", "/1")).isEqualTo("200 OK|content-type=text/plain|until the end");
            assertThat(send("GET", "/2")).isEqualTo("200 OK|content-type=text/plain|until the end");
            assertThat(app.connections()).isEqualTo(2);
        }

        @Test
        void http10IsKeptAliveOnlyWhenTheAppSaysSo() throws Exception {
            app = new RawApp((c, n, head, out) -> {
                String connection = head.contains("/alive") ? "Connection: Keep-Alive\r\n" : "";
                out.write(ascii("HTTP/1.0 200 OK\r\n" + connection + "Content-Length: 2\r\n\r\nok"));
                return true;
            });
            assertThat(send("GET", "/alive1")).isEqualTo("200 OK|connection=Keep-Alive|ok");
            assertThat(send("GET", "/alive2")).isEqualTo("200 OK|connection=Keep-Alive|ok");
            assertThat(app.connections()).isEqualTo(1);
            assertThat(send("GET", "/plain")).isEqualTo("200 OK|ok");
            assertThat(send("GET", "/alive3")).isEqualTo("200 OK|connection=Keep-Alive|ok");
            assertThat(app.connections()).isEqualTo(2);
        }

        @Test
        void interimResponsesAreSkippedAndTheFinalOneReturned() throws Exception {
            app = new RawApp((c, n, head, out) -> {
                out.write(ascii("HTTP/1.1 100 Continue\r\n\r\n"
                        + "HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload\r\n\r\n"
                        + "HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\ndone"));
                return true;
            });
            assertThat(send("GET", "/")).isEqualTo("200 OK|done");
            assertThat(send("GET", "/")).isEqualTo("200 OK|done");
            assertThat(app.connections()).isEqualTo(1);
        }

        @Test
        void switchingProtocolsFails() {
            app = new RawApp((c, n, head, out) -> {
                out.write(ascii("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: upgrade\r\n\r\n"));
                return true;
            });
            assertThat(failure("/")).isInstanceOf(IOException.class)
                    .hasMessageContaining("101 Switching Protocols is not supported");
        }

        @Test
        void aHeadResponseHasNoBodyWhateverItsContentLengthSays() throws Exception {
            app = new RawApp((c, n, head, out) -> {
                if (head.startsWith("HEAD")) {
                    out.write(ascii("HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n"));
                } else {
                    out.write(ascii("HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nget"));
                }
                return true;
            });
            assertThat(send("HEAD", "/")).as("the announced length is kept for the client; no body is read")
                    .isEqualTo("200 OK|content-length=1000|");
            assertThat(send("GET", "/")).isEqualTo("200 OK|get");
            assertThat(app.connections()).isEqualTo(1);
        }

        @Test
        void noContentAndNotModifiedHaveNoBody() throws Exception {
            app = new RawApp((c, n, head, out) -> {
                if (head.contains("/204")) {
                    out.write(ascii("HTTP/1.1 204 No Content\r\nX-N: 1\r\n\r\n"));
                } else if (head.contains("/304")) {
                    out.write(ascii("HTTP/1.1 304 Not Modified\r\nETag: \"v1\"\r\nContent-Length: 1234\r\n\r\n"));
                } else {
                    out.write(ascii("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"));
                }
                return true;
            });
            assertThat(send("GET", "/204")).isEqualTo("204 No Content|x-n=1|");
            assertThat(send("GET", "/304")).isEqualTo("304 Not Modified|etag=\"v1\"|content-length=1234|");
            assertThat(send("GET", "/200")).isEqualTo("200 OK|ok");
            assertThat(app.connections()).isEqualTo(1);
        }

        @Test
        void anEmptyReasonPhraseIsAccepted() throws Exception {
            app = new RawApp((c, n, head, out) -> {
                out.write(ascii(head.contains("/space") ? "HTTP/1.1 200 \r\nContent-Length: 1\r\n\r\na"
                        : "HTTP/1.1 200\r\nContent-Length: 1\r\n\r\nb"));
                return true;
            });
            assertThat(send("GET", "/space")).isEqualTo("200 |a");
            assertThat(send("GET", "/none")).isEqualTo("200 |b");
        }

        @Test
        void equalDuplicateContentLengthsAreOneLength() throws Exception {
            app = new RawApp((c, n, head, out) -> {
                out.write(ascii("HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 3, 3\r\n\r\nabc"));
                return true;
            });
            assertThat(send("GET", "/")).isEqualTo("200 OK|abc");
        }

        @Test
        void contentLengthWithTransferEncodingFailsAndClosesTheConnection() throws Exception {
            app = new RawApp((c, n, head, out) -> {
                if (c == 1) {
                    out.write(ascii("HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n"
                            + "3\r\nabc\r\n0\r\n\r\n"));
                } else {
                    out.write(ascii("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"));
                }
                return true;
            });
            assertThat(failure("/")).isInstanceOf(IOException.class)
                    .hasMessage("bad response from the app: both content-length and transfer-encoding");
            assertThat(send("GET", "/")).isEqualTo("200 OK|ok");
            assertThat(app.connections()).isEqualTo(2);
        }

        @Test
        void twoDifferentContentLengthsFail() {
            app = new RawApp((c, n, head, out) -> {
                out.write(ascii("HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd"));
                return true;
            });
            assertThat(failure("/")).isInstanceOf(IOException.class)
                    .hasMessage("bad response from the app: two different content-length values");
        }

        @Test
        void aTransferCodingOtherThanChunkedFails() {
            app = new RawApp((c, n, head, out) -> {
                out.write(ascii("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n"));
                return true;
            });
            assertThat(failure("/")).hasMessageContaining("unsupported transfer-encoding");
        }

        @Test
        void aBodyLargerThanTheLimitFailsWhateverItsFraming() {
            String big = "x".repeat(MAX_BODY + 1);
            app = new RawApp((c, n, head, out) -> {
                if (head.contains("/length")) {
                    out.write(ascii("HTTP/1.1 200 OK\r\nContent-Length: " + big.length() + "\r\n\r\n" + big));
                } else if (head.contains("/chunked")) {
                    String half = big.substring(0, MAX_BODY / 2 + 1);
                    out.write(ascii("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                            + Integer.toHexString(half.length()) + "\r\n" + half + "\r\n"
                            + Integer.toHexString(half.length()) + "\r\n" + half + "\r\n0\r\n\r\n"));
                } else {
                    out.write(ascii("HTTP/1.1 200 OK\r\n\r\n" + big));
                    return false;
                }
                return true;
            });
            String expected = "the response body from the app is larger than the limit of " + MAX_BODY + " bytes";
            assertThat(failure("/length")).isInstanceOf(IOException.class).hasMessage(expected);
            assertThat(failure("/chunked")).isInstanceOf(IOException.class).hasMessage(expected);
            assertThat(failure("/close")).isInstanceOf(IOException.class).hasMessage(expected);
            assertThat(app.connections()).isEqualTo(3);
        }

        @Test
        void aBodyJustAtTheLimitIsAccepted() throws Exception {
            String exact = "y".repeat(MAX_BODY);
            app = new RawApp((c, n, head, out) -> {
                out.write(ascii("HTTP/1.1 200 OK\r\nContent-Length: " + exact.length() + "\r\n\r\n" + exact));
                return true;
            });
            assertThat(send("GET", "/")).isEqualTo("200 OK|" + exact);
        }

        @Test
        void malformedHeadsFail() {
            app = new RawApp((c, n, head, out) -> {
                String path = head.substring(head.indexOf(' ') + 1, head.indexOf(" HTTP/"));
                out.write(ascii(switch (path) {
                    case "/fold" -> "HTTP/1.1 200 OK\r\nX-A: 1\r\n  continued\r\nContent-Length: 0\r\n\r\n";
                    case "/name" -> "HTTP/1.1 200 OK\r\nX A: 1\r\nContent-Length: 0\r\n\r\n";
                    case "/colon" -> "HTTP/1.1 200 OK\r\nX-A 1\r\nContent-Length: 0\r\n\r\n";
                    case "/status" -> "HTTP/1.1 2OO OK\r\nContent-Length: 0\r\n\r\n";
                    case "/version" -> "HTTP/2.0 200 OK\r\nContent-Length: 0\r\n\r\n";
                    case "/control" -> "HTTP/1.1 200 OK\r\nX-A: a\u0001b\r\nContent-Length: 0\r\n\r\n";
                    case "/length" -> "HTTP/1.1 200 OK\r\nContent-Length: 1x\r\n\r\n";
                    case "/chunk" -> "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n";
                    case "/overrun" -> "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabc\r\n0\r\n\r\n";
                    default -> "HTTP/1.1 200 OK\r\nX-Big: " + "v".repeat(Http1ResponseDecoder.MAX_HEADER_BLOCK_BYTES)
                            + "\r\n\r\n";
                }));
                return true;
            });
            assertThat(failure("/fold")).hasMessageContaining("obs-fold");
            assertThat(failure("/name")).hasMessageContaining("invalid character 0x20 in a header name");
            assertThat(failure("/colon")).hasMessageContaining("invalid character 0x20 in a header name");
            assertThat(failure("/status")).hasMessageContaining("malformed status line");
            assertThat(failure("/version")).hasMessageContaining("malformed status line");
            assertThat(failure("/control")).hasMessageContaining("control character 0x1 in a header value");
            assertThat(failure("/length")).hasMessageContaining("malformed content-length");
            assertThat(failure("/chunk")).hasMessageContaining("malformed chunk size");
            assertThat(failure("/overrun")).hasMessageContaining("chunk data longer than its chunk size");
            assertThat(failure("/big")).hasMessageContaining("longer than 65536 bytes");
            assertThat(app.connections()).isEqualTo(10);
        }

        @Test
        void aResponseSplitByteByByteOverTheSocketIsParsed() throws Exception {
            String response = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nX-Split: yes\r\n\r\n"
                    + "3;e=1\r\nabc\r\n2\r\nde\r\n0\r\nT: 1\r\n\r\n";
            app = new RawApp((c, n, head, out) -> {
                for (byte b : ascii(response)) {
                    out.write(b);
                    out.flush();
                    sleepBriefly(); // lets the proxy read most bytes on their own
                }
                return true;
            });
            assertThat(send("GET", "/1")).isEqualTo("200 OK|x-split=yes|abcde");
            assertThat(send("GET", "/2")).isEqualTo("200 OK|x-split=yes|abcde");
            assertThat(app.connections()).isEqualTo(1);
        }

        @Test
        void aPooledConnectionTheAppClosedIsRetriedOnceOnANewOne() throws Exception {
            // Each connection answers its first request, then reads the next and closes without a word,
            // as an app does whose keep-alive timeout ends just as the proxy reuses the connection.
            app = new RawApp((c, n, head, out) -> {
                if (n > 1) {
                    return false;
                }
                String body = c + ":" + head.substring(0, head.indexOf(" HTTP/1.1"));
                out.write(ascii("HTTP/1.1 200 OK\r\nContent-Length: " + body.length() + "\r\n\r\n" + body));
                return true;
            });
            assertThat(send("GET", "/a")).isEqualTo("200 OK|1:GET /a");
            assertThat(send("GET", "/b")).isEqualTo("200 OK|2:GET /b");
            assertThat(app.connections()).isEqualTo(2);
            assertThat(app.requestLines()).containsExactly("1.1 GET /a", "1.2 GET /b", "2.1 GET /b");
        }

        @Test
        void anIdleConnectionTheAppClosedIsReplaced() throws Exception {
            // Closed right after the answer, without saying so: whether the pool sees the FIN before the
            // next request or only when it writes to the connection, the request gets through.
            app = new RawApp((c, n, head, out) -> {
                out.write(ascii("HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\n" + c));
                return false;
            });
            assertThat(send("GET", "/a")).isEqualTo("200 OK|1");
            assertThat(send("GET", "/b")).isEqualTo("200 OK|2");
            assertThat(send("GET", "/c")).isEqualTo("200 OK|3");
            assertThat(app.connections()).isEqualTo(3);
        }

        @Test
        void theRetryHappensOnceOnly() throws Exception {
            app = new RawApp((c, n, head, out) -> {
                if (c > 1) {
                    return false; // every new connection is closed without an answer
                }
                if (n > 1) {
                    return false;
                }
                out.write(ascii("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"));
                return true;
            });
            assertThat(send("GET", "/a")).isEqualTo("200 OK|ok");
            assertThat(failure("/b")).isInstanceOf(IOException.class)
                    .hasMessageContaining("closed the connection without answering");
            assertThat(app.requestLines()).containsExactly("1.1 GET /a", "1.2 GET /b", "2.1 GET /b");
        }

        @Test
        void aResponseCutShortIsAFailureAndNotRetried() throws Exception {
            app = new RawApp((c, n, head, out) -> {
                if (n == 1) {
                    out.write(ascii("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"));
                    return true;
                }
                out.write(ascii("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort"));
                return false;
            });
            assertThat(send("GET", "/a")).isEqualTo("200 OK|ok");
            assertThat(failure("/b")).isInstanceOf(IOException.class)
                    .hasMessageContaining("closed the connection before the response was complete");
            assertThat(app.requestLines()).containsExactly("1.1 GET /a", "1.2 GET /b");
        }

        @Test
        void anAppThatDoesNotAnswerInTimeFailsWithTheTimeoutException() {
            CountDownLatch never = new CountDownLatch(1);
            app = new RawApp((c, n, head, out) -> {
                try {
                    never.await(5, TimeUnit.SECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
                return false;
            });
            Http1ConnectionPool quick = new Http1ConnectionPool(NioSocketChannel.class, MAX_BODY, Duration.ofSeconds(5),
                    Duration.ofMillis(200));
            try {
                assertThat(failure(quick, "GET", "/")).isInstanceOf(Http1ConnectionPool.UpstreamTimeoutException.class)
                        .hasMessageContaining("no response from /127.0.0.1:" + app.address().getPort() + " within PT0.2S");
            } finally {
                never.countDown();
                quick.close();
            }
        }
    }

    /** The connection handler alone, fed bytes in memory: every split and extra byte exactly where a test wants it. */
    @Nested
    class InMemory {
        final InetSocketAddress target = new InetSocketAddress("127.0.0.1", 8080);
        EmbeddedChannel channel;
        Http1Connection connection;

        @BeforeEach
        void open() {
            connection = new Http1Connection(pool, target, MAX_BODY, Duration.ofSeconds(10));
            channel = new EmbeddedChannel(connection);
        }

        @AfterEach
        void close() {
            channel.finishAndReleaseAll();
        }

        Promise<UpstreamResponse> start(boolean head) {
            Promise<UpstreamResponse> p = channel.eventLoop().newPromise();
            connection.start(new Http1ConnectionPool.Exchange(p, channel.eventLoop(), target, head, null),
                    request(head ? "HEAD" : "GET", "/", ""));
            ByteBuf written = channel.readOutbound();
            assertThat(written.toString(StandardCharsets.ISO_8859_1)).startsWith(head ? "HEAD / HTTP/1.1" : "GET / HTTP/1.1");
            written.release();
            return p;
        }

        @Test
        void aResponseFedOneByteAtATimeIsParsedAndTheConnectionKept() {
            String response = "HTTP/1.1 201 Created\r\nLocation: /x\r\nSet-Cookie: a=1\r\nSet-Cookie: b=2\r\n"
                    + "Transfer-Encoding: chunked\r\n\r\n4;ext=\"q\"\r\nabcd\r\n1\r\ne\r\n0\r\nT: v\r\n\r\n";
            for (int round = 0; round < 2; round++) {
                Promise<UpstreamResponse> p = start(false);
                for (byte b : ascii(response)) {
                    assertThat(p.isDone()).isFalse();
                    channel.writeInbound(Unpooled.wrappedBuffer(new byte[] {b}));
                }
                assertThat(text(p.getNow())).isEqualTo("201 Created|location=/x|set-cookie=a=1|set-cookie=b=2|abcde");
                assertThat(channel.isActive()).isTrue();
            }
        }

        @Test
        void aLengthDelimitedBodyInOneReadIsASliceOfThatRead() {
            Promise<UpstreamResponse> p = start(false);
            ByteBuf read = ByteBufAllocator.DEFAULT.directBuffer();
            read.writeBytes(ascii("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello"));
            channel.writeInbound(read);
            UpstreamResponse r = p.getNow();
            // Shared memory, not a copy: a byte changed in the read shows in the body.
            read.setByte(read.writerIndex() - 1, 'O');
            assertThat(text(r)).isEqualTo("200 OK|hellO");
            assertThat(read.refCnt()).isZero();
        }

        @Test
        void aLengthDelimitedBodyInSeveralReadsIsGathered() {
            Promise<UpstreamResponse> p = start(false);
            channel.writeInbound(Unpooled.copiedBuffer(ascii("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n01")));
            channel.writeInbound(Unpooled.copiedBuffer(ascii("2345")));
            assertThat(p.isDone()).isFalse();
            channel.writeInbound(Unpooled.copiedBuffer(ascii("6789")));
            assertThat(text(p.getNow())).isEqualTo("200 OK|0123456789");
            assertThat(channel.isActive()).isTrue();
        }

        @Test
        void linesEndingInABareLineFeedAreAccepted() {
            Promise<UpstreamResponse> p = start(false);
            channel.writeInbound(Unpooled.copiedBuffer(ascii("HTTP/1.1 200 OK\nX-Obs: caf\u00e9\n"
                    + "Transfer-Encoding: chunked\n\n2\nok\n0\n\n")));
            assertThat(text(p.getNow())).isEqualTo("200 OK|x-obs=caf\u00e9|ok");
            assertThat(channel.isActive()).isTrue();
        }

        @Test
        void bytesBeyondTheResponseCloseTheConnectionButTheResponseStands() {
            Promise<UpstreamResponse> p = start(false);
            channel.writeInbound(Unpooled.copiedBuffer(ascii(
                    "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")));
            assertThat(text(p.getNow())).isEqualTo("200 OK|ok");
            assertThat(channel.isActive()).isFalse();
        }

        @Test
        void bytesWhenNoRequestIsOutstandingCloseTheConnection() {
            channel.writeInbound(Unpooled.copiedBuffer(ascii("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")));
            assertThat(channel.isActive()).isFalse();
        }

        @Test
        void connectionCloseIsNotKeptAlive() {
            Promise<UpstreamResponse> p = start(false);
            channel.writeInbound(Unpooled.copiedBuffer(ascii(
                    "HTTP/1.1 200 OK\r\nConnection: foo, Close\r\nContent-Length: 0\r\n\r\n")));
            assertThat(text(p.getNow())).isEqualTo("200 OK|connection=foo, Close|");
            assertThat(channel.isActive()).isFalse();
        }

        @Test
        void aCloseInTheMiddleOfAResponseFailsItAndReleasesThePartialBody() {
            Promise<UpstreamResponse> p = start(false);
            channel.writeInbound(Unpooled.copiedBuffer(ascii("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n01")));
            channel.close();
            assertThat(p.cause()).isInstanceOf(IOException.class)
                    .hasMessageContaining("closed the connection before the response was complete");
        }

        @Test
        void aHeadResponseEndsWithItsHead() {
            Promise<UpstreamResponse> p = start(true);
            channel.writeInbound(Unpooled.copiedBuffer(ascii(
                    "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nX-Y: z\r\n\r\n")));
            assertThat(text(p.getNow())).isEqualTo("200 OK|x-y=z|");
            assertThat(channel.isActive()).isTrue();
        }
    }

    static void sleepBriefly() {
        try {
            Thread.sleep(1);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    static byte[] ascii(String s) {
        return s.getBytes(StandardCharsets.ISO_8859_1);
    }

    /** What the raw app does with one request head; returns whether to keep reading from that connection. */
    interface Script {
        boolean answer(int connection, int requestOnConnection, String head, OutputStream out) throws IOException;
    }

    /** A loopback server that reads request heads and answers with whatever the script writes, bytes exactly. */
    static final class RawApp implements AutoCloseable {
        private final ServerSocket server;
        private final Script script;
        private final AtomicInteger connections = new AtomicInteger();
        private final List<String> requestLines = new CopyOnWriteArrayList<>();
        private final List<Socket> sockets = new CopyOnWriteArrayList<>();
        private final ExecutorService threads = Executors.newCachedThreadPool();

        RawApp(Script script) {
            this.script = script;
            try {
                server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
            } catch (IOException e) {
                throw new IllegalStateException(e);
            }
            threads.execute(this::acceptLoop);
        }

        InetSocketAddress address() {
            return new InetSocketAddress("127.0.0.1", server.getLocalPort());
        }

        int connections() {
            return connections.get();
        }

        /** "connection.request METHOD PATH" for every request head read. */
        List<String> requestLines() {
            return requestLines;
        }

        private void acceptLoop() {
            while (!server.isClosed()) {
                try {
                    Socket s = server.accept();
                    s.setTcpNoDelay(true);
                    sockets.add(s);
                    int id = connections.incrementAndGet();
                    threads.execute(() -> serve(s, id));
                } catch (IOException e) {
                    return;
                }
            }
        }

        private void serve(Socket s, int id) {
            try (s; InputStream in = s.getInputStream(); OutputStream out = s.getOutputStream()) {
                for (int n = 1; ; n++) {
                    String head = readHead(in);
                    if (head == null) {
                        return;
                    }
                    String line = head.substring(0, head.indexOf('\r'));
                    requestLines.add(id + "." + n + " " + line.substring(0, line.lastIndexOf(' ')));
                    boolean more = script.answer(id, n, head, out);
                    out.flush();
                    if (!more) {
                        return;
                    }
                }
            } catch (IOException e) {
                // the proxy side went away
            }
        }

        private static String readHead(InputStream in) throws IOException {
            ByteArrayOutputStream head = new ByteArrayOutputStream();
            int b;
            while ((b = in.read()) >= 0) {
                head.write(b);
                String s = head.toString(StandardCharsets.ISO_8859_1);
                if (s.endsWith("\r\n\r\n")) {
                    return s;
                }
            }
            return null;
        }

        @Override
        public void close() throws IOException {
            server.close();
            for (Socket s : sockets) {
                s.close();
            }
            threads.shutdownNow();
        }
    }
}
