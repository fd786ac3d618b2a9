package dev.keel.proxy.inbound;

import static org.assertj.core.api.Assertions.assertThat;

import dev.keel.authz.Protocol;
import dev.keel.jwt.JwksCache;
import dev.keel.proxy.ProxyConfig;
import dev.keel.proxy.ProxyMetrics;
import dev.keel.proxy.pipeline.PipelineHolder;
import dev.keel.proxy.pipeline.PipelineSettings;
import io.netty.buffer.AbstractByteBufAllocator;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.CompositeByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.buffer.UnpooledHeapByteBuf;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.embedded.EmbeddedChannel;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The HTTP/1.1 request decoder in memory: every case of the old byte guard plus parsing, aggregation,
 * limits and the header-read timeout, fed whole and one byte at a time. Every buffer fed or allocated is
 * checked to be released at the end of each test.
 */
class Http1RequestDecoderTest {

    static final int MAX_HEADER_BYTES = 256;
    static final int MAX_HEADERS = 5;
    static final int MAX_BODY = 1024;
    static final Duration HEADER_TIMEOUT = Duration.ofMinutes(1);

    final List<String> log = new ArrayList<>();
    final AtomicLong nanos = new AtomicLong(1_000_000_000L);
    final List<ByteBuf> buffers = new ArrayList<>();
    final TrackingAllocator alloc = new TrackingAllocator();
    /** What the decoder emitted, in order; request bodies are released in {@link #releaseEverything()}. */
    final List<Object> received = new ArrayList<>();
    /** Everything emitted in the test, kept for the release at the end when {@link #received} was cleared. */
    final List<Object> emitted = new ArrayList<>();
    final List<EmbeddedChannel> channels = new ArrayList<>();

    EmbeddedChannel channel() {
        ProxyConfig config = ProxyConfig.of(new ProxyConfig.Workload("default", "web", Map.of(), "cluster.local"),
                        new ProxyConfig.App("127.0.0.1", 8080))
                .withLimits(new ProxyConfig.Limits(MAX_HEADER_BYTES, MAX_HEADERS, MAX_BODY, Duration.ofMinutes(5),
                        HEADER_TIMEOUT, 10));
        InboundServices services = new InboundServices(config,
                PipelineHolder.withoutPolicies(PipelineSettings.from(config), JwksCache.create()), r -> null,
                new ProxyMetrics(), null, new AccessLog(log::add), Clock.systemUTC());
        ConnectionInfo info = new ConnectionInfo(new ListenerSpec("127.0.0.1", 0, 8080, Protocol.HTTP,
                new InetSocketAddress("127.0.0.1", 8080)), "127.0.0.1", 1234, "127.0.0.1");
        EmbeddedChannel ch = new EmbeddedChannel();
        ch.config().setAllocator(alloc);
        ch.pipeline().addLast(new Http1RequestDecoder(services, info, nanos::get), new Recorder());
        channels.add(ch);
        return ch;
    }

    /** Stands in for the request handler: records what arrives, answers a rejection and closes, as the contract says. */
    final class Recorder extends ChannelInboundHandlerAdapter {
        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            received.add(msg);
            emitted.add(msg);
            if (msg instanceof Http1Rejection r) {
                ctx.writeAndFlush(r.response()).addListener(ChannelFutureListener.CLOSE);
            }
        }
    }

    /** Heap buffers only, each recorded so the test can check it was released. */
    final class TrackingAllocator extends AbstractByteBufAllocator {
        TrackingAllocator() {
            super(false);
        }

        @Override
        protected ByteBuf newHeapBuffer(int initialCapacity, int maxCapacity) {
            return track(new UnpooledHeapByteBuf(this, initialCapacity, maxCapacity));
        }

        @Override
        protected ByteBuf newDirectBuffer(int initialCapacity, int maxCapacity) {
            return newHeapBuffer(initialCapacity, maxCapacity);
        }

        @Override
        public CompositeByteBuf compositeHeapBuffer(int maxNumComponents) {
            return track(super.compositeHeapBuffer(maxNumComponents));
        }

        @Override
        public CompositeByteBuf compositeDirectBuffer(int maxNumComponents) {
            return compositeHeapBuffer(maxNumComponents);
        }

        @Override
        public boolean isDirectBufferPooled() {
            return false;
        }
    }

    <T extends ByteBuf> T track(T buf) {
        buffers.add(buf);
        return buf;
    }

    @AfterEach
    void releaseEverything() {
        for (Object o : emitted) {
            if (o instanceof InboundRequest r && r.body.refCnt() > 0) {
                r.release();
            }
        }
        for (EmbeddedChannel ch : channels) {
            ch.finishAndReleaseAll();
        }
        for (ByteBuf b : buffers) {
            assertThat(b.refCnt()).as("a buffer was not released").isZero();
        }
    }

    void feed(EmbeddedChannel ch, String s) {
        ch.writeInbound(track(Unpooled.copiedBuffer(s, StandardCharsets.ISO_8859_1)));
    }

    void feedBytewise(EmbeddedChannel ch, String s) {
        for (byte b : s.getBytes(StandardCharsets.ISO_8859_1)) {
            ch.writeInbound(track(Unpooled.wrappedBuffer(new byte[] {b})));
        }
    }

    static String drainOutbound(EmbeddedChannel ch) {
        StringBuilder b = new StringBuilder();
        ByteBuf buf;
        while ((buf = ch.readOutbound()) != null) {
            b.append(buf.toString(StandardCharsets.ISO_8859_1));
            buf.release();
        }
        return b.toString();
    }

    List<InboundRequest> requests() {
        return received.stream().filter(InboundRequest.class::isInstance).map(InboundRequest.class::cast).toList();
    }

    InboundRequest onlyRequest() {
        assertThat(received).hasSize(1);
        return (InboundRequest) received.get(0);
    }

    Http1Rejection rejection() {
        assertThat(received).isNotEmpty();
        assertThat(received.get(received.size() - 1)).isInstanceOf(Http1Rejection.class);
        return (Http1Rejection) received.get(received.size() - 1);
    }

    static String body(InboundRequest r) {
        return r.body.toString(StandardCharsets.ISO_8859_1);
    }

    /** A fresh channel fed {@code request} whole; asserts it was refused with {@code status} and closed. */
    Http1Rejection refused(String request, int status) {
        received.clear();
        EmbeddedChannel ch = channel();
        feed(ch, request);
        assertThat(received).as(request).singleElement().isInstanceOf(Http1Rejection.class);
        Http1Rejection r = (Http1Rejection) received.get(0);
        assertThat(r.status()).as(request).isEqualTo(status);
        assertThat(drainOutbound(ch)).as(request).startsWith("HTTP/1.1 " + status + " ");
        assertThat(ch.isOpen()).as(request).isFalse();
        return r;
    }

    // --- cases of the old Http1Guard ---

    static final String THREE = "POST /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
            + "3;ext=1\r\nabc\r\n0\r\nX-T: 1\r\n\r\n"
            + "POST /b HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nhi"
            + "GET /c?q=1 HTTP/1.1\r\nHost: x\r\n\r\n";

    @Test
    void pipelinedRequestsAreDecodedInOrderWhenFedWhole() {
        EmbeddedChannel ch = channel();
        feed(ch, THREE);
        assertThreeRequests(ch);
    }

    @Test
    void pipelinedRequestsAreDecodedInOrderWhenFedOneByteAtATime() {
        EmbeddedChannel ch = channel();
        feedBytewise(ch, THREE);
        assertThreeRequests(ch);
    }

    private void assertThreeRequests(EmbeddedChannel ch) {
        List<InboundRequest> r = requests();
        assertThat(received).hasSize(3);
        assertThat(r).extracting(x -> x.method).containsExactly("POST", "POST", "GET");
        assertThat(r).extracting(x -> x.uri).containsExactly("/a", "/b", "/c?q=1");
        assertThat(r).extracting(x -> x.protocol).containsOnly(InboundRequest.HTTP_1_1);
        assertThat(r).extracting(Http1RequestDecoderTest::body).containsExactly("abc", "hi", "");
        assertThat(r).allSatisfy(x -> assertThat(x.keepAlive).isTrue());
        assertThat(r.get(0).headers.get("transfer-encoding")).isEqualTo("chunked");
        assertThat(r.get(0).headers.contains("x-t")).as("trailers are dropped").isFalse();
        assertThat(r.get(0).headerBytes).isEqualTo("POST /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n".length());
        assertThat(r.get(1).headerBytes).isEqualTo("POST /b HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n".length());
        assertThat(r.get(2).body).isSameAs(Unpooled.EMPTY_BUFFER);
        assertThat(drainOutbound(ch)).isEmpty();
        assertThat(ch.isOpen()).isTrue();
        assertThat(log).isEmpty();
    }

    @Test
    void obsFoldSplitAcrossReadsIsRefused() {
        EmbeddedChannel ch = channel();
        feedBytewise(ch, "GET / HTTP/1.1\r\nHost: x\r\nX-A: 1\r\n\tcontinued\r\n\r\n");
        assertThat(received).singleElement().isInstanceOf(Http1Rejection.class);
        assertThat(rejection()).isEqualTo(new Http1Rejection(400, "Bad Request", "obs-fold header continuation", "DPE"));
        assertThat(drainOutbound(ch)).isEqualTo("HTTP/1.1 400 Bad Request\r\ncontent-type: text/plain\r\n"
                + "content-length: 11\r\nconnection: close\r\n\r\nBad Request");
        assertThat(ch.isOpen()).isFalse();
        assertThat(log).singleElement().asString().contains("\"status\":400").contains("obs-fold")
                .contains("\"response_flags\":\"DPE\"");
    }

    @Test
    void aSmuggledSecondRequestBehindAValidOneIsRefusedAfterTheFirstIsEmitted() {
        EmbeddedChannel ch = channel();
        feed(ch, "GET /ok HTTP/1.1\r\nHost: x\r\n\r\n"
                + "POST /evil HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"
                + "GET /after HTTP/1.1\r\nHost: x\r\n\r\n");
        assertThat(received).hasSize(2);
        assertThat(((InboundRequest) received.get(0)).uri).isEqualTo("/ok");
        assertThat(rejection().status()).isEqualTo(400);
        assertThat(rejection().detail()).isEqualTo("both Content-Length and Transfer-Encoding");
        assertThat(drainOutbound(ch)).startsWith("HTTP/1.1 400 ");
        assertThat(ch.isOpen()).isFalse();
    }

    @Test
    void tooManyOrTooLargeHeadersGet431() {
        Http1Rejection tooMany = refused("GET / HTTP/1.1\r\nA: 1\r\nB: 1\r\nC: 1\r\nD: 1\r\nE: 1\r\nF: 1\r\n\r\n", 431);
        assertThat(tooMany.detail()).isEqualTo("more than 5 header fields");
        assertThat(tooMany.reason()).isEqualTo("Request Header Fields Too Large");

        // An incomplete head already over the limit, and a complete one over it by one byte.
        refused("GET / HTTP/1.1\r\nA: " + "x".repeat(300), 431);
        String head = "GET / HTTP/1.1\r\nA: x\r\n\r\n";
        String filler = "x".repeat(MAX_HEADER_BYTES - head.length() + 1);
        refused("GET / HTTP/1.1\r\nA: x" + filler + "\r\n\r\n", 431);

        // Exactly at the limits is fine.
        received.clear();
        EmbeddedChannel ch = channel();
        feed(ch, "GET / HTTP/1.1\r\nA: x" + filler.substring(1) + "\r\n\r\n"
                + "GET / HTTP/1.1\r\nA: 1\r\nB: 1\r\nC: 1\r\nD: 1\r\nE: 1\r\n\r\n");
        assertThat(requests()).hasSize(2);
        assertThat(requests().get(0).headerBytes).isEqualTo(MAX_HEADER_BYTES);
        assertThat(requests().get(1).headers.size()).isEqualTo(5);
    }

    @Test
    void tooLargeHeadersFedOneByteAtATimeGet431() {
        EmbeddedChannel ch = channel();
        String head = "GET / HTTP/1.1\r\nA: ";
        feedBytewise(ch, head + "x".repeat(MAX_HEADER_BYTES - head.length() - 1));
        assertThat(received).isEmpty();
        feedBytewise(ch, "x");
        assertThat(rejection().status()).isEqualTo(431);
        assertThat(drainOutbound(ch)).startsWith("HTTP/1.1 431 Request Header Fields Too Large\r\n");
        assertThat(ch.isOpen()).isFalse();
    }

    @Test
    void badChunkFramingIsRefused() {
        String head = "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n";
        assertThat(refused(head + "zz\r\n", 400).detail()).isEqualTo("bad chunk size");
        refused(head + " 1\r\na\r\n0\r\n\r\n", 400);
        refused(head + "1 x\r\na\r\n0\r\n\r\n", 400);
        refused(head + "1;a\0b\r\na\r\n0\r\n\r\n", 400);
        refused(head + "1000000000000000\r\n", 400); // 16 hex digits
        assertThat(refused(head + "1;" + "e".repeat(Http1RequestDecoder.MAX_CHUNK_LINE), 400).detail())
                .isEqualTo("chunk line too long");
        assertThat(refused(head + "3\r\nabcX\r\n0\r\n\r\n", 400).detail()).isEqualTo("no CRLF after chunk data");
        refused(head + "3\r\nabc\r\r\n0\r\n\r\n", 400);
        assertThat(refused(head + "0\r\nX: " + "t".repeat(Http1RequestDecoder.MAX_CHUNK_LINE) + "\r\n\r\n", 400)
                .detail()).isEqualTo("trailer line too long");
    }

    @Test
    void framingHeadersAreMatchedCaseInsensitivelyOnTheBytes() {
        EmbeddedChannel ch = channel();
        feedBytewise(ch, "POST /a HTTP/1.1\r\nHost: x\r\ntRaNsFeR-eNcOdInG:  Chunked \r\n\r\n1\r\na\r\n0\r\n\r\n"
                + "POST /b HTTP/1.1\nHost: x\nCONTENT-LENGTH: 2\n\nhi");
        assertThat(requests()).extracting(Http1RequestDecoderTest::body).containsExactly("a", "hi");
        assertThat(requests().get(0).headers.name(1)).isSameAs("transfer-encoding");
        assertThat(requests().get(1).headers.name(1)).isSameAs("content-length");
        assertThat(ch.isOpen()).isTrue();

        for (String bad : new String[] {
                "POST / HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
                "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n",
                "POST / HTTP/1.1\r\nTransfer-Encoding: identity\r\n\r\n",
                "POST / HTTP/1.1\r\ncontent-length: 1\r\nContent-Length: 1\r\n\r\nx",
                "POST / HTTP/1.1\r\nContent-Length: 1x\r\n\r\n",
                "POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n",
                "POST / HTTP/1.1\r\nContent-Length:\r\n\r\n",
                "POST / HTTP/1.1\r\nContent-Length: 1234567890123456789\r\n\r\n",
                "POST / HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n",
                "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
                "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
                "GET / HTTP/1.1\r\nno colon here\r\n\r\n",
                "GET / HTTP/1.1\r\nnocolon\r\n\r\n",
                "GET / HTTP/1.1\r\n: empty name\r\n\r\n",
                "GET / HTTP/1.1\r\nBad Name: x\r\n\r\n",
                "GET / HTTP/1.1\r\nHost : x\r\n\r\n",
                "GET / HTTP/1.1\r\nX(y): x\r\n\r\n"}) {
            refused(bad, 400);
        }
        assertThat(log).allSatisfy(line -> assertThat(line).contains("\"status\":400", "\"response_flags\":\"DPE\""));
    }

    @Test
    void randomPipelinesSplitAtRandomPointsDecodeExactly() {
        Random random = new Random(8);
        String[] names = {"X-Forwarded-For", "user-agent", "X-Custom", "ACCEPT", "x-a", "Cookie", "traceparent", "Z"};
        for (int round = 0; round < 200; round++) {
            received.clear();
            StringBuilder wire = new StringBuilder();
            List<String> expected = new ArrayList<>();
            int count = 1 + random.nextInt(4);
            for (int r = 0; r < count; r++) {
                StringBuilder head = new StringBuilder("PUT /p" + r + "?q=" + random.nextInt(1000) + " HTTP/1.1"
                        + (random.nextBoolean() ? "\r\n" : "\n"));
                StringBuilder fields = new StringBuilder();
                for (int f = random.nextInt(4); f > 0; f--) {
                    String name = names[random.nextInt(names.length)];
                    String value = "v" + "w".repeat(random.nextInt(20));
                    head.append(name).append(':').append(" ".repeat(random.nextInt(3))).append(value)
                            .append("\t".repeat(random.nextInt(2))).append("\r\n");
                    fields.append(name.toLowerCase(java.util.Locale.ROOT)).append('=').append(value).append(';');
                }
                String content = "b".repeat(random.nextInt(40));
                if (random.nextBoolean()) {
                    head.append("Content-Length: ").append(content.length()).append("\r\n\r\n").append(content);
                    fields.append("content-length=").append(content.length()).append(';');
                } else {
                    head.append("Transfer-Encoding: chunked\r\n\r\n");
                    fields.append("transfer-encoding=chunked;");
                    for (int at = 0; at < content.length(); ) {
                        int n = Math.min(content.length() - at, 1 + random.nextInt(15));
                        head.append(Integer.toHexString(n)).append(random.nextBoolean() ? ";x=y" : "").append("\r\n")
                                .append(content, at, at + n).append("\r\n");
                        at += n;
                    }
                    head.append("0\r\n").append(random.nextBoolean() ? "T: 1\r\n" : "").append("\r\n");
                }
                wire.append(head);
                expected.add("/p" + r + " " + fields + " " + content);
            }
            EmbeddedChannel ch = channel();
            String all = wire.toString();
            for (int at = 0; at < all.length(); ) {
                int n = Math.min(all.length() - at, 1 + random.nextInt(30));
                feed(ch, all.substring(at, at + n));
                at += n;
            }
            assertThat(requests()).as(all).extracting(r -> {
                StringBuilder b = new StringBuilder();
                for (int i = 0; i < r.headers.size(); i++) {
                    b.append(r.headers.name(i)).append('=').append(r.headers.value(i)).append(';');
                }
                return r.uri.substring(0, r.uri.indexOf('?')) + " " + b + " " + body(r);
            }).containsExactlyElementsOf(expected);
            assertThat(received).hasSize(count);
            assertThat(drainOutbound(ch)).isEmpty();
            for (Object o : received) {
                ((InboundRequest) o).release();
            }
        }
    }

    // --- request line ---

    @Test
    void requestLineShapes() {
        EmbeddedChannel ch = channel();
        feed(ch, "\r\n\r\n\nOPTIONS * HTTP/1.1\r\n\r\n"
                + "PROPFIND /dav HTTP/1.1\r\n\r\n"
                + "GET http://example.com/x?y=%20 HTTP/1.1\r\n\r\n"
                + "\r\nCONNECT example.com:443 HTTP/1.1\r\n\r\n");
        assertThat(requests()).extracting(r -> r.method + " " + r.uri).containsExactly("OPTIONS *", "PROPFIND /dav",
                "GET http://example.com/x?y=%20", "CONNECT example.com:443");
        assertThat(requests().get(0).method).isSameAs("OPTIONS");
        assertThat(requests().get(0).headerBytes).as("leading empty lines do not count")
                .isEqualTo("OPTIONS * HTTP/1.1\r\n\r\n".length());
        assertThat(requests().get(0).headers.size()).isZero();

        for (String bad : new String[] {
                "GET /\r\n\r\n",
                "GET\r\n\r\n",
                "GET  / HTTP/1.1\r\n\r\n",
                "GET / HTTP/1.1 \r\n\r\n",
                " GET / HTTP/1.1\r\n\r\n",
                "G(T / HTTP/1.1\r\n\r\n",
                "GET\t/ HTTP/1.1\r\n\r\n",
                "GET /a\u0001b HTTP/1.1\r\n\r\n",
                "GET /a\u007fb HTTP/1.1\r\n\r\n",
                "GET /a\rb HTTP/1.1\r\n\r\n",
                "GET / http/1.1\r\n\r\n",
                "GET / HTTP/1.1\r\r\n\r\n",
                "GET / HTTP/11\r\n\r\n",
                "GET / HTTP/1.10\r\n\r\n"}) {
            refused(bad, 400);
        }
        for (String version : new String[] {"HTTP/2.0", "HTTP/1.2", "HTTP/0.9", "HTTP/3.0"}) {
            Http1Rejection r = refused("GET / " + version + "\r\n\r\n", 505);
            assertThat(r.reason()).isEqualTo("HTTP Version Not Supported");
        }
    }

    @Test
    void endlessEmptyLinesBeforeARequestAreRefused() {
        EmbeddedChannel ch = channel();
        feed(ch, "\r\n".repeat(MAX_HEADER_BYTES / 2));
        assertThat(received).isEmpty();
        feed(ch, "\r\n");
        assertThat(rejection().status()).isEqualTo(400);
        assertThat(ch.isOpen()).isFalse();
    }

    // --- header fields ---

    @Test
    void namesAreLowerCasedCommonOnesToConstantsAndValuesTrimmed() {
        EmbeddedChannel ch = channel();
        feed(ch, "GET / HTTP/1.1\r\nHOST: example.com\r\nUser-Agent:\tcurl/8 \t\r\nX-Custom-Thing:  a  b  \r\n"
                + "X-Empty:\r\nx-custom-thing: second\r\n\r\n");
        InboundRequest r = onlyRequest();
        assertThat(r.headers.size()).isEqualTo(5);
        assertThat(r.headers.name(0)).isSameAs("host");
        assertThat(r.headers.name(1)).isSameAs("user-agent");
        assertThat(r.headers.name(2)).isEqualTo("x-custom-thing");
        assertThat(r.headers.value(0)).isEqualTo("example.com");
        assertThat(r.headers.value(1)).isEqualTo("curl/8");
        assertThat(r.headers.value(2)).as("inner whitespace kept").isEqualTo("a  b");
        assertThat(r.headers.value(3)).isEmpty();
        assertThat(r.headers.getAll("x-custom-thing")).containsExactly("a  b", "second");
    }

    @Test
    void everyCommonNameMapsToItsConstantWhateverItsCase() {
        String[] common = {"host", "user-agent", "accept", "accept-encoding", "accept-language", "content-length",
            "content-type", "connection", "cookie", "authorization", "x-request-id", "traceparent",
            "x-forwarded-for", "x-forwarded-proto", "cache-control", "origin", "referer", "te", "upgrade",
            "transfer-encoding", "x-forwarded-client-cert", "expect", "tracestate", "proxy-connection"};
        for (String name : common) {
            received.clear();
            String upper = name.toUpperCase(java.util.Locale.ROOT);
            String value = switch (name) {
                case "content-length" -> "0";
                case "transfer-encoding" -> "chunked";
                case "expect" -> "100-continue";
                default -> "v";
            };
            EmbeddedChannel ch = channel();
            feed(ch, "POST / HTTP/1.1\r\n" + upper + ": " + value + "\r\n\r\n"
                    + (name.equals("transfer-encoding") ? "0\r\n\r\n" : ""));
            InboundRequest r = onlyRequest();
            assertThat(r.headers.name(0)).as(name).isSameAs(name);
        }
        // Rare names and near misses of common ones are new lower-case strings.
        received.clear();
        EmbeddedChannel ch = channel();
        feed(ch, "GET / HTTP/1.1\r\nHosts: a\r\nX-Rare_Name!#$%&'*+.^`|~: b\r\nAccept-: c\r\n\r\n");
        InboundRequest r = onlyRequest();
        assertThat(r.headers.name(0)).isEqualTo("hosts");
        assertThat(r.headers.name(1)).isEqualTo("x-rare_name!#$%&'*+.^`|~");
        assertThat(r.headers.name(2)).isEqualTo("accept-");
    }

    @Test
    void controlCharactersInValuesAreRefused() {
        assertThat(refused("GET / HTTP/1.1\r\nX-A: a\0b\r\n\r\n", 400).detail())
                .isEqualTo("control character in header value");
        refused("GET / HTTP/1.1\r\nX-A: a\rb\r\n\r\n", 400);
        refused("GET / HTTP/1.1\r\nX-A: ab\r\r\n\r\n", 400);
        refused("GET / HTTP/1.1\r\nX-A: a\u007fb\r\n\r\n", 400);
        refused("GET / HTTP/1.1\r\nX-A: a\u001bb\r\n\r\n", 400);
        refused("GET / HTTP/1.1\r\nX\0A: ab\r\n\r\n", 400);

        received.clear();
        EmbeddedChannel ch = channel();
        feed(ch, "GET / HTTP/1.1\r\nX-A: a\tb\u00e9\r\n\r\n");
        assertThat(onlyRequest().headers.get("x-a")).as("HTAB and obs-text are allowed").isEqualTo("a\tb\u00e9");
    }

    @Test
    void controlCharactersAreFoundAtEveryPositionOfLongValuesAndTargets() {
        // Values and targets are checked eight bytes at a time: put the bad byte in every lane, behind a tab,
        // next to obs-text bytes (0x80 and up) that must never count as control characters.
        String clean = "ab\u00ffc\u0080de\u00e9fghijklmnopq\u00a0rstu";
        for (char bad : new char[] {'\0', '\r', '\u001f', '\u007f', '\n'}) {
            for (int at = 1; at < clean.length() - 1; at++) {
                String value = clean.substring(0, at) + bad + clean.substring(at);
                if (bad != '\n') {
                    refused("GET / HTTP/1.1\r\nX-A: " + value + "\r\n\r\n", 400);
                    refused("GET / HTTP/1.1\r\nX-A: a\t" + value + "\r\n\r\n", 400);
                }
                refused("GET /" + value.replace(' ', 'x') + " HTTP/1.1\r\n\r\n", 400);
            }
        }
        received.clear();
        EmbeddedChannel ch = channel();
        feed(ch, "GET /" + clean + " HTTP/1.1\r\nX-A: " + clean + "\t" + clean + "\t\r\n\r\n");
        InboundRequest r = onlyRequest();
        assertThat(r.uri).isEqualTo("/" + clean);
        assertThat(r.headers.get("x-a")).isEqualTo(clean + "\t" + clean);
    }

    @Test
    void rejectionsNeverLogHeaderValues() {
        refused("GET / HTTP/1.1\r\nAuthorization: Bearer secret-token\r\nX-A: a\0b\r\n\r\n", 400);
        assertThat(log).singleElement().asString().doesNotContain("secret-token");
    }

    // --- keep-alive ---

    @Test
    void keepAliveFollowsTheVersionAndTheConnectionTokens() {
        EmbeddedChannel ch = channel();
        feed(ch, "GET /1 HTTP/1.1\r\n\r\n"
                + "GET /2 HTTP/1.1\r\nConnection: Upgrade, Keep-Alive\r\n\r\n"
                + "GET /3 HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"
                + "GET /4 HTTP/1.0\r\nconnection: foo,keep-alive\r\n\r\n");
        assertThat(requests()).extracting(r -> r.keepAlive).containsExactly(true, true, true, true);
        assertThat(requests()).extracting(r -> r.protocol).containsExactly(InboundRequest.HTTP_1_1,
                InboundRequest.HTTP_1_1, InboundRequest.HTTP_1_0, InboundRequest.HTTP_1_0);
        assertThat(requests().get(2).protocol).isSameAs(InboundRequest.HTTP_1_0);

        for (String last : new String[] {
                "GET /x HTTP/1.1\r\nConnection: close\r\n\r\n",
                "GET /x HTTP/1.1\r\nConnection: keep-alive\r\nConnection: CLOSE\r\n\r\n",
                "GET /x HTTP/1.1\r\nConnection: te ,\tclose\r\n\r\n",
                "GET /x HTTP/1.0\r\n\r\n",
                "GET /x HTTP/1.0\r\nConnection: keep-alive, close\r\n\r\n"}) {
            received.clear();
            EmbeddedChannel c = channel();
            // What follows a request that ends the connection is never decoded, not even a bad request.
            feed(c, last + "GET /after HTTP/1.1\r\n\r\n" + "BAD\0\r\n\r\n");
            assertThat(onlyRequest().keepAlive).as(last).isFalse();
            assertThat(drainOutbound(c)).isEmpty();
        }
        received.clear();
        EmbeddedChannel c = channel();
        feed(c, "GET /x HTTP/1.1\r\nConnection: closed\r\n\r\n");
        assertThat(onlyRequest().keepAlive).as("a token is matched whole").isTrue();
    }

    // --- bodies ---

    @Test
    void bodiesArrivingInPiecesAreAggregated() {
        EmbeddedChannel ch = channel();
        feed(ch, "PUT /f HTTP/1.1\r\nContent-Length: 10\r\n\r\n012");
        assertThat(received).isEmpty();
        feed(ch, "3456");
        feed(ch, "789POST /c HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab");
        assertThat(received).hasSize(1);
        feed(ch, "cde\r\n");
        feed(ch, "A;name=\"quoted;value\"\r\n0123456789\r\n0\r\nChecksum: 1\r\nMore: 2\r\n\r\n");
        assertThat(requests()).extracting(Http1RequestDecoderTest::body).containsExactly("0123456789",
                "abcde0123456789");
        assertThat(requests().get(0).headers.get("content-length")).isEqualTo("10");
        assertThat(drainOutbound(ch)).isEmpty();
    }

    @Test
    void anEmptyChunkedBodyIsTheEmptyBuffer() {
        EmbeddedChannel ch = channel();
        feed(ch, "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n000\r\n\r\n");
        assertThat(onlyRequest().body).isSameAs(Unpooled.EMPTY_BUFFER);
    }

    @Test
    void aBodyCutOffByTheConnectionClosingIsReleased() {
        EmbeddedChannel ch = channel();
        feed(ch, "PUT /f HTTP/1.1\r\nContent-Length: 10\r\n\r\n012");
        EmbeddedChannel chunked = channel();
        feed(chunked, "PUT /f HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nabcde\r\n5\r\nab");
        ch.close();
        chunked.close();
        assertThat(received).isEmpty();
        // releaseEverything() checks the partial bodies were released.
    }

    @Test
    void aBodyOverTheLimitByContentLengthGets413UpFront() {
        EmbeddedChannel ch = channel();
        feed(ch, "POST /ok HTTP/1.1\r\nContent-Length: 1024\r\n\r\n" + "x".repeat(1024)
                + "POST /big HTTP/1.1\r\nContent-Length: 1025\r\n\r\n");
        assertThat(received).hasSize(2);
        assertThat(body(requests().get(0))).hasSize(1024);
        assertThat(rejection()).isEqualTo(new Http1Rejection(413, "Payload Too Large", "request body over 1024 bytes", "-"));
        assertThat(drainOutbound(ch)).startsWith("HTTP/1.1 413 Payload Too Large\r\n").endsWith("\r\n\r\nPayload Too Large");
        assertThat(ch.isOpen()).isFalse();
        assertThat(log).singleElement().asString().contains("\"status\":413", "\"response_flags\":\"-\"");
    }

    @Test
    void aBodyOverTheLimitWhileDechunkingGets413() {
        EmbeddedChannel ch = channel();
        feed(ch, "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n200\r\n" + "x".repeat(512) + "\r\n");
        feed(ch, "200\r\n" + "y".repeat(512) + "\r\n");
        assertThat(received).isEmpty();
        feed(ch, "1\r\nz\r\n0\r\n\r\n");
        assertThat(rejection().status()).isEqualTo(413);
        assertThat(drainOutbound(ch)).startsWith("HTTP/1.1 413 ");
        assertThat(ch.isOpen()).isFalse();
    }

    // --- Expect ---

    @Test
    void expect100ContinueIsAnsweredOnceWhenTheBodyHasNotArrived() {
        EmbeddedChannel ch = channel();
        feed(ch, "PUT /f HTTP/1.1\r\nExpect: 100-Continue\r\nContent-Length: 5\r\n\r\n");
        assertThat(drainOutbound(ch)).isEqualTo("HTTP/1.1 100 Continue\r\n\r\n");
        feed(ch, "ab");
        feed(ch, "cde");
        assertThat(body(onlyRequest())).isEqualTo("abcde");
        assertThat(drainOutbound(ch)).isEmpty();

        feed(ch, "POST /c HTTP/1.1\r\nExpect: 100-continue\r\nTransfer-Encoding: chunked\r\n\r\n");
        assertThat(drainOutbound(ch)).isEqualTo("HTTP/1.1 100 Continue\r\n\r\n");
        feed(ch, "1\r\na\r\n0\r\n\r\n");
        assertThat(requests()).hasSize(2);
        assertThat(drainOutbound(ch)).isEmpty();
    }

    @Test
    void expect100ContinueIsNotAnsweredWhenTheBodyIsAlreadyHereOrThereIsNoneOrForHttp10() {
        EmbeddedChannel ch = channel();
        feed(ch, "PUT /a HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\nhi");
        feed(ch, "PUT /b HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\nhi");
        feed(ch, "ho");
        feed(ch, "GET /c HTTP/1.1\r\nExpect: 100-continue\r\n\r\n");
        feed(ch, "PUT /d HTTP/1.0\r\nConnection: keep-alive\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n");
        feed(ch, "hi");
        assertThat(requests()).extracting(Http1RequestDecoderTest::body).containsExactly("hi", "hiho", "", "hi");
        assertThat(drainOutbound(ch)).isEmpty();
    }

    @Test
    void expect100ContinueOverTheBodyLimitGets413Instead() {
        EmbeddedChannel ch = channel();
        feed(ch, "PUT /f HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 5000\r\n\r\n");
        assertThat(rejection().status()).isEqualTo(413);
        assertThat(drainOutbound(ch)).startsWith("HTTP/1.1 413 ").doesNotContain("100 Continue");
    }

    @Test
    void anotherExpectationGets417() {
        Http1Rejection r = refused("PUT /f HTTP/1.1\r\nExpect: 200-ok\r\nContent-Length: 1\r\n\r\nx", 417);
        assertThat(r.reason()).isEqualTo("Expectation Failed");
        assertThat(r.flags()).isEqualTo("-");
        refused("PUT /f HTTP/1.1\r\nExpect: 100-continue, foo\r\nContent-Length: 1\r\n\r\nx", 417);
        // HTTP/1.0 has no Expect: ignored.
        received.clear();
        EmbeddedChannel ch = channel();
        feed(ch, "PUT /f HTTP/1.0\r\nExpect: 200-ok\r\nContent-Length: 1\r\n\r\nx");
        assertThat(body(onlyRequest())).isEqualTo("x");
    }

    // --- header-read timeout ---

    void advance(EmbeddedChannel ch, Duration d) {
        nanos.addAndGet(d.toNanos());
        ch.advanceTimeBy(d.toNanos(), TimeUnit.NANOSECONDS);
        ch.runScheduledPendingTasks();
    }

    @Test
    void aHeadNotCompleteInTimeGets408AfterTheRequestsBeforeIt() {
        EmbeddedChannel ch = channel();
        feed(ch, "GET /first HTTP/1.1\r\n\r\nGET /slow HTTP/1.1\r\nHost: x\r\n");
        advance(ch, HEADER_TIMEOUT.minusSeconds(1));
        assertThat(received).hasSize(1);
        assertThat(ch.isOpen()).isTrue();
        advance(ch, Duration.ofSeconds(1));
        assertThat(received).hasSize(2);
        assertThat(rejection()).isEqualTo(new Http1Rejection(408, "Request Timeout", "headers not complete within 60000 ms",
                "DPE"));
        assertThat(drainOutbound(ch)).startsWith("HTTP/1.1 408 Request Timeout\r\n");
        assertThat(ch.isOpen()).isFalse();
        assertThat(log).singleElement().asString().contains("\"status\":408");
    }

    @Test
    void theTimerRunsFromEachRequestsFirstByteOnAKeepAliveConnection() {
        EmbeddedChannel ch = channel();
        feed(ch, "\r\n");
        advance(ch, HEADER_TIMEOUT.multipliedBy(2));
        assertThat(ch.isOpen()).as("empty lines do not start a request").isTrue();

        feed(ch, "GET /1 HTTP/1.1\r\n\r\n");
        advance(ch, HEADER_TIMEOUT.minusSeconds(10));
        feed(ch, "GET /2 HTTP/1.1\r\n"); // starts 50 s after the timer was armed for /1
        advance(ch, Duration.ofSeconds(10));
        assertThat(ch.isOpen()).as("/2 has had 10 s only").isTrue();
        advance(ch, HEADER_TIMEOUT.minusSeconds(11));
        assertThat(ch.isOpen()).isTrue();
        feed(ch, "\r\n");
        advance(ch, HEADER_TIMEOUT.multipliedBy(3));
        assertThat(ch.isOpen()).as("a head complete in time cancels nothing it should not").isTrue();
        assertThat(requests()).extracting(r -> r.uri).containsExactly("/1", "/2");

        feed(ch, "GET /3 HTTP/1.1\r\nHost: x\r\n");
        advance(ch, HEADER_TIMEOUT.minusNanos(1));
        assertThat(ch.isOpen()).isTrue();
        advance(ch, Duration.ofNanos(1));
        assertThat(rejection().status()).isEqualTo(408);
        assertThat(ch.isOpen()).isFalse();
    }

    @Test
    void aSlowBodyIsNotAHeaderTimeout() {
        EmbeddedChannel ch = channel();
        feed(ch, "PUT /f HTTP/1.1\r\nContent-Length: 2\r\n\r\n");
        advance(ch, HEADER_TIMEOUT.multipliedBy(2));
        feed(ch, "ok");
        assertThat(body(onlyRequest())).isEqualTo("ok");
        assertThat(ch.isOpen()).isTrue();
    }

    @Test
    void noTimerOutlivesARejection() {
        EmbeddedChannel ch = channel();
        feed(ch, "GET / HTTP/1.1\r\nBad Name: x\r\n\r\n");
        assertThat(rejection().status()).isEqualTo(400);
        // The channel is closed by now; the decoder would drop anything anyway and no timer is left.
        assertThat(ch.isOpen()).isFalse();
        advance(ch, HEADER_TIMEOUT.multipliedBy(2));
        assertThat(received).hasSize(1);
        assertThat(log).hasSize(1);
    }
}
