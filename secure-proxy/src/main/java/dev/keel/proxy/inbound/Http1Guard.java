package dev.keel.proxy.inbound;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.ByteToMessageDecoder;
import io.netty.util.concurrent.ScheduledFuture;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Locale;
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

    private final InboundServices services;
    private final ConnectionInfo info;
    private final int maxHeaderBytes;
    private final int maxHeaders;
    private final long headerTimeoutMillis;

    private State state = State.HEAD;
    private long remaining;
    private int scanned;
    private ScheduledFuture<?> headerTimer;

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
        for (int i = start + Math.max(0, scanned - 3); i < in.writerIndex(); i++) {
            if (in.getByte(i) == '\n') {
                if (i + 1 < in.writerIndex() && in.getByte(i + 1) == '\n') {
                    end = i + 2;
                    break;
                }
                if (i + 2 < in.writerIndex() && in.getByte(i + 1) == '\r' && in.getByte(i + 2) == '\n') {
                    end = i + 3;
                    break;
                }
            }
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
        String block = in.toString(start, end - start, StandardCharsets.ISO_8859_1);
        String problem = check(block);
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

    /** Null when the header block is acceptable; sets the body framing state. */
    private String check(String block) {
        String[] lines = block.split("\r?\n", -1);
        int fields = 0;
        int contentLengths = 0;
        long contentLength = -1;
        int transferEncodings = 0;
        String transferEncoding = null;
        for (int i = 1; i < lines.length; i++) {
            String line = lines[i];
            if (line.isEmpty()) {
                continue;
            }
            char first = line.charAt(0);
            if (first == ' ' || first == '\t') {
                return "obs-fold header continuation";
            }
            int colon = line.indexOf(':');
            if (colon <= 0) {
                return "header line without a name";
            }
            String name = line.substring(0, colon);
            for (int c = 0; c < name.length(); c++) {
                if (!isTokenChar(name.charAt(c))) {
                    return "invalid header name";
                }
            }
            fields++;
            String value = line.substring(colon + 1).trim();
            String lower = name.toLowerCase(Locale.ROOT);
            if (lower.equals("content-length")) {
                contentLengths++;
                if (value.isEmpty() || value.length() > 18 || !value.chars().allMatch(c -> c >= '0' && c <= '9')) {
                    return "invalid Content-Length";
                }
                contentLength = Long.parseLong(value);
            } else if (lower.equals("transfer-encoding")) {
                transferEncodings++;
                transferEncoding = value;
            }
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
        if (transferEncodings > 1 || transferEncodings == 1 && !"chunked".equalsIgnoreCase(transferEncoding)) {
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
