package dev.keel.proxy.upstream;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;

/**
 * The byte relay both TCP paths use (inbound port to app, app to outbound route): one read at a
 * time per direction, so a slow receiver holds back its sender (both channels run with autoRead off),
 * and half-close forwarded as "flush what is queued, then close".
 */
public final class Relay {

    private Relay() {
    }

    /**
     * Writes {@code msg} to {@code to}; when it is written, asks {@code from} for the next read, and if
     * it cannot be written closes {@code to}. Returns the bytes forwarded, for the TCP byte counters.
     */
    public static long forward(Object msg, Channel to, Channel from) {
        long size = msg instanceof ByteBuf buf ? buf.readableBytes() : 0;
        to.writeAndFlush(msg).addListener((ChannelFutureListener) f -> {
            if (f.isSuccess()) {
                from.read();
            } else {
                f.channel().close();
            }
        });
        return size;
    }

    /** Closes {@code channel} after what is already queued on it is written; nothing if it is gone. */
    public static void closeAfterFlush(Channel channel) {
        if (channel != null && channel.isActive()) {
            channel.writeAndFlush(Unpooled.EMPTY_BUFFER).addListener(ChannelFutureListener.CLOSE);
        }
    }

    /** The readable bytes of a message, 0 for anything that is not a buffer. */
    public static long size(Object msg) {
        return msg instanceof ByteBuf buf ? buf.readableBytes() : 0;
    }
}
