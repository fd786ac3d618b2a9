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
import java.io.ByteArrayOutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** The HTTP/2 header-read timeout on raw frames, in memory, with the embedded channel's own clock. */
class Http2HeaderTimeoutTest {

    static final Duration TIMEOUT = Duration.ofSeconds(10);
    static final byte[] PREFACE = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".getBytes(StandardCharsets.US_ASCII);
    static final int HEADERS = 0x1;
    static final int SETTINGS = 0x4;
    static final int CONTINUATION = 0x9;
    static final int END_HEADERS = 0x4;

    final List<String> log = new ArrayList<>();

    EmbeddedChannel channel() {
        ProxyConfig config = ProxyConfig.of(new ProxyConfig.Workload("default", "web", Map.of(), "cluster.local"),
                        new ProxyConfig.App("127.0.0.1", 8080))
                .withLimits(new ProxyConfig.Limits(8192, 100, 1024, Duration.ofMinutes(5), TIMEOUT, 10));
        InboundServices services = new InboundServices(config,
                PipelineHolder.withoutPolicies(PipelineSettings.from(config), JwksCache.create()), r -> null,
                new ProxyMetrics(), null, new AccessLog(log::add), Clock.systemUTC());
        ConnectionInfo info = new ConnectionInfo(new ListenerSpec("127.0.0.1", 0, 8080, Protocol.HTTP,
                new InetSocketAddress("127.0.0.1", 8080)), "127.0.0.1", 1234, "127.0.0.1");
        EmbeddedChannel ch = new EmbeddedChannel(new Http2HeaderTimeout(services, info, true));
        ch.freezeTime(); // only advanceTimeBy moves the clock: deadlines are checked to the millisecond
        return ch;
    }

    static byte[] frame(int type, int flags, int streamId, int payloadLength) {
        byte[] f = new byte[9 + payloadLength];
        f[0] = (byte) (payloadLength >>> 16);
        f[1] = (byte) (payloadLength >>> 8);
        f[2] = (byte) payloadLength;
        f[3] = (byte) type;
        f[4] = (byte) flags;
        f[5] = (byte) (streamId >>> 24);
        f[6] = (byte) (streamId >>> 16);
        f[7] = (byte) (streamId >>> 8);
        f[8] = (byte) streamId;
        for (int i = 9; i < f.length; i++) {
            f[i] = (byte) 0x82; // content is irrelevant here: only the framing is followed
        }
        return f;
    }

    static byte[] concat(byte[]... parts) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (byte[] p : parts) {
            out.writeBytes(p);
        }
        return out.toByteArray();
    }

    static void feed(EmbeddedChannel ch, byte[] bytes, boolean bytewise) {
        if (!bytewise) {
            ch.writeInbound(Unpooled.wrappedBuffer(bytes));
            return;
        }
        for (byte b : bytes) {
            ch.writeInbound(Unpooled.wrappedBuffer(new byte[] {b}));
        }
    }

    static int passedThrough(EmbeddedChannel ch) {
        int n = 0;
        ByteBuf buf;
        while ((buf = ch.readInbound()) != null) {
            n += buf.readableBytes();
            buf.release();
        }
        return n;
    }

    void elapse(EmbeddedChannel ch, Duration d) {
        ch.advanceTimeBy(d.toMillis(), TimeUnit.MILLISECONDS);
        ch.runScheduledPendingTasks();
    }

    @Test
    void aPrefaceAndSettingsWithoutAnyHeadersIsClosedAfterTheTimeout() {
        EmbeddedChannel ch = channel();
        byte[] bytes = concat(PREFACE, frame(SETTINGS, 0, 0, 6));
        feed(ch, bytes, false);
        assertThat(passedThrough(ch)).isEqualTo(bytes.length);
        elapse(ch, TIMEOUT.minusMillis(1));
        assertThat(ch.isOpen()).isTrue();
        elapse(ch, Duration.ofMillis(1));
        assertThat(ch.isOpen()).isFalse();
        assertThat(log).singleElement().asString().contains("\"status\":408").contains("\"protocol\":\"HTTP/2\"")
                .contains("\"response_flags\":\"DPE\"");
        ch.finishAndReleaseAll();
    }

    @Test
    void aConnectionThatSentNothingYetIsLeftToTheIdleTimeout() {
        EmbeddedChannel ch = channel();
        elapse(ch, TIMEOUT.multipliedBy(3));
        assertThat(ch.isOpen()).isTrue();
        ch.finishAndReleaseAll();
    }

    @Test
    void aPrefaceCutShortIsClosed() {
        EmbeddedChannel ch = channel();
        feed(ch, new byte[] {'P', 'R', 'I'}, false);
        elapse(ch, TIMEOUT);
        assertThat(ch.isOpen()).isFalse();
        ch.finishAndReleaseAll();
    }

    @Test
    void aHeadersFrameWithoutEndHeadersAndNoContinuationIsClosed() {
        EmbeddedChannel ch = channel();
        feed(ch, concat(PREFACE, frame(SETTINGS, 0, 0, 0), frame(HEADERS, 0, 1, 20)), false);
        elapse(ch, TIMEOUT);
        assertThat(ch.isOpen()).isFalse();
        ch.finishAndReleaseAll();
    }

    @Test
    void aHeadersFrameWhosePayloadNeverFinishesArrivingIsClosed() {
        EmbeddedChannel ch = channel();
        byte[] headers = frame(HEADERS, END_HEADERS, 1, 40);
        byte[] partial = new byte[20];
        System.arraycopy(headers, 0, partial, 0, partial.length);
        feed(ch, concat(PREFACE, partial), true);
        elapse(ch, TIMEOUT);
        assertThat(ch.isOpen()).isFalse();
        ch.finishAndReleaseAll();
    }

    @Test
    void completeHeadersEvenFedBytewiseCancelTheTimerAndTheIdleConnectionStaysOpen() {
        EmbeddedChannel ch = channel();
        byte[] bytes = concat(PREFACE, frame(SETTINGS, 0, 0, 6), frame(HEADERS, 0, 1, 10),
                frame(CONTINUATION, END_HEADERS, 1, 5));
        feed(ch, bytes, true);
        assertThat(passedThrough(ch)).isEqualTo(bytes.length);
        elapse(ch, TIMEOUT.multipliedBy(3));
        assertThat(ch.isOpen()).isTrue();
        assertThat(log).isEmpty();
        ch.finishAndReleaseAll();
    }

    @Test
    void aLaterRequestWhoseHeaderBlockStallsIsClosedToo() {
        EmbeddedChannel ch = channel();
        feed(ch, concat(PREFACE, frame(HEADERS, END_HEADERS, 1, 10)), false);
        elapse(ch, TIMEOUT.multipliedBy(2));
        assertThat(ch.isOpen()).isTrue();
        feed(ch, frame(HEADERS, 0, 3, 10), false);
        elapse(ch, TIMEOUT.minusMillis(1));
        assertThat(ch.isOpen()).isTrue();
        feed(ch, frame(CONTINUATION, 0, 3, 10), false); // more of the block, still not finished
        elapse(ch, Duration.ofMillis(1));
        assertThat(ch.isOpen()).isFalse();
        ch.finishAndReleaseAll();
    }
}
