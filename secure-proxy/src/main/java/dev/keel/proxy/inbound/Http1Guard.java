package dev.keel.proxy.inbound;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.ByteToMessageDecoder;
import io.netty.util.concurrent.ScheduledFuture;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Reads HTTP/1.1 request framing on the raw bytes, before Netty's decoder (which folds obs-fold lines
 * and quietly drops a Content-Length next to Transfer-Encoding), and refuses the request-smuggling
 * shapes with 400 and a closed connection: Content-Length together with Transfer-Encoding, more than one
 * Content-Length, a Transfer-Encoding other than exactly {@code chunked}, obs-fold continuation lines,
 * header names that are not tokens. Also the size limits (431: header block over {@code maxHeaderBytes}
 * or more than {@code maxHeaders} fields) and the header-read timeout (408 and close when a request's
 * headers are not complete in time after its first byte: slowloris).
 *
 * <p>It forwards each request's header block only when it is complete and valid, then exactly the
 * body its framing announces (chunk framing tracked), so every pipelined request is checked too.
 * Runs on the event loop.
 */
final class Http1Guard extends ByteToMessageDecoder {

    private enum State { HEAD, FIXED, CHUNK_SIZE, CHUNK_DATA, CHUNK_CRLF, TRAILERS, REJECTED }

    private static final int MAX_CHUNK_LINE = 4096;
    private static final byte[] CONTENT_LENGTH = "content-length".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] TRANSFER_ENCODING = "transfer-encoding".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] CHUNKED = "chunked".getBytes(StandardCharsets.US_ASCII);

    private final InboundServices services;
    private final ConnectionInfo info;
    private final int maxHeaderBytes;
    private final int maxHeaders;
    private final long headerTimeoutMillis;

    private State state = State.HEAD;
    private long remaining;
    private int scanned;
    private ScheduledFuture<?> headerTimer;
    /** The current header block, copied once for checking; reused across the connection's requests. */
    private byte[] scratch = new byte[512];

    Http1Guard(InboundServices services, ConnectionInfo info) {
        this.services = services;
        this.info = info;
        this.maxHeaderBytes = services.config().limits().maxHeaderBytes();
        this.maxHeaders = services.config().limits().maxHeaders();
        this.headerTimeoutMillis = services.config().limits().headerTimeout().toMillis();
    }

    @Override
    protected void decode(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) {
        while (in.isReadable()) {
            switch (state) {
                case REJECTED -> {
                    in.skipBytes(in.readableBytes());
                    return;
                }
                case HEAD -> {
                    if (!head(ctx, in, out)) {
                        return;
                    }
                }
                case FIXED -> {
                    int n = (int) Math.min(remaining, in.readableBytes());
                    out.add(in.readRetainedSlice(n));
                    remaining -= n;
                    if (remaining == 0) {
                        state = State.HEAD;
                    }
                }
                case CHUNK_SIZE, TRAILERS -> {
                    int lf = in.indexOf(in.readerIndex(), in.writerIndex(), (byte) '\n');
                    if (lf < 0) {
                        if (in.readableBytes() > MAX_CHUNK_LINE) {
                            reject(ctx, 400, "Bad Request", "chunk line too long");
                        }
                        return;
                    }
                    String line = in.toString(in.readerIndex(), lf - in.readerIndex(), StandardCharsets.US_ASCII).trim();
                    out.add(in.readRetainedSlice(lf + 1 - in.readerIndex()));
                    if (state == State.TRAILERS) {
                        if (line.isEmpty()) {
                            state = State.HEAD;
                        }
                    } else {
                        int semi = line.indexOf(';');
                        String hex = (semi >= 0 ? line.substring(0, semi) : line).trim();
                        if (hex.isEmpty() || hex.length() > 15 || !hex.chars().allMatch(c -> Character.digit(c, 16) >= 0)) {
                            reject(ctx, 400, "Bad Request", "bad chunk size");
                            return;
                        }
                        remaining = Long.parseLong(hex, 16);
                        state = remaining == 0 ? State.TRAILERS : State.CHUNK_DATA;
                    }
                }
                case CHUNK_DATA -> {
                    int n = (int) Math.min(remaining, in.readableBytes());
                    out.add(in.readRetainedSlice(n));
                    remaining -= n;
                    if (remaining == 0) {
                        state = State.CHUNK_CRLF;
                        remaining = 2;
                    }
                }
                case CHUNK_CRLF -> {
                    // CRLF after the chunk data; a bare LF is tolerated as Netty does.
                    byte b = in.getByte(in.readerIndex());
                    if (b == '\r' && remaining == 2) {
                        out.add(in.readRetainedSlice(1));
                        remaining = 1;
                    } else if (b == '\n') {
                        out.add(in.readRetainedSlice(1));
                        state = State.CHUNK_SIZE;
                    } else {
                        reject(ctx, 400, "Bad Request", "no CRLF after chunk data");
                        return;
                    }
                }
                default -> throw new IllegalStateException(state.toString());
            }
        }
    }

    /** True when a complete, valid header block went out and the state moved on. */
    private boolean head(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) {
        if (scanned == 0) {
            // Empty lines before a request line are ignored (RFC 9112 section 2.2).
            while (in.isReadable() && (in.getByte(in.readerIndex()) == '\r' || in.getByte(in.readerIndex()) == '\n')) {
                in.skipBytes(1);
            }
            if (!in.isReadable()) {
                return false;
            }
            startTimer(ctx);
        }
        int start = in.readerIndex();
        int end = -1;
        int w = in.writerIndex();
        for (int i = start + Math.max(0, scanned - 3); i < w; ) {
            int lf = in.indexOf(i, w, (byte) '\n');
            if (lf < 0) {
                break;
            }
            if (lf + 1 < w && in.getByte(lf + 1) == '\n') {
                end = lf + 2;
                break;
            }
            if (lf + 2 < w && in.getByte(lf + 1) == '\r' && in.getByte(lf + 2) == '\n') {
                end = lf + 3;
                break;
            }
            i = lf + 1;
        }
        if (end < 0) {
            scanned = in.readableBytes();
            if (scanned > maxHeaderBytes) {
                reject(ctx, 431, "Request Header Fields Too Large", "headers over " + maxHeaderBytes + " bytes");
            }
            return false;
        }
        scanned = 0;
        if (end - start > maxHeaderBytes) {
            reject(ctx, 431, "Request Header Fields Too Large", "headers over " + maxHeaderBytes + " bytes");
            return false;
        }
        int blockLength = end - start;
        if (scratch.length < blockLength) {
            scratch = new byte[Math.max(blockLength, Math.min(maxHeaderBytes, scratch.length * 2))];
        }
        in.getBytes(start, scratch, 0, blockLength);
        String problem = check(scratch, blockLength);
        if (problem != null) {
            if (problem.startsWith("431")) {
                reject(ctx, 431, "Request Header Fields Too Large", problem.substring(4));
            } else {
                reject(ctx, 400, "Bad Request", problem);
            }
            return false;
        }
        cancelTimer();
        out.add(in.readRetainedSlice(end - start));
        return true;
    }

    /**
     * Null when the header block ({@code block[0..length)}, request line first, lines ending in LF with
     * an optional CR before it) is acceptable; sets the body framing state. Works on the bytes: this
     * runs for every request.
     */
    private String check(byte[] block, int length) {
        int fields = 0;
        int contentLengths = 0;
        long contentLength = -1;
        int transferEncodings = 0;
        boolean chunked = false;
        int lineStart = indexOf(block, 0, length, (byte) '\n') + 1; // skip the request line
        while (lineStart > 0 && lineStart < length) {
            int lf = indexOf(block, lineStart, length, (byte) '\n');
            int lineEnd = lf < 0 ? length : lf;
            int next = lf < 0 ? length : lf + 1;
            if (lineEnd > lineStart && block[lineEnd - 1] == '\r') {
                lineEnd--;
            }
            if (lineEnd == lineStart) {
                lineStart = next;
                continue;
            }
            byte first = block[lineStart];
            if (first == ' ' || first == '\t') {
                return "obs-fold header continuation";
            }
            int colon = indexOf(block, lineStart, lineEnd, (byte) ':');
            if (colon <= lineStart) {
                return "header line without a name";
            }
            for (int c = lineStart; c < colon; c++) {
                if (!isTokenChar((char) (block[c] & 0xff))) {
                    return "invalid header name";
                }
            }
            fields++;
            int valueStart = colon + 1;
            int valueEnd = lineEnd;
            while (valueStart < valueEnd && (block[valueStart] & 0xff) <= ' ') {
                valueStart++;
            }
            while (valueEnd > valueStart && (block[valueEnd - 1] & 0xff) <= ' ') {
                valueEnd--;
            }
            if (nameIs(block, lineStart, colon, CONTENT_LENGTH)) {
                contentLengths++;
                int digits = valueEnd - valueStart;
                if (digits == 0 || digits > 18) {
                    return "invalid Content-Length";
                }
                long v = 0;
                for (int i = valueStart; i < valueEnd; i++) {
                    byte b = block[i];
                    if (b < '0' || b > '9') {
                        return "invalid Content-Length";
                    }
                    v = v * 10 + (b - '0');
                }
                contentLength = v;
            } else if (nameIs(block, lineStart, colon, TRANSFER_ENCODING)) {
                transferEncodings++;
                chunked = nameIs(block, valueStart, valueEnd, CHUNKED);
            }
            lineStart = next;
        }
        if (fields > maxHeaders) {
            return "431 more than " + maxHeaders + " header fields";
        }
        if (contentLengths > 1) {
            return "more than one Content-Length";
        }
        if (transferEncodings > 0 && contentLengths > 0) {
            return "both Content-Length and Transfer-Encoding";
        }
        if (transferEncodings > 1 || transferEncodings == 1 && !chunked) {
            return "Transfer-Encoding other than chunked";
        }
        if (transferEncodings == 1) {
            state = State.CHUNK_SIZE;
        } else if (contentLength > 0) {
            state = State.FIXED;
            remaining = contentLength;
        } else {
            state = State.HEAD;
        }
        return null;
    }

    private static int indexOf(byte[] b, int from, int to, byte value) {
        for (int i = from; i < to; i++) {
            if (b[i] == value) {
                return i;
            }
        }
        return -1;
    }

    /** ASCII case-insensitive: {@code b[from..to)} equals {@code lowerCase}. */
    private static boolean nameIs(byte[] b, int from, int to, byte[] lowerCase) {
        if (to - from != lowerCase.length) {
            return false;
        }
        for (int i = 0; i < lowerCase.length; i++) {
            byte c = b[from + i];
            if (c >= 'A' && c <= 'Z') {
                c += 'a' - 'A';
            }
            if (c != lowerCase[i]) {
                return false;
            }
        }
        return true;
    }

    private static boolean isTokenChar(char c) {
        return c > 0x20 && c < 0x7f && "\"(),/:;<=>?@[\\]{}".indexOf(c) < 0;
    }

    private void startTimer(ChannelHandlerContext ctx) {
        if (headerTimer == null) {
            headerTimer = ctx.executor().schedule(() -> {
                headerTimer = null;
                if (state == State.HEAD && ctx.channel().isActive()) {
                    reject(ctx, 408, "Request Timeout", "headers not complete within " + headerTimeoutMillis + " ms");
                }
            }, headerTimeoutMillis, TimeUnit.MILLISECONDS);
        }
    }

    private void cancelTimer() {
        if (headerTimer != null) {
            headerTimer.cancel(false);
            headerTimer = null;
        }
    }

    private void reject(ChannelHandlerContext ctx, int status, String reason, String detail) {
        cancelTimer();
        state = State.REJECTED;
        byte[] body = reason.getBytes(StandardCharsets.US_ASCII);
        String head = "HTTP/1.1 " + status + " " + reason + "\r\ncontent-type: text/plain\r\ncontent-length: "
                + body.length + "\r\nconnection: close\r\n\r\n";
        ByteBuf buf = Unpooled.wrappedBuffer(head.getBytes(StandardCharsets.US_ASCII), body);
        ctx.writeAndFlush(buf).addListener(ChannelFutureListener.CLOSE);
        services.accessLog().rejected(services, info, status, "DPE", detail);
    }

    @Override
    protected void handlerRemoved0(ChannelHandlerContext ctx) {
        cancelTimer();
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) throws Exception {
        cancelTimer();
        super.channelInactive(ctx);
    }
}
