package dev.keel.proxy.inbound;

import static dev.keel.proxy.http.HttpBytes.hexValue;
import static dev.keel.proxy.http.HttpBytes.isDigit;
import static dev.keel.proxy.http.HttpBytes.isOws;

import dev.keel.proxy.http.HeaderList;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.CompositeByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.ByteToMessageDecoder;
import io.netty.util.concurrent.ScheduledFuture;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;

/**
 * Decodes HTTP/1.1 (and 1.0) requests straight from the connection's bytes into whole
 * {@link InboundRequest}s, body aggregated, checking framing and limits in the same pass.
 *
 * <p>What goes out, in request order: one {@link InboundRequest} per request (pipelined requests each in
 * turn; the consumer releases the body), and at most one {@link Http1Rejection}, always last. A
 * rejection stands in for the request that was refused; it is already in the access log and metrics,
 * every later byte of the connection is discarded, and the consumer must answer it with
 * {@link Http1Rejection#response()} once every earlier request is answered and then close the
 * connection, so the error cannot overtake the responses it follows. After a request that does not keep
 * the connection alive nothing more is decoded either (RFC 9112 section 9.6).
 *
 * <p>Refused (400, {@code DPE}): a request line that is not {@code token SP target SP HTTP/1.x} (505 for
 * another well-formed version), a target with SP or control bytes, header names that are not tokens or
 * followed by whitespace, obs-fold, control bytes other than HTAB in values, and the request-smuggling
 * shapes: Content-Length with Transfer-Encoding, more than one Content-Length (even equal), an invalid
 * Content-Length, Transfer-Encoding other than exactly {@code chunked} (or in HTTP/1.0), more than one
 * Host; bad chunk framing (chunk-size over 15 hex digits, a chunk or trailer line over
 * {@value #MAX_CHUNK_LINE} bytes, no CRLF after chunk data); more than {@code maxHeaderBytes} of empty lines
 * before a request line. Limits: a header block over {@code maxHeaderBytes} or more than {@code maxHeaders}
 * fields, trailers over {@code maxHeaderBytes} (431), a head not complete within {@code headerTimeout} of
 * its first byte (408: slowloris), a body over {@code maxRequestBodyBytes} by Content-Length or while
 * dechunking (413, flags {@code -}), an Expect other than {@code 100-continue} (417, flags {@code -}).
 * {@code Expect: 100-continue} is answered with {@code 100 Continue} when the body has not started to
 * arrive.
 *
 * <p>Names are lower-cased; the frequent ones map to constant strings without allocating. Values are
 * trimmed of OWS and kept as ISO-8859-1. Empty lines before a request line are ignored and bare LF line
 * ends tolerated. The body, when the cumulation already holds it whole, is a retained slice of it; else it
 * is copied into one buffer of the announced length, or, chunked, gathered as slices in a composite.
 *
 * <p>Runs on the event loop. The {@code 100 Continue} is written directly, not queued behind earlier
 * responses: a client that pipelines behind unanswered requests takes it as an interim response to the
 * earlier request (clients must accept unexpected 1xx, RFC 9110 section 15.2) and at worst waits its own
 * expect timeout before sending the body.
 */
final class Http1RequestDecoder extends ByteToMessageDecoder {

    private enum State {
        HEAD, FIXED_BODY, CHUNK_SIZE, CHUNK_DATA, CHUNK_CRLF, TRAILERS,
        /** Rejected, or the last request of the connection emitted: every further byte is discarded. */
        DONE
    }

    /** Longest chunk-size or trailer line accepted, extensions included. */
    static final int MAX_CHUNK_LINE = 4096;
    /** Netty's aggregator default: past this many chunks the composite consolidates (one copy). */
    private static final int MAX_BODY_COMPONENTS = 1024;
    /** Room for the fields the filter pipeline adds (request id, traceparent, XFCC, forwarded proto). */
    private static final int ADDED_FIELDS = 4;
    private static final byte LF = '\n';
    private static final byte[] CONTINUE = "HTTP/1.1 100 Continue\r\n\r\n".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] HTTP_1_ = "HTTP/1.".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] CHUNKED = "chunked".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] CLOSE = "close".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] KEEP_ALIVE = "keep-alive".getBytes(StandardCharsets.US_ASCII);
    /** Lane patterns for {@link #firstControl}: below 0x20 (CTL), below 0x21 (CTL or SP). */
    private static final long CTL = 0x2020202020202020L;
    private static final long CTL_OR_SP = 0x2121212121212121L;
    private static final VarHandle LONGS = MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.LITTLE_ENDIAN);
    private static final byte[] CONTINUE_EXPECTATION = "100-continue".getBytes(StandardCharsets.US_ASCII);

    private final InboundServices services;
    private final ConnectionInfo info;
    private final LongSupplier nanoClock;
    private final int maxHeaderBytes;
    private final int maxHeaders;
    private final int maxBodyBytes;
    private final long headerTimeoutNanos;

    private State state = State.HEAD;
    /** The current header block (or chunk line), copied once; reused across the connection's requests. */
    private byte[] scratch;

    // The head being read: valid while headStarted.
    private boolean headStarted;
    private long headStartNanos;
    /** Bytes after the head's start already searched for line ends. */
    private int scanned;
    /** Offsets (from the head's start) of the LF ending each line found so far. */
    private int[] lineEnds;
    private int lines;
    /** CR and LF bytes skipped before the current request line. */
    private int blankBytes;
    /**
     * One timer per connection, armed when a request's head starts if none is pending; when it fires
     * it checks the head then in progress and re-arms for that head's deadline. On the keep-alive path
     * this schedules about once per timeout instead of once per request.
     */
    private ScheduledFuture<?> headerTimer;

    // The request whose body is being read; set by parseHead.
    private String method;
    private String uri;
    private String protocol;
    private HeaderList headers;
    private int headerBytes;
    private boolean keepAlive;
    private long contentLength;
    private boolean chunked;
    private boolean expectContinue;
    private long remaining;
    private long bodyBytes;
    private int trailerBytes;
    private boolean chunkCr;
    /** The body gathered so far when it did not arrive with its head; released if the connection ends. */
    private ByteBuf body;
    /** The status of the problem parseHead returned. */
    private int problemStatus;

    Http1RequestDecoder(InboundServices services, ConnectionInfo info) {
        this(services, info, System::nanoTime);
    }

    /** @param nanoClock monotonic nanoseconds for the header-read deadline (tests move it with the loop's clock) */
    Http1RequestDecoder(InboundServices services, ConnectionInfo info, LongSupplier nanoClock) {
        this.services = services;
        this.info = info;
        this.nanoClock = nanoClock;
        this.maxHeaderBytes = services.config().limits().maxHeaderBytes();
        this.maxHeaders = services.config().limits().maxHeaders();
        this.maxBodyBytes = services.config().limits().maxRequestBodyBytes();
        this.headerTimeoutNanos = services.config().limits().headerTimeout().toNanos();
        this.scratch = new byte[Math.min(1024, maxHeaderBytes)];
        this.lineEnds = new int[Math.min(32, maxHeaders + 1)];
    }

    @Override
    protected void decode(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) {
        boolean progress = true;
        while (progress && in.isReadable()) {
            progress = switch (state) {
                case HEAD -> head(ctx, in, out);
                case FIXED_BODY -> fixedBody(in, out);
                case CHUNK_SIZE -> chunkSize(in, out);
                case CHUNK_DATA -> chunkData(ctx, in);
                case CHUNK_CRLF -> chunkCrlf(in, out);
                case TRAILERS -> trailers(in, out);
                case DONE -> {
                    in.skipBytes(in.readableBytes());
                    yield false;
                }
            };
        }
    }

    /** True when a head was complete and valid and the state moved on to its body (or the next request). */
    private boolean head(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) {
        if (!headStarted) {
            // Empty lines before a request line are ignored (RFC 9112 section 2.2), a bounded number of them.
            int i = in.readerIndex();
            int w = in.writerIndex();
            while (i < w && isCrOrLf(in.getByte(i))) {
                i++;
            }
            blankBytes += i - in.readerIndex();
            in.readerIndex(i);
            if (blankBytes > maxHeaderBytes) {
                return reject(in, out, 400, "more than " + maxHeaderBytes + " bytes of empty lines before a request");
            }
            if (i == w) {
                return false;
            }
            startHead(ctx);
        }
        int start = in.readerIndex();
        int searchEnd = (int) Math.min(in.writerIndex(), (long) start + maxHeaderBytes);
        int headLength = -1;
        int i = start + scanned;
        while (i < searchEnd) {
            int lf = in.indexOf(i, searchEnd, LF);
            if (lf < 0) {
                i = searchEnd;
                break;
            }
            int lineStart = lines == 0 ? start : start + lineEnds[lines - 1] + 1;
            int length = lf - lineStart;
            if (length == 0 || length == 1 && in.getByte(lineStart) == '\r') {
                headLength = lf + 1 - start;
                break;
            }
            if (lines > maxHeaders) { // the request line and maxHeaders fields are in: this is one more field
                return reject(in, out, 431, "more than " + maxHeaders + " header fields");
            }
            if (lines == lineEnds.length) {
                lineEnds = Arrays.copyOf(lineEnds, Math.min(lines * 2, maxHeaders + 1));
            }
            lineEnds[lines++] = lf - start;
            i = lf + 1;
        }
        if (headLength < 0) {
            scanned = i - start;
            if (in.writerIndex() - start >= maxHeaderBytes) {
                return reject(in, out, 431, "headers over " + maxHeaderBytes + " bytes");
            }
            return false;
        }
        int lineCount = lines;
        headStarted = false; // the pending timer, when it fires, finds no head in progress
        scanned = 0;
        lines = 0;
        blankBytes = 0;
        byte[] a = scratch(headLength);
        in.getBytes(start, a, 0, headLength);
        String problem = parseHead(a, lineCount);
        if (problem != null) {
            return reject(in, out, problemStatus, problem);
        }
        in.skipBytes(headLength);
        headerBytes = headLength;
        return startBody(ctx, in, out);
    }

    private void startHead(ChannelHandlerContext ctx) {
        headStarted = true;
        headStartNanos = nanoClock.getAsLong();
        if (headerTimer == null) {
            headerTimer = ctx.executor().schedule(() -> headerTimerFired(ctx), headerTimeoutNanos,
                    TimeUnit.NANOSECONDS);
        }
    }

    private void headerTimerFired(ChannelHandlerContext ctx) {
        headerTimer = null;
        if (state != State.HEAD || !headStarted || !ctx.channel().isActive()) {
            return;
        }
        long left = headerTimeoutNanos - (nanoClock.getAsLong() - headStartNanos);
        if (left > 0) {
            // A later request's head, started after this timer was armed: wait for its own deadline.
            headerTimer = ctx.executor().schedule(() -> headerTimerFired(ctx), left, TimeUnit.NANOSECONDS);
            return;
        }
        Http1Rejection rejection = reject(408,
                "headers not complete within " + TimeUnit.NANOSECONDS.toMillis(headerTimeoutNanos) + " ms");
        ByteBuf partial = internalBuffer();
        partial.skipBytes(partial.readableBytes());
        // Every request decoded before went out at the end of its decode call; this one follows them.
        ctx.fireChannelRead(rejection);
        ctx.fireChannelReadComplete();
    }

    /**
     * Reads the request line and the fields of the head in {@code a} (lines ending at {@link #lineEnds},
     * the request line first); fills the request fields. Null when acceptable, else the problem with its
     * status in {@link #problemStatus}.
     */
    private String parseHead(byte[] a, int lineCount) {
        String problem = requestLine(a, 0, withoutCr(a, 0, lineEnds[0]));
        if (problem != null) {
            return problem;
        }
        HeaderList fields = new HeaderList(lineCount - 1 + ADDED_FIELDS);
        int contentLengths = 0;
        long length = 0;
        int transferEncodings = 0;
        boolean isChunked = false;
        int hosts = 0;
        boolean close = false;
        boolean keepAliveToken = false;
        boolean continueExpected = false;
        boolean otherExpectation = false;
        for (int k = 1; k < lineCount; k++) {
            int from = lineEnds[k - 1] + 1;
            int to = withoutCr(a, from, lineEnds[k]);
            byte first = a[from];
            if (first == ' ' || first == '\t') {
                return fail(400, "obs-fold header continuation");
            }
            int hash = 0;
            int colon = from;
            for (; colon < to; colon++) {
                byte c = a[colon];
                if (c == ':') {
                    break;
                }
                byte lower = CommonNames.TOKEN_LOWER[c & 0xff];
                if (lower == 0) {
                    return fail(400, "invalid character in header name");
                }
                a[colon] = lower;
                hash = 31 * hash + lower;
            }
            if (colon == to) {
                return fail(400, "header line without a colon");
            }
            if (colon == from) {
                return fail(400, "empty header name");
            }
            int valueStart = colon + 1;
            int valueEnd = to;
            while (valueStart < valueEnd && isOws(a[valueStart])) {
                valueStart++;
            }
            while (valueEnd > valueStart && isOws(a[valueEnd - 1])) {
                valueEnd--;
            }
            int control = firstControl(a, valueStart, valueEnd, CTL);
            while (control < valueEnd && a[control] == '\t') {
                control = firstControl(a, control + 1, valueEnd, CTL);
            }
            if (control < valueEnd) {
                return fail(400, "control character in header value");
            }
            String name = CommonNames.lookup(a, from, colon, hash);
            if (name == null) {
                name = new String(a, from, colon - from, StandardCharsets.ISO_8859_1);
            }
            fields.add(name, valueEnd == valueStart ? "" : new String(a, valueStart, valueEnd - valueStart,
                    StandardCharsets.ISO_8859_1));
            // The framing names are the table's constants, so identity tells them apart.
            if (name == CommonNames.CONTENT_LENGTH) {
                contentLengths++;
                length = contentLength(a, valueStart, valueEnd);
                if (length < 0) {
                    return fail(400, "invalid Content-Length");
                }
            } else if (name == CommonNames.TRANSFER_ENCODING) {
                transferEncodings++;
                isChunked = equalsIgnoreCase(a, valueStart, valueEnd, CHUNKED);
            } else if (name == CommonNames.HOST) {
                hosts++;
            } else if (name == CommonNames.CONNECTION) {
                close |= hasToken(a, valueStart, valueEnd, CLOSE);
                keepAliveToken |= hasToken(a, valueStart, valueEnd, KEEP_ALIVE);
            } else if (name == CommonNames.EXPECT) {
                if (equalsIgnoreCase(a, valueStart, valueEnd, CONTINUE_EXPECTATION)) {
                    continueExpected = true;
                } else {
                    otherExpectation = true;
                }
            }
        }
        if (contentLengths > 1) {
            return fail(400, "more than one Content-Length");
        }
        if (transferEncodings > 0 && contentLengths > 0) {
            return fail(400, "both Content-Length and Transfer-Encoding");
        }
        if (transferEncodings > 1 || transferEncodings == 1 && !isChunked) {
            return fail(400, "Transfer-Encoding other than chunked");
        }
        boolean http10 = protocol == InboundRequest.HTTP_1_0;
        if (transferEncodings > 0 && http10) {
            return fail(400, "Transfer-Encoding in an HTTP/1.0 request");
        }
        if (hosts > 1) {
            return fail(400, "more than one Host");
        }
        // Expect is an HTTP/1.1 feature: an HTTP/1.0 request's is ignored (RFC 9110 section 10.1.1).
        if (otherExpectation && !http10) {
            return fail(417, "unsupported expectation");
        }
        headers = fields;
        contentLength = length;
        chunked = transferEncodings == 1;
        expectContinue = continueExpected && !http10;
        keepAlive = http10 ? keepAliveToken && !close : !close;
        return null;
    }

    /** {@code method SP request-target SP HTTP-version} in {@code a[from..to)}. */
    private String requestLine(byte[] a, int from, int to) {
        int p = from;
        while (p < to && a[p] != ' ') {
            if (CommonNames.TOKEN_LOWER[a[p] & 0xff] == 0) {
                return fail(400, "invalid method");
            }
            p++;
        }
        if (p == from || p == to) {
            return fail(400, "malformed request line");
        }
        int methodEnd = p;
        int targetStart = ++p;
        p = firstControl(a, p, to, CTL_OR_SP);
        if (p < to && a[p] != ' ') {
            return fail(400, "control character in request target");
        }
        if (p == targetStart || p == to) {
            return fail(400, "malformed request line");
        }
        int targetEnd = p;
        int versionStart = p + 1;
        if (to - versionStart != 8) {
            return fail(400, "malformed request line");
        }
        if (Arrays.equals(a, versionStart, versionStart + 7, HTTP_1_, 0, 7) && (a[versionStart + 7] == '1'
                || a[versionStart + 7] == '0')) {
            protocol = a[versionStart + 7] == '1' ? InboundRequest.HTTP_1_1 : InboundRequest.HTTP_1_0;
        } else if (Arrays.equals(a, versionStart, versionStart + 5, HTTP_1_, 0, 5) && isDigit(a[versionStart + 5])
                && a[versionStart + 6] == '.' && isDigit(a[versionStart + 7])) {
            return fail(505, "unsupported HTTP version");
        } else {
            return fail(400, "malformed request line");
        }
        method = CommonNames.method(a, from, methodEnd);
        uri = new String(a, targetStart, targetEnd - targetStart, StandardCharsets.ISO_8859_1);
        return null;
    }

    private boolean startBody(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) {
        if (chunked) {
            bodyBytes = 0;
            state = State.CHUNK_SIZE;
            if (expectContinue && !in.isReadable()) {
                writeContinue(ctx);
            }
            return true;
        }
        if (contentLength > maxBodyBytes) {
            return reject(in, out, 413, "request body over " + maxBodyBytes + " bytes");
        }
        if (contentLength == 0) {
            emit(out, Unpooled.EMPTY_BUFFER);
            return true;
        }
        if (in.readableBytes() >= contentLength) {
            emit(out, in.readRetainedSlice((int) contentLength));
            return true;
        }
        if (expectContinue && !in.isReadable()) {
            writeContinue(ctx);
        }
        // Grown as bytes arrive: a declared length alone must not reserve memory (many stalled bodies would).
        body = ctx.alloc().buffer((int) Math.min(contentLength, in.readableBytes() + 64 * 1024), (int) contentLength);
        remaining = contentLength;
        state = State.FIXED_BODY;
        return true;
    }

    private static void writeContinue(ChannelHandlerContext ctx) {
        ctx.writeAndFlush(Unpooled.wrappedBuffer(CONTINUE));
    }

    private boolean fixedBody(ByteBuf in, List<Object> out) {
        int n = (int) Math.min(remaining, in.readableBytes());
        body.writeBytes(in, n);
        remaining -= n;
        if (remaining == 0) {
            ByteBuf complete = body;
            body = null;
            emit(out, complete);
        }
        return true;
    }

    /** {@code chunk-size [BWS] [; extensions] CRLF}; extensions are ignored but may not hold control bytes. */
    private boolean chunkSize(ByteBuf in, List<Object> out) {
        int start = in.readerIndex();
        int lf = lineEnd(in);
        if (lf < 0) {
            return in.readableBytes() > MAX_CHUNK_LINE && reject(in, out, 400, "chunk line too long");
        }
        int length = lf - start;
        byte[] a = scratch(length);
        in.getBytes(start, a, 0, length);
        length = withoutCr(a, 0, length);
        long size = 0;
        int i = 0;
        for (; i < length; i++) {
            int digit = hexValue(a[i]);
            if (digit < 0) {
                break;
            }
            if (i == 15) {
                return reject(in, out, 400, "bad chunk size");
            }
            size = size << 4 | digit;
        }
        if (i == 0) {
            return reject(in, out, 400, "bad chunk size");
        }
        while (i < length && isOws(a[i])) {
            i++;
        }
        if (i < length && a[i] != ';') {
            return reject(in, out, 400, "bad chunk size");
        }
        for (; i < length; i++) {
            int c = a[i] & 0xff;
            if (c < 0x20 && c != '\t' || c == 0x7f) {
                return reject(in, out, 400, "control character in chunk extension");
            }
        }
        in.readerIndex(lf + 1);
        if (size == 0) {
            trailerBytes = 0;
            state = State.TRAILERS;
            return true;
        }
        if (bodyBytes + size > maxBodyBytes) {
            return reject(in, out, 413, "request body over " + maxBodyBytes + " bytes");
        }
        bodyBytes += size;
        remaining = size;
        state = State.CHUNK_DATA;
        return true;
    }

    private boolean chunkData(ChannelHandlerContext ctx, ByteBuf in) {
        int n = (int) Math.min(remaining, in.readableBytes());
        if (body == null) {
            body = ctx.alloc().compositeBuffer(MAX_BODY_COMPONENTS);
        }
        ((CompositeByteBuf) body).addComponent(true, in.readRetainedSlice(n));
        remaining -= n;
        if (remaining == 0) {
            chunkCr = false;
            state = State.CHUNK_CRLF;
        }
        return true;
    }

    /** The CRLF after chunk data; a bare LF is tolerated as for every other line. */
    private boolean chunkCrlf(ByteBuf in, List<Object> out) {
        byte b = in.getByte(in.readerIndex());
        if (b == '\r' && !chunkCr) {
            chunkCr = true;
        } else if (b == '\n') {
            state = State.CHUNK_SIZE;
        } else {
            return reject(in, out, 400, "no CRLF after chunk data");
        }
        in.skipBytes(1);
        return true;
    }

    /** Trailer fields are read and dropped; the empty line ends the request. */
    private boolean trailers(ByteBuf in, List<Object> out) {
        int start = in.readerIndex();
        int lf = lineEnd(in);
        if (lf < 0) {
            return in.readableBytes() > MAX_CHUNK_LINE && reject(in, out, 400, "trailer line too long");
        }
        boolean empty = lf == start || lf == start + 1 && in.getByte(start) == '\r';
        in.readerIndex(lf + 1);
        if (empty) {
            ByteBuf complete = body == null ? Unpooled.EMPTY_BUFFER : body;
            body = null;
            emit(out, complete);
            return true;
        }
        trailerBytes += lf + 1 - start;
        if (trailerBytes > maxHeaderBytes) {
            return reject(in, out, 431, "trailers over " + maxHeaderBytes + " bytes");
        }
        return true;
    }

    /** The LF ending the line at the reader index if within {@link #MAX_CHUNK_LINE} bytes, else -1. */
    private static int lineEnd(ByteBuf in) {
        int start = in.readerIndex();
        return in.indexOf(start, (int) Math.min(in.writerIndex(), start + MAX_CHUNK_LINE + 1L), LF);
    }

    private void emit(List<Object> out, ByteBuf content) {
        out.add(new InboundRequest(method, uri, protocol, headers, headerBytes, keepAlive, content));
        method = null;
        uri = null;
        headers = null;
        if (keepAlive) {
            state = State.HEAD;
        } else {
            state = State.DONE;
            cancelTimer();
        }
    }

    /** Emits the rejection, discards the rest; always false (nothing more to decode). */
    private boolean reject(ByteBuf in, List<Object> out, int status, String detail) {
        out.add(reject(status, detail));
        in.skipBytes(in.readableBytes());
        return false;
    }

    private Http1Rejection reject(int status, String detail) {
        state = State.DONE;
        headStarted = false;
        cancelTimer();
        releaseBody();
        method = null;
        uri = null;
        headers = null;
        String flags = status == 413 || status == 417 ? "-" : "DPE";
        services.accessLog().rejected(services, info, status, flags, detail);
        return new Http1Rejection(status, reason(status), detail, flags);
    }

    private String fail(int status, String detail) {
        problemStatus = status;
        return detail;
    }

    private static String reason(int status) {
        return switch (status) {
            case 400 -> "Bad Request";
            case 408 -> "Request Timeout";
            case 413 -> "Payload Too Large";
            case 417 -> "Expectation Failed";
            case 431 -> "Request Header Fields Too Large";
            case 505 -> "HTTP Version Not Supported";
            default -> throw new IllegalArgumentException("status: " + status);
        };
    }

    /** 1 to 18 digits, else -1. */
    private static long contentLength(byte[] a, int from, int to) {
        if (to == from || to - from > 18) {
            return -1;
        }
        long v = 0;
        for (int i = from; i < to; i++) {
            byte b = a[i];
            if (!isDigit(b)) {
                return -1;
            }
            v = v * 10 + (b - '0');
        }
        return v;
    }

    /** Whether the comma-separated list in {@code a[from..to)} holds {@code lowerCase} (ASCII case-insensitive). */
    private static boolean hasToken(byte[] a, int from, int to, byte[] lowerCase) {
        int i = from;
        while (i < to) {
            int comma = i;
            while (comma < to && a[comma] != ',') {
                comma++;
            }
            int s = i;
            int e = comma;
            while (s < e && isOws(a[s])) {
                s++;
            }
            while (e > s && isOws(a[e - 1])) {
                e--;
            }
            if (equalsIgnoreCase(a, s, e, lowerCase)) {
                return true;
            }
            i = comma + 1;
        }
        return false;
    }

    /** ASCII case-insensitive: {@code a[from..to)} equals {@code lowerCase}. */
    private static boolean equalsIgnoreCase(byte[] a, int from, int to, byte[] lowerCase) {
        if (to - from != lowerCase.length) {
            return false;
        }
        for (int i = 0; i < lowerCase.length; i++) {
            byte c = a[from + i];
            if (c >= 'A' && c <= 'Z') {
                c += 'a' - 'A';
            }
            if (c != lowerCase[i]) {
                return false;
            }
        }
        return true;
    }

    /** {@code to}, less one when the line ending at {@code to} ends in CR. */
    private static int withoutCr(byte[] a, int from, int to) {
        return to > from && a[to - 1] == '\r' ? to - 1 : to;
    }

    /**
     * The index of the first byte in {@code a[from..to)} below {@code below} (a {@link #CTL} or {@link #CTL_OR_SP}
     * pattern: that byte value in every lane) or equal to DEL, else {@code to}. Header values and targets are
     * most of a head's bytes, so this tests eight at a time: a lane below the limit or equal to 0x7f sets its
     * high bit in the word test (exact for "any": a borrow only runs on from a lane that is itself a hit),
     * and only such a word is looked at byte by byte. Bytes from 0x80 (obs-text) are never hits.
     */
    private static int firstControl(byte[] a, int from, int to, long below) {
        int i = from;
        for (; i + 8 <= to; i += 8) {
            long x = (long) LONGS.get(a, i);
            long del = x ^ 0x7f7f7f7f7f7f7f7fL;
            if (((x - below | del - 0x0101010101010101L) & ~x & 0x8080808080808080L) != 0) {
                break;
            }
        }
        int limit = (int) (below & 0xff);
        for (; i < to; i++) {
            int c = a[i] & 0xff;
            if (c < limit || c == 0x7f) {
                return i;
            }
        }
        return to;
    }

    /** The scratch array, grown (doubling, at least to {@code length}) when it is shorter than {@code length}. */
    private byte[] scratch(int length) {
        if (scratch.length < length) {
            scratch = new byte[Math.max(length, scratch.length * 2)];
        }
        return scratch;
    }

    private static boolean isCrOrLf(byte b) {
        return b == '\r' || b == '\n';
    }

    private void cancelTimer() {
        if (headerTimer != null) {
            headerTimer.cancel(false);
            headerTimer = null;
        }
    }

    private void releaseBody() {
        if (body != null) {
            body.release();
            body = null;
        }
    }

    /** The connection is gone: a request still incomplete is dropped, nothing more is emitted. */
    @Override
    protected void decodeLast(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) {
        in.skipBytes(in.readableBytes());
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) throws Exception {
        state = State.DONE;
        cancelTimer();
        releaseBody();
        super.channelInactive(ctx);
    }

    @Override
    protected void handlerRemoved0(ChannelHandlerContext ctx) {
        cancelTimer();
        releaseBody();
    }

    /**
     * The method and header names that arrive on nearly every request, as constants, found from the
     * bytes without creating a String: a small open-addressing table keyed by the same hash the parser
     * computes while it lower-cases and checks a name.
     */
    private static final class CommonNames {

        static final String HOST = "host";
        static final String CONTENT_LENGTH = "content-length";
        static final String TRANSFER_ENCODING = "transfer-encoding";
        static final String CONNECTION = "connection";
        static final String EXPECT = "expect";

        /** The lower-case form of each token character; 0 for bytes that are not tchar (RFC 9110 section 5.6.2). */
        static final byte[] TOKEN_LOWER = new byte[256];

        private static final String[] NAMES = {HOST, CONTENT_LENGTH, TRANSFER_ENCODING, CONNECTION, EXPECT,
            "user-agent", "accept", "accept-encoding", "accept-language", "accept-charset", "content-type",
            "content-encoding", "keep-alive", "proxy-connection", "cookie", "authorization", "proxy-authorization",
            "x-request-id", "traceparent", "tracestate", "baggage", "b3", "x-b3-traceid", "x-b3-spanid",
            "x-b3-parentspanid", "x-b3-sampled", "x-forwarded-for", "x-forwarded-proto", "x-forwarded-host",
            "x-forwarded-port", "x-forwarded-client-cert", "forwarded", "x-real-ip", "via", "cache-control",
            "pragma", "origin", "referer", "te", "upgrade", "trailer", "http2-settings", "if-none-match",
            "if-modified-since", "if-match", "if-unmodified-since", "range", "date", "dnt", "priority",
            "sec-fetch-site", "sec-fetch-mode", "sec-fetch-dest", "sec-fetch-user", "sec-ch-ua", "sec-ch-ua-mobile",
            "sec-ch-ua-platform", "upgrade-insecure-requests", "x-requested-with", "x-csrf-token",
            "grpc-timeout", "grpc-encoding", "grpc-accept-encoding", "content-disposition",
            "access-control-request-method", "access-control-request-headers", "x-amzn-trace-id"};
        private static final int MASK = 255;
        private static final String[] TABLE = new String[MASK + 1];
        private static final byte[][] TABLE_BYTES = new byte[MASK + 1][];

        private static final String[] METHODS = {"GET", "POST", "PUT", "DELETE", "HEAD", "OPTIONS", "PATCH",
            "CONNECT", "TRACE"};
        private static final byte[][] METHOD_BYTES = new byte[METHODS.length][];

        static {
            for (int c = '0'; c <= '9'; c++) {
                TOKEN_LOWER[c] = (byte) c;
            }
            for (int c = 'a'; c <= 'z'; c++) {
                TOKEN_LOWER[c] = (byte) c;
                TOKEN_LOWER[c - 'a' + 'A'] = (byte) c;
            }
            for (char c : "!#$%&'*+-.^_`|~".toCharArray()) {
                TOKEN_LOWER[c] = (byte) c;
            }
            for (String name : NAMES) {
                byte[] bytes = name.getBytes(StandardCharsets.US_ASCII);
                int hash = 0;
                for (byte b : bytes) {
                    if (TOKEN_LOWER[b & 0xff] != b) {
                        throw new ExceptionInInitializerError("not a lower-case token: " + name);
                    }
                    hash = 31 * hash + b;
                }
                int slot = slot(hash);
                while (TABLE[slot] != null) {
                    slot = slot + 1 & MASK;
                }
                TABLE[slot] = name;
                TABLE_BYTES[slot] = bytes;
            }
            for (int i = 0; i < METHODS.length; i++) {
                METHOD_BYTES[i] = METHODS[i].getBytes(StandardCharsets.US_ASCII);
            }
        }

        private static int slot(int hash) {
            return (hash ^ hash >>> 8 ^ hash >>> 16) & MASK;
        }

        /** The constant for the lower-case name in {@code a[from..to)} whose hash is {@code hash}, or null. */
        static String lookup(byte[] a, int from, int to, int hash) {
            for (int slot = slot(hash); TABLE[slot] != null; slot = slot + 1 & MASK) {
                byte[] candidate = TABLE_BYTES[slot];
                if (Arrays.equals(candidate, 0, candidate.length, a, from, to)) {
                    return TABLE[slot];
                }
            }
            return null;
        }

        /** The method in {@code a[from..to)}, a constant when it is a standard one (methods are case-sensitive). */
        static String method(byte[] a, int from, int to) {
            for (int i = 0; i < METHODS.length; i++) {
                byte[] m = METHOD_BYTES[i];
                if (m.length == to - from && Arrays.equals(m, 0, m.length, a, from, to)) {
                    return METHODS[i];
                }
            }
            return new String(a, from, to - from, StandardCharsets.ISO_8859_1);
        }
    }
}
