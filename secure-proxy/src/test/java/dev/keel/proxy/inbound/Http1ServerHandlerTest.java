package dev.keel.proxy.inbound;

import static org.assertj.core.api.Assertions.assertThat;

import dev.keel.proxy.http.HeaderList;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Response writing and request ordering on an HTTP/1.1 connection, with the filter pipeline faked. */
class Http1ServerHandlerTest {

    /** Holds requests until the test answers them, in any order it likes. */
    static final class HeldStages implements RequestStages {
        final List<InboundRequest> requests = new ArrayList<>();
        final List<ResponseWriter> writers = new ArrayList<>();

        @Override
        public void handle(InboundRequest request, ResponseWriter out) {
            requests.add(request);
            writers.add(out);
        }

        void answer(int i, int status, String body) {
            requests.get(i).release();
            HeaderList h = new HeaderList();
            h.add("x-app", "yes");
            writers.get(i).respond(status, status == 200 ? "OK" : "Other", h,
                    Unpooled.copiedBuffer(body, StandardCharsets.US_ASCII), false);
        }
    }

    static InboundRequest request(String method, String uri, String protocol, boolean keepAlive) {
        return new InboundRequest(method, uri, protocol, new HeaderList(), 20, keepAlive, Unpooled.buffer(0));
    }

    static String outbound(EmbeddedChannel ch) {
        StringBuilder b = new StringBuilder();
        ByteBuf buf;
        while ((buf = ch.readOutbound()) != null) {
            b.append(buf.toString(StandardCharsets.ISO_8859_1));
            buf.release();
        }
        return b.toString();
    }

    @Test
    void pipelinedRequestsAreHandedOverOneAtATimeAndAnsweredInOrder() {
        HeldStages stages = new HeldStages();
        EmbeddedChannel ch = new EmbeddedChannel(new Http1ServerHandler(stages));
        ch.writeInbound(request("GET", "/a", InboundRequest.HTTP_1_1, true), request("GET", "/b", InboundRequest.HTTP_1_1, true));
        assertThat(stages.requests).hasSize(1);
        stages.answer(0, 200, "first");
        ch.runPendingTasks();
        assertThat(stages.requests).hasSize(2);
        assertThat(stages.requests.get(1).uri).isEqualTo("/b");
        stages.answer(1, 404, "second");
        assertThat(outbound(ch)).isEqualTo("HTTP/1.1 200 OK\r\nx-app: yes\r\ncontent-length: 5\r\n\r\nfirst"
                + "HTTP/1.1 404 Other\r\nx-app: yes\r\ncontent-length: 6\r\n\r\nsecond");
        assertThat(ch.isOpen()).isTrue();
        ch.finishAndReleaseAll();
    }

    @Test
    void headResponsesAnnounceTheLengthWithoutABody() {
        HeldStages stages = new HeldStages();
        EmbeddedChannel ch = new EmbeddedChannel(new Http1ServerHandler(stages));
        ch.writeInbound(request("HEAD", "/", InboundRequest.HTTP_1_1, true));
        stages.answer(0, 200, "hello");
        assertThat(outbound(ch)).isEqualTo("HTTP/1.1 200 OK\r\nx-app: yes\r\ncontent-length: 5\r\n\r\n");
        ch.finishAndReleaseAll();
    }

    @Test
    void http10KeepAliveIsConfirmedAndWithoutItTheConnectionCloses() {
        HeldStages stages = new HeldStages();
        EmbeddedChannel ch = new EmbeddedChannel(new Http1ServerHandler(stages));
        ch.writeInbound(request("GET", "/", InboundRequest.HTTP_1_0, true));
        stages.answer(0, 200, "x");
        assertThat(outbound(ch)).contains("connection: keep-alive\r\n");
        assertThat(ch.isOpen()).isTrue();
        ch.writeInbound(request("GET", "/", InboundRequest.HTTP_1_0, false));
        ch.runPendingTasks();
        stages.answer(1, 200, "y");
        assertThat(outbound(ch)).contains("connection: close\r\n").endsWith("\r\n\r\ny");
        assertThat(ch.isOpen()).isFalse();
        ch.finishAndReleaseAll();
    }

    @Test
    void aRejectionIsAnsweredAfterTheRequestsBeforeItAndClosesTheConnection() {
        HeldStages stages = new HeldStages();
        EmbeddedChannel ch = new EmbeddedChannel(new Http1ServerHandler(stages));
        InboundRequest third = request("GET", "/never", InboundRequest.HTTP_1_1, true);
        ch.writeInbound(request("GET", "/ok", InboundRequest.HTTP_1_1, true),
                new Http1Rejection(400, "Bad Request", "both Content-Length and Transfer-Encoding", "DPE"), third);
        assertThat(outbound(ch)).as("nothing overtakes the first response").isEmpty();
        stages.answer(0, 200, "fine");
        ch.runPendingTasks();
        assertThat(outbound(ch)).isEqualTo("HTTP/1.1 200 OK\r\nx-app: yes\r\ncontent-length: 4\r\n\r\nfine"
                + "HTTP/1.1 400 Bad Request\r\ncontent-type: text/plain\r\ncontent-length: 11\r\nconnection: close\r\n\r\n"
                + "Bad Request");
        assertThat(ch.isOpen()).isFalse();
        assertThat(stages.requests).hasSize(1);
        assertThat(third.body.refCnt()).as("the request after the rejection is released").isZero();
        ch.finishAndReleaseAll();
    }

    @Test
    void aLargeBodyIsWrittenBehindItsHeadAndAClosedConnectionTakesNoResponse() {
        HeldStages stages = new HeldStages();
        EmbeddedChannel ch = new EmbeddedChannel(new Http1ServerHandler(stages));
        ch.writeInbound(request("GET", "/", InboundRequest.HTTP_1_1, true));
        String big = "z".repeat(10_000);
        stages.answer(0, 200, big);
        assertThat(outbound(ch)).endsWith("content-length: 10000\r\n\r\n" + big);
        ch.writeInbound(request("GET", "/", InboundRequest.HTTP_1_1, true));
        ch.close();
        ByteBuf late = Unpooled.copiedBuffer("late", StandardCharsets.US_ASCII);
        assertThat(stages.writers.get(1).respond(200, "OK", new HeaderList(), late, false)).isZero();
        assertThat(late.refCnt()).isZero();
        stages.requests.get(1).release();
        ch.finishAndReleaseAll();
    }

    @Test
    void requestsDecodedBehindAClosingResponseAreNotServed() {
        HeldStages stages = new HeldStages();
        List<Object> held = new ArrayList<>();
        // Holds writes unfinished, as a slow socket does: the connection is still open when the next
        // request, decoded from the same read, arrives.
        io.netty.channel.ChannelOutboundHandlerAdapter slowSocket = new io.netty.channel.ChannelOutboundHandlerAdapter() {
            @Override
            public void write(io.netty.channel.ChannelHandlerContext ctx, Object msg, io.netty.channel.ChannelPromise p) {
                held.add(msg);
            }
        };
        EmbeddedChannel ch = new EmbeddedChannel(slowSocket, new Http1ServerHandler(stages));
        ch.writeInbound(request("GET", "/bad", InboundRequest.HTTP_1_1, true));
        stages.requests.get(0).release();
        stages.writers.get(0).respond(400, "Bad Request", new HeaderList(), Unpooled.EMPTY_BUFFER, true);
        InboundRequest behind = request("POST", "/transfer", InboundRequest.HTTP_1_1, true);
        ch.writeInbound(behind);
        ch.runPendingTasks();
        assertThat(stages.requests).as("the POST behind the closing 400 never reaches the pipeline").hasSize(1);
        assertThat(behind.body.refCnt()).isZero();
        assertThat(held).hasSize(1);
        assertThat(((ByteBuf) held.get(0)).toString(StandardCharsets.US_ASCII)).contains("connection: close");
        ((ByteBuf) held.get(0)).release();
        ch.finishAndReleaseAll();
    }
}
