package dev.keel.proxy.inbound;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

class IdleTimeoutTest {

    @Test
    void closesAfterTheTimeoutWithoutTrafficAndNotBeforeWhileThereIsSome() {
        AtomicLong now = new AtomicLong();
        EmbeddedChannel ch = new EmbeddedChannel(new IdleTimeout(1000, now::get));
        ch.advanceTimeBy(600, TimeUnit.MILLISECONDS);
        now.addAndGet(TimeUnit.MILLISECONDS.toNanos(600));
        ch.writeInbound(Unpooled.wrappedBuffer(new byte[] {1}));
        ((io.netty.buffer.ByteBuf) ch.readInbound()).release();
        ch.advanceTimeBy(600, TimeUnit.MILLISECONDS);
        now.addAndGet(TimeUnit.MILLISECONDS.toNanos(600));
        ch.runScheduledPendingTasks();
        assertThat(ch.isOpen()).as("read 600 ms ago").isTrue();
        ch.writeOutbound(Unpooled.wrappedBuffer(new byte[] {2}));
        ((io.netty.buffer.ByteBuf) ch.readOutbound()).release();
        ch.advanceTimeBy(900, TimeUnit.MILLISECONDS);
        now.addAndGet(TimeUnit.MILLISECONDS.toNanos(900));
        ch.runScheduledPendingTasks();
        assertThat(ch.isOpen()).as("wrote 900 ms ago").isTrue();
        ch.advanceTimeBy(200, TimeUnit.MILLISECONDS);
        now.addAndGet(TimeUnit.MILLISECONDS.toNanos(200));
        ch.runScheduledPendingTasks();
        assertThat(ch.isOpen()).as("idle 1.1 s").isFalse();
    }
}
