package dev.keel.proxy.inbound;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.ByteToMessageDecoder;
import java.util.List;

/**
 * PERMISSIVE ports: a TLS ClientHello record starts {@code 0x16 0x03}; anything else is plaintext.
 * Decides once from the first bytes, sets up the rest of the pipeline and removes itself (the bytes
 * it held go on to the next handler).
 */
final class TlsDetector extends ByteToMessageDecoder {

    private final InboundInitializer initializer;
    private final ConnectionInfo info;

    TlsDetector(InboundInitializer initializer, ConnectionInfo info) {
        this.initializer = initializer;
        this.info = info;
    }

    @Override
    protected void decode(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) {
        if (in.readableBytes() < 1) {
            return;
        }
        int first = in.getUnsignedByte(in.readerIndex());
        if (first == 0x16 && in.readableBytes() < 2) {
            return;
        }
        boolean tls = first == 0x16 && in.getUnsignedByte(in.readerIndex() + 1) == 0x03;
        if (tls) {
            initializer.addTls(ctx.channel(), info, false);
        } else {
            initializer.addPlaintext(ctx.channel(), info);
        }
        ctx.pipeline().remove(this);
    }
}
