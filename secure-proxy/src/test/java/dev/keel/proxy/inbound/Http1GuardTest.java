package dev.keel.proxy.inbound;

import static org.assertj.core.api.Assertions.assertThat;

import dev.keel.authz.Protocol;
import dev.keel.jwt.JwksCache;
import dev.keel.proxy.ProxyConfig;
import dev.keel.proxy.ProxyMetrics;
import dev.keel.proxy.pipeline.PipelineHolder;
import dev.keel.proxy.pipeline.PipelineSettings;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The raw framing checks in memory, fed one byte at a time where it matters. */
class Http1GuardTest {

    final List<String> log = new ArrayList<>();

    EmbeddedChannel channel() {
        ProxyConfig config = ProxyConfig.of(new ProxyConfig.Workload("default", "web", Map.of(), "cluster.local"),
                        new ProxyConfig.App("127.0.0.1", 8080))
                .withLimits(new ProxyConfig.Limits(256, 5, 1024, Duration.ofMinutes(1), Duration.ofMinutes(1), 10));
        InboundServices services = new InboundServices(config,
                PipelineHolder.withoutPolicies(PipelineSettings.from(config), JwksCache.create()), r -> null,
                new ProxyMetrics(), null, new AccessLog(log::add), Clock.systemUTC());
        ConnectionInfo info = new ConnectionInfo(new ListenerSpec("127.0.0.1", 0, 8080, Protocol.HTTP,
                new InetSocketAddress("127.0.0.1", 8080)), "127.0.0.1", 1234, "127.0.0.1");
        return new EmbeddedChannel(new Http1Guard(services, info));
    }

    static String drainInbound(EmbeddedChannel ch) {
        StringBuilder b = new StringBuilder();
        ByteBuf buf;
        while ((buf = ch.readInbound()) != null) {
            b.append(buf.toString(StandardCharsets.ISO_8859_1));
            buf.release();
        }
        return b.toString();
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

    static void feedBytewise(EmbeddedChannel ch, String s) {
        for (byte b : s.getBytes(StandardCharsets.ISO_8859_1)) {
            ch.writeInbound(Unpooled.wrappedBuffer(new byte[] {b}));
        }
    }

    @Test
    void validRequestsPassUnchangedEvenWhenFragmentedAndPipelined() {
        EmbeddedChannel ch = channel();
        String two = "POST /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3;ext=1\r\nabc\r\n0\r\nX-T: 1\r\n\r\n"
                + "POST /b HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nhi"
                + "GET /c HTTP/1.1\r\nHost: x\r\n\r\n";
        feedBytewise(ch, two);
        assertThat(drainInbound(ch)).isEqualTo(two);
        assertThat(drainOutbound(ch)).isEmpty();
        assertThat(ch.isOpen()).isTrue();
        ch.finishAndReleaseAll();
    }

    @Test
    void obsFoldSplitAcrossReadsIsRefused() {
        EmbeddedChannel ch = channel();
        feedBytewise(ch, "GET / HTTP/1.1\r\nHost: x\r\nX-A: 1\r\n\tcontinued\r\n\r\n");
        assertThat(drainInbound(ch)).isEmpty();
        assertThat(drainOutbound(ch)).startsWith("HTTP/1.1 400 Bad Request\r\n").contains("connection: close");
        assertThat(ch.isOpen()).isFalse();
        assertThat(log).singleElement().asString().contains("\"status\":400").contains("obs-fold");
        ch.finishAndReleaseAll();
    }

    @Test
    void aSmuggledSecondRequestBehindAValidOneIsRefused() {
        EmbeddedChannel ch = channel();
        ch.writeInbound(Unpooled.copiedBuffer("GET /ok HTTP/1.1\r\nHost: x\r\n\r\n"
                + "POST /evil HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
                StandardCharsets.ISO_8859_1));
        assertThat(drainInbound(ch)).isEqualTo("GET /ok HTTP/1.1\r\nHost: x\r\n\r\n");
        assertThat(drainOutbound(ch)).startsWith("HTTP/1.1 400 ");
        assertThat(ch.isOpen()).isFalse();
        ch.finishAndReleaseAll();
    }

    @Test
    void tooManyOrTooLargeHeadersGet431() {
        EmbeddedChannel ch = channel();
        ch.writeInbound(Unpooled.copiedBuffer("GET / HTTP/1.1\r\nA: 1\r\nB: 1\r\nC: 1\r\nD: 1\r\nE: 1\r\nF: 1\r\n\r\n",
                StandardCharsets.ISO_8859_1));
        assertThat(drainOutbound(ch)).startsWith("HTTP/1.1 431 ");
        ch.finishAndReleaseAll();

        EmbeddedChannel ch2 = channel();
        ch2.writeInbound(Unpooled.copiedBuffer("GET / HTTP/1.1\r\nA: " + "x".repeat(300), StandardCharsets.ISO_8859_1));
        assertThat(drainOutbound(ch2)).startsWith("HTTP/1.1 431 ");
        assertThat(ch2.isOpen()).isFalse();
        ch2.finishAndReleaseAll();
    }

    @Test
    void badChunkSizesAreRefused() {
        EmbeddedChannel ch = channel();
        ch.writeInbound(Unpooled.copiedBuffer("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
                StandardCharsets.ISO_8859_1));
        drainInbound(ch);
        assertThat(drainOutbound(ch)).startsWith("HTTP/1.1 400 ");
        ch.finishAndReleaseAll();
    }

    @Test
    void framingHeadersAreMatchedCaseInsensitivelyOnTheBytes() {
        EmbeddedChannel ch = channel();
        String ok = "POST /a HTTP/1.1\r\nHost: x\r\ntRaNsFeR-eNcOdInG:  Chunked \r\n\r\n1\r\na\r\n0\r\n\r\n"
                + "POST /b HTTP/1.1\nHost: x\nCONTENT-LENGTH: 2\n\nhi";
        feedBytewise(ch, ok);
        assertThat(drainInbound(ch)).isEqualTo(ok);
        assertThat(ch.isOpen()).isTrue();
        ch.finishAndReleaseAll();

        for (String bad : new String[] {
                "POST / HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
                "POST / HTTP/1.1\r\ncontent-length: 1\r\nContent-Length: 1\r\n\r\nx",
                "POST / HTTP/1.1\r\nContent-Length: 1x\r\n\r\n",
                "GET / HTTP/1.1\r\nno colon here\r\n\r\n",
                "GET / HTTP/1.1\r\n: empty name\r\n\r\n",
                "GET / HTTP/1.1\r\nBad Name: x\r\n\r\n"}) {
            EmbeddedChannel c = channel();
            c.writeInbound(Unpooled.copiedBuffer(bad, StandardCharsets.ISO_8859_1));
            assertThat(drainInbound(c)).as(bad).isEmpty();
            assertThat(drainOutbound(c)).as(bad).startsWith("HTTP/1.1 400 ");
            c.finishAndReleaseAll();
        }
    }
}
