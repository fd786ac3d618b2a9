package dev.keel.proxy.inbound;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

import dev.keel.authz.Protocol;
import dev.keel.jwt.JwksCache;
import dev.keel.proxy.ProxyConfig;
import dev.keel.proxy.ProxyMetrics;
import dev.keel.proxy.http.HeaderList;
import dev.keel.proxy.pipeline.PipelineHolder;
import dev.keel.proxy.pipeline.PipelineSettings;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.http2.DefaultHttp2FrameReader;
import io.netty.handler.codec.http2.DefaultHttp2FrameWriter;
import io.netty.handler.codec.http2.DefaultHttp2Headers;
import io.netty.handler.codec.http2.Http2CodecUtil;
import io.netty.handler.codec.http2.Http2Error;
import io.netty.handler.codec.http2.Http2Exception;
import io.netty.handler.codec.http2.Http2FrameAdapter;
import io.netty.handler.codec.http2.Http2FrameCodecBuilder;
import io.netty.handler.codec.http2.Http2Headers;
import io.netty.handler.codec.http2.Http2Settings;
import io.netty.handler.flush.FlushConsolidationHandler;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The connection-level HTTP/2 handler in memory: a server pipeline as the inbound listener builds it
 * (flush consolidation, frame codec, the handler) and a raw client that writes frames with Netty's frame
 * writer, honours flow-control windows and reads the answers with Netty's frame reader. Every buffer the
 * server is fed holds whole frames, so DATA payloads are slices of it and its reference count tells
 * whether the handler released them.
 */
class Http2RequestHandlerTest {

    static final int MAX_HEADERS = 20;
    static final int MAX_BODY = 256 * 1024;
    static final int DEFAULT_WINDOW = 65_535;

    final List<String> accessLog = new ArrayList<>();
    final FakeStages stages = new FakeStages();
    /** Every buffer given to the server, to check at the end that nothing kept a reference. */
    final List<ByteBuf> fed = new ArrayList<>();
    /** Every response body given to a writer. */
    final List<ByteBuf> answered = new ArrayList<>();

    EmbeddedChannel server;
    Client client;

    @BeforeEach
    void connect() throws Exception {
        ProxyConfig config = ProxyConfig.of(new ProxyConfig.Workload("default", "web", Map.of(), "cluster.local"),
                        new ProxyConfig.App("127.0.0.1", 8080))
                .withLimits(new ProxyConfig.Limits(8192, MAX_HEADERS, MAX_BODY, Duration.ofMinutes(5),
                        Duration.ofSeconds(10), 100));
        InboundServices services = new InboundServices(config,
                PipelineHolder.withoutPolicies(PipelineSettings.from(config), JwksCache.create()), r -> null,
                new ProxyMetrics(), null, new AccessLog(accessLog::add), Clock.systemUTC());
        ConnectionInfo info = new ConnectionInfo(new ListenerSpec("127.0.0.1", 0, 8080, Protocol.HTTP,
                new InetSocketAddress("127.0.0.1", 8080)), "127.0.0.1", 1234, "127.0.0.1");
        server = new EmbeddedChannel(
                new FlushConsolidationHandler(FlushConsolidationHandler.DEFAULT_EXPLICIT_FLUSH_AFTER_FLUSHES, true),
                Http2FrameCodecBuilder.forServer()
                        .initialSettings(Http2Settings.defaultSettings().maxConcurrentStreams(100).maxHeaderListSize(8192))
                        .validateHeaders(true)
                        .build(),
                new Http2RequestHandler(services, info, stages));
        client = new Client();
        client.start();
    }

    @AfterEach
    void allBuffersReleased() throws Exception {
        client.pump();
        server.finishAndReleaseAll();
        client.close();
        assertThat(fed).allSatisfy(b -> assertThat(b.refCnt()).as("a buffer fed to the server").isZero());
        assertThat(answered).allSatisfy(b -> assertThat(b.refCnt()).as("a response body").isZero());
    }

    // ---- requests ------------------------------------------------------------------------------

    @Test
    void aGetWithoutBodyReachesTheStagesAndItsAnswerComesBackOnItsStream() throws Exception {
        Http2Headers h = request("GET", "/hello?x=1")
                .add("user-agent", "test")
                .add("cookie", "a=1")
                .add("accept", "*/*")
                .add("cookie", "b=2");
        client.headers(1, h, true);

        Received r = stages.only();
        assertThat(r.method).isEqualTo("GET");
        assertThat(r.uri).isEqualTo("/hello?x=1");
        assertThat(r.protocol).isEqualTo(InboundRequest.HTTP_2);
        assertThat(r.keepAlive).isTrue();
        assertThat(r.body).isEmpty();
        assertThat(names(r.headers)).containsExactly("user-agent", "accept", "host", "cookie");
        assertThat(r.headers.get("host")).isEqualTo("example.com");
        assertThat(r.headers.get("cookie")).isEqualTo("a=1; b=2");
        assertThat(r.headerBytes).isEqualTo("GET".length() + "/hello?x=1".length() + 12 + r.headers.wireLength());

        HeaderList fields = new HeaderList();
        fields.add("x-app", "1");
        fields.add("connection", "close");
        fields.add("transfer-encoding", "chunked");
        fields.add("te", "gzip");
        fields.add("content-length", "999");
        int size = r.answer(200, fields, "hi");
        client.pump();

        Response response = client.response(1);
        assertThat(response.status()).isEqualTo("200");
        assertThat(response.headers.get("x-app")).hasToString("1");
        assertThat(response.headers.get("content-length")).hasToString("2");
        assertThat(response.headers.contains("connection")).isFalse();
        assertThat(response.headers.contains("transfer-encoding")).isFalse();
        assertThat(response.headers.contains("te")).isFalse();
        assertThat(response.body()).isEqualTo("hi");
        assertThat(response.ended).isTrue();
        assertThat(size).isEqualTo((":status".length() + 3 + 4) + ("x-app".length() + 1 + 4)
                + ("content-length".length() + 1 + 4));
        assertThat(client.resets).isEmpty();
    }

    @Test
    void anEmptyAnswerIsHeadersThatEndTheStream() throws Exception {
        client.headers(1, request("DELETE", "/item/7"), true);
        stages.only().answer(204, new HeaderList(), "");
        client.pump();
        Response response = client.response(1);
        assertThat(response.status()).isEqualTo("204");
        assertThat(response.headers.get("content-length")).hasToString("0");
        assertThat(response.dataFrames).isZero();
        assertThat(response.ended).isTrue();
    }

    @Test
    void anAnswerToHeadAnnouncesItsLengthWithoutItsBody() throws Exception {
        client.headers(1, request("HEAD", "/page"), true);
        stages.only().answer(200, new HeaderList(), "twelve bytes");
        Response response = client.response(1);
        assertThat(response.headers.get("content-length")).hasToString("12");
        assertThat(response.dataFrames).isZero();
        assertThat(response.ended).isTrue();
    }

    @Test
    void aBodyInSeveralDataFramesIsAggregatedAndTrailersEndItWithoutBeingForwarded() throws Exception {
        client.headers(1, request("POST", "/upload").add("content-type", "text/plain"), false);
        client.data(1, "one,", false);
        client.data(1, "two,", false);
        client.data(1, "three", false);
        assertThat(stages.received).isEmpty();
        client.headers(1, new DefaultHttp2Headers().add("grpc-status", "0"), true);

        Received r = stages.only();
        assertThat(r.method).isEqualTo("POST");
        assertThat(r.body).isEqualTo("one,two,three");
        assertThat(r.headers.contains("grpc-status")).isFalse();
        r.answer(200, new HeaderList(), "stored");
        client.pump();
        assertThat(client.response(1).body()).isEqualTo("stored");
    }

    @Test
    void aBodyEndedByItsLastDataFrameIsAggregated() throws Exception {
        client.headers(1, request("PUT", "/x").add("content-length", "10"), false);
        client.data(1, "01234", false);
        client.data(1, "56789", true);
        assertThat(stages.only().body).isEqualTo("0123456789");
    }

    @Test
    void aLargeDeclaredLengthSentInManySmallFramesArrivesWhole() throws Exception {
        byte[] body = new byte[100_000];
        new Random(3).nextBytes(body);
        client.headers(1, request("POST", "/declared").add("content-length", Integer.toString(body.length)), false);
        for (int offset = 0; offset < body.length; offset += 1000) {
            client.data(1, java.util.Arrays.copyOfRange(body, offset, offset + 1000), offset + 1000 == body.length);
        }
        assertThat(stages.only().bytes).isEqualTo(body);
    }

    @Test
    void aBodyLargerThanTheInitialWindowCompletesBecauseConsumedBytesAreGivenBack() throws Exception {
        byte[] body = new byte[200 * 1024];
        new Random(1).nextBytes(body);
        client.headers(1, request("POST", "/big"), false);
        client.data(1, body, true);

        Received r = stages.only();
        assertThat(r.bytes).isEqualTo(body);
        assertThat(client.windowUpdates.getOrDefault(0, 0)).as("connection window given back").isPositive();
        assertThat(client.windowUpdates.getOrDefault(1, 0)).as("stream window given back").isPositive();
        r.answer(200, new HeaderList(), "ok");
        client.pump();
        assertThat(client.response(1).body()).isEqualTo("ok");
    }

    // ---- refusals ------------------------------------------------------------------------------

    @Test
    void aBodyOverTheLimitIs413AndAResetWhileOtherStreamsCarryOn() throws Exception {
        client.headers(1, request("POST", "/too-big"), false);
        client.data(1, new byte[MAX_BODY / 2], false);
        client.headers(3, request("GET", "/meanwhile"), true);
        stages.only().answer(200, new HeaderList(), "fine");
        client.headers(5, request("POST", "/small"), false);
        client.data(5, "part", false);

        client.data(1, new byte[MAX_BODY / 2 + 1], false);
        Response refused = client.response(1);
        assertThat(refused.status()).isEqualTo("413");
        assertThat(refused.body()).isEqualTo("Payload Too Large");
        assertThat(client.resets).containsEntry(1, Http2Error.NO_ERROR.code());
        assertThat(accessLog).singleElement().asString().contains("\"status\":413").contains("\"protocol\":\"HTTP/2\"");

        client.data(5, "-end", true);
        Received small = stages.only();
        assertThat(small.body).isEqualTo("part-end");
        small.answer(200, new HeaderList(), "done");
        client.pump();
        assertThat(client.response(3).body()).isEqualTo("fine");
        assertThat(client.response(5).body()).isEqualTo("done");
        assertThat(client.resets).containsOnlyKeys(1);
    }

    @Test
    void aDeclaredContentLengthOverTheLimitIsRefusedBeforeAnyData() throws Exception {
        client.headers(1, request("POST", "/declared").add("content-length", Integer.toString(MAX_BODY + 1)), false);
        assertThat(client.response(1).status()).isEqualTo("413");
        assertThat(client.resets).containsEntry(1, Http2Error.NO_ERROR.code());
        assertThat(stages.received).isEmpty();
    }

    @Test
    void trailersOfARefusedStreamArrivingBeforeItsResetAreNotANewRequest() throws Exception {
        Http2Headers tooMany = request("POST", "/many");
        for (int i = 0; i <= MAX_HEADERS; i++) {
            tooMany.add("x-field-" + i, "v");
        }
        client.write(() -> client.writer.writeHeaders(client.wctx, 1, tooMany, 0, false, client.wctx.newPromise()));
        client.headers(1, new DefaultHttp2Headers().add("x-trailer", "t"), true); // same read as the HEADERS
        assertThat(client.response(1).status()).isEqualTo("431");
        assertThat(accessLog).singleElement().asString().contains("\"status\":431");
        assertThat(stages.received).isEmpty();
    }

    @Test
    void moreHeaderFieldsThanTheLimitIs431() throws Exception {
        Http2Headers h = request("GET", "/many");
        for (int i = 0; i <= MAX_HEADERS; i++) {
            h.add("x-field-" + i, "v");
        }
        client.headers(1, h, true);
        assertThat(client.response(1).status()).isEqualTo("431");
        assertThat(stages.received).isEmpty();
        assertThat(accessLog).singleElement().asString().contains("\"status\":431").contains("\"response_flags\":\"DPE\"")
                .contains("more than " + MAX_HEADERS + " header fields");
        assertThat(client.resets).as("the request was whole: the stream ended with the answer").isEmpty();

        client.headers(3, request("GET", "/after"), true);
        assertThat(stages.only().uri).isEqualTo("/after");
    }

    @Test
    void malformedHeadsAre400AndConnectIs405() throws Exception {
        client.headers(1, new DefaultHttp2Headers().method("GET").scheme("https").authority("example.com"), true);
        client.headers(3, new DefaultHttp2Headers().path("/x").scheme("https"), true);
        client.headers(5, new DefaultHttp2Headers().method("GET").path("/x").authority("example.com"), true);
        client.headers(7, request("GET", "/x").add("host", "other.example"), true);
        client.headers(9, new DefaultHttp2Headers().method("CONNECT").authority("example.com:443"), true);
        client.headers(11, request("GET", "/x").add("host", "EXAMPLE.com"), true);

        assertThat(client.response(1).status()).isEqualTo("400");
        assertThat(client.response(3).status()).isEqualTo("400");
        assertThat(client.response(5).status()).isEqualTo("400");
        assertThat(client.response(7).status()).isEqualTo("400");
        assertThat(client.response(9).status()).isEqualTo("405");
        assertThat(accessLog).hasSize(5);
        assertThat(stages.only().headers.getAll("host")).as("a host equal to :authority is kept once").containsExactly(
                "EXAMPLE.com");
    }

    @Test
    void aStreamErrorFoundByTheCodecResetsThatStreamOnly() throws Exception {
        client.headers(1, request("GET", "/bad").add("connection", "keep-alive"), true);
        assertThat(client.resets).containsEntry(1, Http2Error.PROTOCOL_ERROR.code());
        assertThat(stages.received).isEmpty();

        client.headers(3, request("GET", "/good"), true);
        stages.only().answer(200, new HeaderList(), "ok");
        client.pump();
        assertThat(client.response(3).body()).isEqualTo("ok");
        assertThat(server.isActive()).isTrue();
    }

    @Test
    void aStreamErrorOnAnOpenStreamIsResetHereAndItsPartialBodyReleased() throws Exception {
        client.headers(1, request("POST", "/liar").add("content-length", "5"), false);
        ByteBuf partial = client.data(1, "01", false);
        assertThat(partial.refCnt()).isPositive();
        client.data(1, "2345678", false); // beyond the declared length: the codec's stream error
        assertThat(client.resets).containsEntry(1, Http2Error.PROTOCOL_ERROR.code());
        assertThat(partial.refCnt()).isZero();
        assertThat(stages.received).isEmpty();

        client.headers(3, request("GET", "/good"), true);
        stages.only().answer(200, new HeaderList(), "ok");
        assertThat(client.response(3).body()).isEqualTo("ok");
    }

    @Test
    void stagesThatThrowLeaveA500NotAHangingStream() throws Exception {
        stages.failNext = true;
        client.headers(1, request("GET", "/boom"), true);
        assertThat(client.response(1).status()).isEqualTo("500");
        assertThat(accessLog).singleElement().asString().contains("\"status\":500");
        assertThat(server.isActive()).isTrue();
    }

    // ---- resets and lifetimes ------------------------------------------------------------------

    @Test
    void aClientResetBeforeTheAnswerMakesTheWriterInactiveAndTheAnswerIsReleased() throws Exception {
        client.headers(1, request("GET", "/slow"), true);
        Received r = stages.only();
        assertThat(r.out.isActive()).isTrue();
        assertThat(r.out.eventLoop()).isSameAs(server.eventLoop());

        client.reset(1, Http2Error.CANCEL);
        assertThat(r.out.isActive()).isFalse();
        ByteBuf body = Unpooled.copiedBuffer("late", StandardCharsets.US_ASCII);
        assertThat(r.out.respond(200, "OK", new HeaderList(), body, false)).isZero();
        assertThat(body.refCnt()).isZero();
        client.pump();
        assertThat(client.responses).doesNotContainKey(1);
    }

    @Test
    void aClientResetDuringTheBodyReleasesWhatWasReceived() throws Exception {
        client.headers(1, request("POST", "/abandoned"), false);
        ByteBuf partial = client.data(1, "partial", false);
        assertThat(partial.refCnt()).as("the partial body is held").isPositive();
        client.reset(1, Http2Error.CANCEL);
        assertThat(partial.refCnt()).isZero();
        assertThat(stages.received).isEmpty();
    }

    @Test
    void closingTheConnectionReleasesPartialBodiesAndDeactivatesWriters() throws Exception {
        client.headers(1, request("GET", "/pending"), true);
        client.headers(3, request("POST", "/half"), false);
        ByteBuf partial = client.data(3, "half a body", false);
        Received pending = stages.only();

        server.close();
        assertThat(partial.refCnt()).isZero();
        assertThat(pending.out.isActive()).isFalse();
        ByteBuf body = Unpooled.copiedBuffer("late", StandardCharsets.US_ASCII);
        assertThat(pending.out.respond(200, "OK", new HeaderList(), body, false)).isZero();
        assertThat(body.refCnt()).isZero();
    }

    @Test
    void manyConcurrentStreamsAnsweredOutOfOrderEachGetTheirOwnAnswer() throws Exception {
        int n = 50;
        for (int i = 0; i < n; i++) {
            client.headers(1 + 2 * i, request("GET", "/s/" + i), true);
        }
        assertThat(stages.received).hasSize(n);
        List<Received> shuffled = new ArrayList<>(stages.received);
        Collections.shuffle(shuffled, new Random(7));
        for (Received r : shuffled) {
            r.answer(200, new HeaderList(), "answer for " + r.uri);
        }
        client.pump();
        for (int i = 0; i < n; i++) {
            Response response = client.response(1 + 2 * i);
            assertThat(response.status()).isEqualTo("200");
            assertThat(response.body()).isEqualTo("answer for /s/" + i);
        }
        assertThat(client.resets).isEmpty();
    }

    @Test
    void aSecondAnswerForTheSameRequestIsDropped() throws Exception {
        client.headers(1, request("GET", "/twice"), true);
        Received r = stages.only();
        r.answer(200, new HeaderList(), "first");
        assertThat(r.answer(500, new HeaderList(), "second")).isZero();
        client.pump();
        assertThat(client.response(1).body()).isEqualTo("first");
    }

    // ---- helpers -------------------------------------------------------------------------------

    static Http2Headers request(String method, String path) {
        return new DefaultHttp2Headers(false).method(method).path(path).scheme("https").authority("example.com");
    }

    static List<String> names(HeaderList h) {
        List<String> names = new ArrayList<>();
        for (int i = 0; i < h.size(); i++) {
            names.add(h.name(i));
        }
        return names;
    }

    /** What the stages were given, copied (the stages release the body as the contract says). */
    final class Received {
        final String method;
        final String uri;
        final String protocol;
        final HeaderList headers;
        final int headerBytes;
        final boolean keepAlive;
        final byte[] bytes;
        final String body;
        final ResponseWriter out;

        Received(InboundRequest r, ResponseWriter out) {
            this.method = r.method;
            this.uri = r.uri;
            this.protocol = r.protocol;
            this.headers = r.headers;
            this.headerBytes = r.headerBytes;
            this.keepAlive = r.keepAlive;
            this.bytes = ByteBufUtil.getBytes(r.body);
            this.body = new String(bytes, StandardCharsets.ISO_8859_1);
            this.out = out;
        }

        int answer(int status, HeaderList fields, String text) {
            ByteBuf b = Unpooled.copiedBuffer(text, StandardCharsets.US_ASCII);
            answered.add(b);
            return out.respond(status, "reason", fields, b, false);
        }
    }

    final class FakeStages implements RequestStages {
        final List<Received> received = new ArrayList<>();
        boolean failNext;

        @Override
        public void handle(InboundRequest request, ResponseWriter out) {
            Received r = new Received(request, out);
            request.release();
            if (failNext) {
                failNext = false;
                throw new IllegalStateException("a stage failed");
            }
            received.add(r);
        }

        Received only() {
            assertThat(received).hasSize(1);
            return received.remove(0);
        }
    }

    /** One response as the client read it. */
    static final class Response {
        Http2Headers headers;
        final StringBuilder body = new StringBuilder();
        int dataFrames;
        boolean ended;

        String status() {
            return headers.status().toString();
        }

        String body() {
            return body.toString();
        }
    }

    /**
     * A raw HTTP/2 client over an in-memory wire: frames are written with Netty's frame writer into a
     * channel that is only a byte sink, then handed to the server as one buffer per batch.
     */
    final class Client {
        final EmbeddedChannel wire = new EmbeddedChannel(new ChannelInboundHandlerAdapter());
        final ChannelHandlerContext wctx = wire.pipeline().firstContext();
        final DefaultHttp2FrameWriter writer = new DefaultHttp2FrameWriter();
        final DefaultHttp2FrameReader reader = new DefaultHttp2FrameReader(true);
        final ByteBuf in = Unpooled.buffer();
        final Map<Integer, Response> responses = new HashMap<>();
        final Map<Integer, Long> resets = new HashMap<>();
        /** WINDOW_UPDATE increments received per stream id (0: the connection). */
        final Map<Integer, Integer> windowUpdates = new HashMap<>();
        final Map<Integer, Integer> sendWindows = new HashMap<>();
        int connectionWindow = DEFAULT_WINDOW;
        int settingsToAck;

        final Http2FrameAdapter listener = new Http2FrameAdapter() {
            @Override
            public void onHeadersRead(ChannelHandlerContext ctx, int streamId, Http2Headers headers, int padding,
                    boolean endStream) {
                Response r = responses.computeIfAbsent(streamId, id -> new Response());
                r.headers = headers;
                r.ended |= endStream;
            }

            @Override
            public void onHeadersRead(ChannelHandlerContext ctx, int streamId, Http2Headers headers,
                    int streamDependency, short weight, boolean exclusive, int padding, boolean endStream) {
                onHeadersRead(ctx, streamId, headers, padding, endStream);
            }

            @Override
            public int onDataRead(ChannelHandlerContext ctx, int streamId, ByteBuf data, int padding, boolean endOfStream) {
                Response r = responses.get(streamId);
                r.body.append(data.toString(StandardCharsets.ISO_8859_1));
                r.dataFrames++;
                r.ended |= endOfStream;
                return data.readableBytes() + padding;
            }

            @Override
            public void onRstStreamRead(ChannelHandlerContext ctx, int streamId, long errorCode) {
                resets.put(streamId, errorCode);
            }

            @Override
            public void onWindowUpdateRead(ChannelHandlerContext ctx, int streamId, int increment) {
                windowUpdates.merge(streamId, increment, Integer::sum);
                if (streamId == 0) {
                    connectionWindow += increment;
                } else {
                    sendWindows.merge(streamId, increment, Integer::sum);
                }
            }

            @Override
            public void onSettingsRead(ChannelHandlerContext ctx, Http2Settings settings) {
                settingsToAck++;
            }
        };

        void start() throws Http2Exception {
            wire.write(Http2CodecUtil.connectionPrefaceBuf());
            writer.writeSettings(wctx, new Http2Settings(), wctx.newPromise());
            send();
        }

        void headers(int streamId, Http2Headers headers, boolean endStream) throws Http2Exception {
            sendWindows.putIfAbsent(streamId, DEFAULT_WINDOW);
            writer.writeHeaders(wctx, streamId, headers, 0, endStream, wctx.newPromise());
            send();
        }

        ByteBuf data(int streamId, String text, boolean endStream) throws Http2Exception {
            return data(streamId, text.getBytes(StandardCharsets.ISO_8859_1), endStream);
        }

        /** Sends within the flow-control windows, waiting for WINDOW_UPDATE frames; returns the last buffer fed. */
        ByteBuf data(int streamId, byte[] bytes, boolean endStream) throws Http2Exception {
            int offset = 0;
            ByteBuf last = null;
            do {
                int chunk = Math.min(Math.min(16_384, bytes.length - offset),
                        Math.min(connectionWindow, sendWindows.get(streamId)));
                if (chunk == 0 && bytes.length > offset) {
                    pump();
                    if (resets.containsKey(streamId)) {
                        return last;
                    }
                    if (Math.min(connectionWindow, sendWindows.get(streamId)) == 0) {
                        fail("flow control stalled: no WINDOW_UPDATE after " + offset + " bytes");
                    }
                    continue;
                }
                boolean end = endStream && offset + chunk == bytes.length;
                writer.writeData(wctx, streamId, Unpooled.wrappedBuffer(bytes, offset, chunk), 0, end, wctx.newPromise());
                connectionWindow -= chunk;
                sendWindows.merge(streamId, -chunk, Integer::sum);
                offset += chunk;
                last = send();
                if (resets.containsKey(streamId)) {
                    return last;
                }
            } while (offset < bytes.length);
            return last;
        }

        /** Writes frames that go to the server with whatever is written next, in the same read. */
        void write(Runnable frames) {
            frames.run();
        }

        void reset(int streamId, Http2Error error) throws Http2Exception {
            writer.writeRstStream(wctx, streamId, error.code(), wctx.newPromise());
            send();
        }

        /** Hands everything written so far to the server as one buffer of whole frames, then reads the answers. */
        ByteBuf send() throws Http2Exception {
            wire.flush();
            ByteBuf batch = Unpooled.buffer();
            for (Object o; (o = wire.readOutbound()) != null; ) {
                ByteBuf part = (ByteBuf) o;
                batch.writeBytes(part);
                part.release();
            }
            fed.add(batch);
            server.writeInbound(batch);
            pump();
            return batch;
        }

        void pump() throws Http2Exception {
            server.runPendingTasks();
            for (Object o; (o = server.readOutbound()) != null; ) {
                ByteBuf part = (ByteBuf) o;
                in.writeBytes(part);
                part.release();
            }
            reader.readFrame(wctx, in, listener);
            in.discardReadBytes();
            if (settingsToAck > 0) {
                settingsToAck--;
                writer.writeSettingsAck(wctx, wctx.newPromise());
                send();
            }
        }

        Response response(int streamId) throws Http2Exception {
            pump();
            Response r = responses.get(streamId);
            assertThat(r).as("response on stream %d", streamId).isNotNull();
            return r;
        }

        void close() {
            in.release();
            reader.close();
            wire.finishAndReleaseAll();
        }
    }
}
