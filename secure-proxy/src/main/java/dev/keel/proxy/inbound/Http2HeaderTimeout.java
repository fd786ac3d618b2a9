package dev.keel.proxy.inbound;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/**
 * The header-read timeout (slowloris) for HTTP/2, on the raw bytes in front of the HTTP/2 codec,
 * which buffers an unfinished header block (HEADERS without END_HEADERS, then CONTINUATION frames)
 * and so never shows it to anything behind it. The connection is closed when, after
 * {@code headerTimeout}:
 * <ul>
 *   <li>no complete header block has arrived since its first bytes (a preface and SETTINGS but no
 *       request, or a preface cut short), or</li>
 *   <li>a header block (HEADERS, PUSH_PROMISE or CONTINUATION frames, including a frame still
 *       arriving) was started and is not finished.</li>
 * </ul>
 * As for HTTP/1.1, the clock starts with the first byte: a connection that has sent nothing yet, or
 * nothing since its last request, is left to the idle timeout. Bytes pass through untouched: this
 * handler only reads the 9-byte frame headers (RFC 9113 section 4.1) to follow the framing. Malformed
 * framing is left to the codec, which rejects it.
 *
 * <p>One timer per connection, re-armed lazily for the oldest unfinished block (as Netty's
 * IdleStateHandler does), so a busy connection does not schedule and cancel a timer per request.
 * Runs on the event loop.
 */
final class Http2HeaderTimeout extends ChannelInboundHandlerAdapter {

    private static final int PREFACE_LENGTH = 24;
    private static final int FRAME_HEADER_LENGTH = 9;
    private static final int TYPE_HEADERS = 0x1;
    private static final int TYPE_PUSH_PROMISE = 0x5;
    private static final int TYPE_CONTINUATION = 0x9;
    private static final int FLAG_END_HEADERS = 0x4;

    private final InboundServices services;
    private final ConnectionInfo info;
    private final long timeoutMillis;
    private final byte[] frameHeader = new byte[FRAME_HEADER_LENGTH];

    /** Preface bytes still to skip; -1 when the connection does not start with the preface here. */
    private int prefaceRemaining;
    private int frameHeaderFill;
    /** Payload bytes of the current frame still to skip. */
    private long payloadRemaining;
    /** The current frame ends a header block once its payload has passed. */
    private boolean endsHeaderBlock;
    /** A header block is awaited: one is open, or none has completed since the first bytes. */
    private boolean waiting;
    private boolean firstBytesSeen;
    private ScheduledFuture<?> timer;
    /**
     * How long after {@link #timer} fires the awaited block's own deadline is, in nanoseconds: set when
     * a block starts while the timer of an earlier one is still pending. Time is read from the timer
     * ({@link ScheduledFuture#getDelay}), so it is the event loop's clock.
     */
    private long beyondTimer;

    /**
     * @param skipPreface true when the connection preface is still ahead in the byte stream (it is,
     *                    both after ALPN h2 and after h2c detection, which does not consume it)
     */
    Http2HeaderTimeout(InboundServices services, ConnectionInfo info, boolean skipPreface) {
        this.services = services;
        this.info = info;
        this.timeoutMillis = services.config().limits().headerTimeout().toMillis();
        this.prefaceRemaining = skipPreface ? PREFACE_LENGTH : 0;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (msg instanceof ByteBuf buf && buf.isReadable()) {
            if (!firstBytesSeen) {
                firstBytesSeen = true;
                startWaiting(ctx); // until the first request's headers are complete
            }
            scan(ctx, buf);
        }
        ctx.fireChannelRead(msg);
    }

    private void scan(ChannelHandlerContext ctx, ByteBuf buf) {
        int i = buf.readerIndex();
        int end = buf.writerIndex();
        while (i < end) {
            if (prefaceRemaining > 0) {
                int n = Math.min(prefaceRemaining, end - i);
                prefaceRemaining -= n;
                i += n;
            } else if (payloadRemaining > 0) {
                int n = (int) Math.min(payloadRemaining, end - i);
                payloadRemaining -= n;
                i += n;
                if (payloadRemaining == 0) {
                    frameDone(ctx);
                }
            } else {
                int n = Math.min(FRAME_HEADER_LENGTH - frameHeaderFill, end - i);
                buf.getBytes(i, frameHeader, frameHeaderFill, n);
                frameHeaderFill += n;
                i += n;
                if (frameHeaderFill == FRAME_HEADER_LENGTH) {
                    frameHeaderFill = 0;
                    frameStarted(ctx);
                }
            }
        }
    }

    private void frameStarted(ChannelHandlerContext ctx) {
        payloadRemaining = (frameHeader[0] & 0xffL) << 16 | (frameHeader[1] & 0xffL) << 8 | (frameHeader[2] & 0xffL);
        int type = frameHeader[3] & 0xff;
        int flags = frameHeader[4] & 0xff;
        boolean headerFrame = type == TYPE_HEADERS || type == TYPE_PUSH_PROMISE || type == TYPE_CONTINUATION;
        endsHeaderBlock = headerFrame && (flags & FLAG_END_HEADERS) != 0;
        if (headerFrame && !waiting) {
            startWaiting(ctx);
        }
        if (payloadRemaining == 0) {
            frameDone(ctx);
        }
    }

    private void frameDone(ChannelHandlerContext ctx) {
        if (endsHeaderBlock) {
            endsHeaderBlock = false;
            waiting = false; // the timer, if any, finds nothing to wait for and lapses
        }
    }

    private void startWaiting(ChannelHandlerContext ctx) {
        waiting = true;
        long timeout = TimeUnit.MILLISECONDS.toNanos(timeoutMillis);
        if (timer == null) {
            beyondTimer = 0;
            timer = ctx.executor().schedule(() -> check(ctx), timeout, TimeUnit.NANOSECONDS);
        } else {
            beyondTimer = Math.max(0, timeout - timer.getDelay(TimeUnit.NANOSECONDS));
        }
    }

    private void check(ChannelHandlerContext ctx) {
        timer = null;
        if (!waiting || !ctx.channel().isActive()) {
            return;
        }
        if (beyondTimer > 0) {
            timer = ctx.executor().schedule(() -> check(ctx), beyondTimer, TimeUnit.NANOSECONDS);
            beyondTimer = 0;
            return;
        }
        services.accessLog().rejected(services, info, "HTTP/2", 408, "DPE",
                "HTTP/2 headers not complete within " + timeoutMillis + " ms");
        ctx.close();
    }

    private void cancel() {
        if (timer != null) {
            timer.cancel(false);
            timer = null;
        }
    }

    @Override
    public void handlerRemoved(ChannelHandlerContext ctx) {
        cancel();
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) throws Exception {
        cancel();
        super.channelInactive(ctx);
    }
}
