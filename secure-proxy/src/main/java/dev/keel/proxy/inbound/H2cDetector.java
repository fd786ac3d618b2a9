package dev.keel.proxy.inbound;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.ByteToMessageDecoder;
import java.nio.charset.StandardCharsets;
import java.util.List;

/**
 * Plaintext HTTP: the HTTP/2 connection preface (prior knowledge, RFC 9113 section 3.3) means h2c,
 * anything else HTTP/1.1. Decides once and removes itself.
 */
final class H2cDetector extends ByteToMessageDecoder {

    private static final byte[] PREFACE = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".getBytes(StandardCharsets.US_ASCII);

    private final InboundInitializer initializer;
    private final ConnectionInfo info;

    H2cDetector(InboundInitializer initializer, ConnectionInfo info) {
        this.initializer = initializer;
        this.info = info;
    }

    @Override
    protected void decode(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) {
        int n = Math.min(in.readableBytes(), PREFACE.length);
        for (int i = 0; i < n; i++) {
            if (in.getByte(in.readerIndex() + i) != PREFACE[i]) {
                initializer.addHttp1(ctx.channel(), info);
                ctx.pipeline().remove(this);
                return;
            }
        }
        if (n == PREFACE.length) {
            initializer.addHttp2(ctx.channel(), info);
            ctx.pipeline().remove(this);
        }
    }
}
