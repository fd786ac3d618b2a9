package dev.keel.proxy.upstream;

import static dev.keel.proxy.http.HttpBytes.hexValue;
import static dev.keel.proxy.http.HttpBytes.isDigit;
import static dev.keel.proxy.http.HttpBytes.isOws;

import dev.keel.proxy.http.HeaderList;
import dev.keel.proxy.http.UpstreamResponse;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.Unpooled;
import java.io.IOException;
import java.nio.charset.StandardCharsets;

/**
 * Parses the responses of one connection to the app straight from its bytes, one response per request:
 * status line, header fields, then the body, dechunked or read to its length or to the end of the
 * connection, into one buffer. Interim 1xx responses are skipped (101 is refused: nothing on this path
 * can switch protocols). Shapes that let two parties disagree on where a response ends (both
 * Content-Length and Transfer-Encoding, two different lengths, obs-fold, a malformed line) fail with an
 * {@link IOException}; the caller then closes the connection, as it must not guess where the next
 * response starts.
 *
 * <p>Not thread-safe: one per connection, used on its event loop. The caller keeps the bytes that
 * have not been consumed yet and offers them again, with more, on the next read.
 */
final class Http1ResponseDecoder {

    /** Status line and header fields of one response (and, separately, its trailer block). */
    static final int MAX_HEADER_BLOCK_BYTES = 64 * 1024;
    /** A chunk-size line with its extensions; the extensions are ignored, so a long one is abuse. */
    private static final int MAX_CHUNK_LINE_BYTES = 4 * 1024;
    /** A body of unknown length starts this big and grows; most bodies of unknown length are small. */
    private static final int INITIAL_UNKNOWN_BODY_BYTES = 1024;

    private static final byte[] CONTENT_LENGTH = ascii("content-length");
    private static final byte[] TRANSFER_ENCODING = ascii("transfer-encoding");
    private static final byte[] CONNECTION = ascii("connection");
    private static final byte[] HTTP_1 = ascii("HTTP/1.");
    private static final byte[] CHUNKED = ascii("chunked");
    private static final byte[] CLOSE = ascii("close");
    private static final byte[] KEEP_ALIVE = ascii("keep-alive");

    /**
     * Names most responses carry, so parsing them allocates no string. Lower-case, as HeaderList keeps
     * them; a received name is matched ignoring case.
     */
    private static final String[] COMMON_NAMES = {
        "content-type", "date", "server", "connection", "cache-control", "etag", "last-modified", "vary",
        "location", "set-cookie", "content-encoding", "keep-alive", "expires", "accept-ranges", "x-request-id",
    };
    private static final byte[][] COMMON_NAME_BYTES = new byte[COMMON_NAMES.length][];

    /** RFC 9110 tchar: the bytes allowed in a field name. */
    private static final boolean[] TCHAR = new boolean[256];

    static {
        for (int i = 0; i < COMMON_NAMES.length; i++) {
            COMMON_NAME_BYTES[i] = ascii(COMMON_NAMES[i]);
        }
        for (char c = '0'; c <= '9'; c++) {
            TCHAR[c] = true;
        }
        for (char c = 'a'; c <= 'z'; c++) {
            TCHAR[c] = true;
            TCHAR[c - 'a' + 'A'] = true;
        }
        for (char c : "!#$%&'*+-.^_`|~".toCharArray()) {
            TCHAR[c] = true;
        }
    }

    private enum State { STATUS_LINE, HEADERS, FIXED_BODY, CHUNK_SIZE, CHUNK_DATA, CHUNK_END, TRAILERS, UNTIL_CLOSE }

    private final int maxBodyBytes;
    /** The content of the last line read, without its CR LF; grows to the longest line seen. */
    private byte[] line = new byte[256];
    private int lineLength;

    private State state = State.STATUS_LINE;
    private boolean headRequest;

    /** Bytes of the line being read that were already searched for LF, so a split line is not searched twice. */
    private int scanned;
    /** Bytes of the current header block, trailer block or chunk line consumed so far. */
    private int blockBytes;

    // The response being read.
    private int status;
    private String reason;
    private boolean http11;
    private HeaderList headers;
    private long contentLength;
    private boolean transferEncoding;
    private boolean closeToken;
    private boolean keepAliveToken;
    private boolean keepAlive;
    private ByteBuf body;
    private long remaining;

    Http1ResponseDecoder(int maxBodyBytes) {
        if (maxBodyBytes <= 0) {
            throw new IllegalArgumentException("maxBodyBytes: " + maxBodyBytes + " (expected: > 0)");
        }
        this.maxBodyBytes = maxBodyBytes;
        resetMessage();
    }

    /** Prepares for the response to a new request; {@code headRequest}: that response has no body. */
    void reset(boolean headRequest) {
        discard();
        this.headRequest = headRequest;
        state = State.STATUS_LINE;
        scanned = 0;
        resetMessage();
    }

    /** Releases the body read so far, if any (the response failed or the connection is gone). */
    void discard() {
        if (body != null) {
            body.release();
            body = null;
        }
    }

    /** Whether the response being read ends only when the app closes the connection. */
    boolean readsUntilClose() {
        return state == State.UNTIL_CLOSE;
    }

    /** Whether the connection may carry another request after the response {@link #decode} just returned. */
    boolean keepAlive() {
        return keepAlive;
    }

    /**
     * Consumes bytes of {@code in} and returns the response once it is whole (the bytes after it are left
     * in {@code in}), or null when more bytes are needed. The returned body belongs to the caller.
     *
     * @throws IOException the response is malformed or too large; the connection cannot be used any more
     */
    UpstreamResponse decode(ByteBufAllocator alloc, ByteBuf in) throws IOException {
        for (;;) {
            switch (state) {
                case STATUS_LINE -> {
                    if (!readLine(in, MAX_HEADER_BLOCK_BYTES, "status line and header fields")) {
                        return null;
                    }
                    parseStatusLine();
                    state = State.HEADERS;
                }
                case HEADERS -> {
                    if (!readLine(in, MAX_HEADER_BLOCK_BYTES, "status line and header fields")) {
                        return null;
                    }
                    if (lineLength != 0) {
                        parseField();
                    } else {
                        UpstreamResponse done = endOfHeaders(alloc, in);
                        if (done != null) {
                            return done;
                        }
                    }
                }
                case FIXED_BODY -> {
                    int n = (int) Math.min(remaining, in.readableBytes());
                    body.writeBytes(in, n);
                    remaining -= n;
                    if (remaining > 0) {
                        return null;
                    }
                    return complete(takeBody());
                }
                case CHUNK_SIZE -> {
                    if (!readLine(in, MAX_CHUNK_LINE_BYTES, "chunk-size line")) {
                        return null;
                    }
                    blockBytes = 0;
                    long size = parseChunkSize();
                    if (size == 0) {
                        state = State.TRAILERS;
                    } else {
                        long total = (body == null ? 0 : body.writerIndex()) + size;
                        if (total > maxBodyBytes) {
                            throw tooLarge();
                        }
                        if (body == null) {
                            // The first chunk's size is the best guess there is for the whole body.
                            body = alloc.buffer((int) size, maxBodyBytes);
                        }
                        remaining = size;
                        state = State.CHUNK_DATA;
                    }
                }
                case CHUNK_DATA -> {
                    int n = (int) Math.min(remaining, in.readableBytes());
                    body.writeBytes(in, n);
                    remaining -= n;
                    if (remaining > 0) {
                        return null;
                    }
                    state = State.CHUNK_END;
                }
                case CHUNK_END -> {
                    if (!readLine(in, MAX_CHUNK_LINE_BYTES, "chunk")) {
                        return null;
                    }
                    if (lineLength != 0) {
                        throw bad("chunk data longer than its chunk size");
                    }
                    blockBytes = 0;
                    state = State.CHUNK_SIZE;
                }
                case TRAILERS -> {
                    if (!readLine(in, MAX_HEADER_BLOCK_BYTES, "trailer fields")) {
                        return null;
                    }
                    if (lineLength == 0) {
                        return complete(takeBody());
                    }
                    // Trailer fields are dropped: the proxy forwards a whole body with its own framing.
                }
                case UNTIL_CLOSE -> {
                    int n = in.readableBytes();
                    if (n == 0) {
                        return null;
                    }
                    if ((long) (body == null ? 0 : body.writerIndex()) + n > maxBodyBytes) {
                        throw tooLarge();
                    }
                    if (body == null) {
                        body = alloc.buffer(Math.min(Math.max(n, INITIAL_UNKNOWN_BODY_BYTES), maxBodyBytes),
                                maxBodyBytes);
                    }
                    body.writeBytes(in, n);
                    return null;
                }
                default -> throw new IllegalStateException(state.name());
            }
        }
    }

    /** The connection ended while the body was being read to its end: that end is the response's end. */
    UpstreamResponse finishOnClose() {
        if (state != State.UNTIL_CLOSE) {
            throw new IllegalStateException("the response is not delimited by the connection's end");
        }
        keepAlive = false;
        return complete(takeBody());
    }

    /**
     * Finds the next line (ending in LF, optionally CR LF as RFC 9112 section 2.2 lets a recipient accept),
     * consumes it and copies its content into {@link #line}, or returns false when it is not all there yet.
     * Parsing then reads an array: one bulk copy per line instead of a checked buffer access per byte.
     */
    private boolean readLine(ByteBuf in, int limit, String what) throws IOException {
        int start = in.readerIndex();
        int lf = in.indexOf(start + scanned, in.writerIndex(), (byte) '\n');
        if (lf < 0) {
            scanned = in.readableBytes();
            if (blockBytes + scanned > limit) {
                throw bad(what + " longer than " + limit + " bytes");
            }
            return false;
        }
        scanned = 0;
        blockBytes += lf + 1 - start;
        if (blockBytes > limit) {
            throw bad(what + " longer than " + limit + " bytes");
        }
        int end = lf > start && in.getByte(lf - 1) == '\r' ? lf - 1 : lf;
        lineLength = end - start;
        if (line.length < lineLength) {
            line = new byte[Math.max(lineLength, line.length * 2)];
        }
        in.getBytes(start, line, 0, lineLength);
        in.readerIndex(lf + 1);
        return true;
    }

    /** {@code HTTP/1.x SP 3DIGIT SP reason}; the reason may be empty and, with its space, missing. */
    private void parseStatusLine() throws IOException {
        byte[] l = line;
        int length = lineLength;
        if (length < 12 || !startsWith(l, HTTP_1) || !isDigit(l[7]) || l[8] != ' ' || !isDigit(l[9])
                || !isDigit(l[10]) || !isDigit(l[11]) || length > 12 && l[12] != ' ') {
            throw bad("malformed status line");
        }
        http11 = l[7] != '0';
        status = (l[9] - '0') * 100 + (l[10] - '0') * 10 + (l[11] - '0');
        if (status < 100) {
            throw bad("status code " + status + " out of range");
        }
        if (length <= 13) {
            reason = "";
        } else {
            checkFieldContent(13, length, "reason phrase");
            reason = length == 15 && l[13] == 'O' && l[14] == 'K' ? "OK" : string(13, length - 13);
        }
        // An interim response's fields are checked but not kept.
        headers = status >= 200 ? new HeaderList() : null;
    }

    private void parseField() throws IOException {
        byte[] l = line;
        int end = lineLength;
        if (l[0] == ' ' || l[0] == '\t') {
            throw bad("obs-fold (a header line starting with whitespace) is not accepted");
        }
        int colon = 0;
        while (colon < end) {
            byte b = l[colon];
            if (b == ':') {
                break;
            }
            if (!TCHAR[b & 0xff]) {
                throw bad("invalid character 0x" + Integer.toHexString(b & 0xff) + " in a header name");
            }
            colon++;
        }
        if (colon == end) {
            throw bad("header line without a colon");
        }
        if (colon == 0) {
            throw bad("empty header name");
        }
        int vs = colon + 1;
        int ve = end;
        while (vs < ve && isOws(l[vs])) {
            vs++;
        }
        while (ve > vs && isOws(l[ve - 1])) {
            ve--;
        }
        checkFieldContent(vs, ve, "header value");
        if (equalsLowerCase(0, colon, CONTENT_LENGTH)) {
            parseContentLength(vs, ve);
        } else if (equalsLowerCase(0, colon, TRANSFER_ENCODING)) {
            parseTransferEncoding(vs, ve);
        } else {
            if (equalsLowerCase(0, colon, CONNECTION)) {
                parseConnection(vs, ve);
            }
            if (headers != null) {
                headers.add(name(colon), string(vs, ve - vs));
            }
        }
    }

    /** A list of equal decimal lengths is one length (RFC 9110 section 8.6); two different ones are an error. */
    private void parseContentLength(int from, int to) throws IOException {
        byte[] l = line;
        int i = from;
        do {
            while (i < to && isOws(l[i])) {
                i++;
            }
            int digits = 0;
            long value = 0;
            while (i < to && isDigit(l[i])) {
                if (++digits > 18) {
                    throw bad("content-length too long");
                }
                value = value * 10 + l[i] - '0';
                i++;
            }
            while (i < to && isOws(l[i])) {
                i++;
            }
            if (digits == 0 || i < to && l[i] != ',') {
                throw bad("malformed content-length");
            }
            if (contentLength >= 0 && contentLength != value) {
                throw bad("two different content-length values");
            }
            contentLength = value;
            i++;
        } while (i < to);
    }

    /**
     * Only {@code chunked}, once: another coding would reach the client without the header that names it,
     * and {@code chunked} twice or not last cannot be framed (RFC 9112 section 6.3).
     */
    private void parseTransferEncoding(int from, int to) throws IOException {
        if (transferEncoding || !equalsLowerCase(from, to - from, CHUNKED)) {
            throw bad("unsupported transfer-encoding (only a single chunked is accepted)");
        }
        transferEncoding = true;
    }

    private void parseConnection(int from, int to) {
        byte[] l = line;
        int i = from;
        while (i < to) {
            while (i < to && (isOws(l[i]) || l[i] == ',')) {
                i++;
            }
            int start = i;
            while (i < to && l[i] != ',' && !isOws(l[i])) {
                i++;
            }
            if (equalsLowerCase(start, i - start, CLOSE)) {
                closeToken = true;
            } else if (equalsLowerCase(start, i - start, KEEP_ALIVE)) {
                keepAliveToken = true;
            }
        }
    }

    /** Chunk size in hex, then optional extensions after {@code ;}, which are ignored. */
    private long parseChunkSize() throws IOException {
        byte[] l = line;
        int end = lineLength;
        int i = 0;
        long size = 0;
        while (i < end) {
            int d = hexValue(l[i]);
            if (d < 0) {
                break;
            }
            if (i == 15) {
                throw tooLarge();
            }
            size = size << 4 | d;
            i++;
        }
        int digits = i;
        while (i < end && isOws(l[i])) {
            i++;
        }
        if (digits == 0 || i < end && l[i] != ';') {
            throw bad("malformed chunk size");
        }
        checkFieldContent(i, end, "chunk extension");
        return size;
    }

    private UpstreamResponse endOfHeaders(ByteBufAllocator alloc, ByteBuf in) throws IOException {
        if (status < 200) {
            if (status == 101) {
                throw bad("101 Switching Protocols is not supported on this connection");
            }
            // 100 Continue, 103 Early Hints and the like: the final response follows.
            resetMessage();
            state = State.STATUS_LINE;
            return null;
        }
        if (transferEncoding && contentLength >= 0) {
            throw bad("both content-length and transfer-encoding");
        }
        keepAlive = http11 ? !closeToken : keepAliveToken && !closeToken;
        if (headRequest || status == 204 || status == 304) {
            if (status != 204 && contentLength >= 0 && headers != null) {
                // HEAD and 304 announce the length of a body they do not carry; the client needs it as sent.
                headers.add("content-length", Long.toString(contentLength));
            }
            return complete(Unpooled.EMPTY_BUFFER);
        }
        if (transferEncoding) {
            blockBytes = 0;
            state = State.CHUNK_SIZE;
            return null;
        }
        if (contentLength >= 0) {
            if (contentLength > maxBodyBytes) {
                throw tooLarge();
            }
            if (contentLength == 0) {
                return complete(Unpooled.EMPTY_BUFFER);
            }
            if (in.readableBytes() >= contentLength) {
                // The whole body came with the head: share the read buffer rather than copy it.
                return complete(in.readRetainedSlice((int) contentLength));
            }
            body = alloc.buffer((int) contentLength, (int) contentLength);
            remaining = contentLength;
            state = State.FIXED_BODY;
            return null;
        }
        keepAlive = false;
        state = State.UNTIL_CLOSE;
        return null;
    }

    private ByteBuf takeBody() {
        ByteBuf b = body;
        body = null;
        return b == null ? Unpooled.EMPTY_BUFFER : b;
    }

    private UpstreamResponse complete(ByteBuf content) {
        UpstreamResponse response = new UpstreamResponse(status, reason, headers, content);
        boolean reuse = keepAlive;
        resetMessage();
        keepAlive = reuse;
        state = State.STATUS_LINE;
        return response;
    }

    private void resetMessage() {
        blockBytes = 0;
        status = 0;
        reason = null;
        http11 = false;
        headers = null;
        contentLength = -1;
        transferEncoding = false;
        closeToken = false;
        keepAliveToken = false;
        keepAlive = false;
        remaining = 0;
    }

    /** Field content (RFC 9110 section 5.5): visible ASCII, obs-text, SP and HTAB; no other control byte. */
    private void checkFieldContent(int from, int to, String what) throws IOException {
        byte[] l = line;
        for (int i = from; i < to; i++) {
            int b = l[i] & 0xff;
            if (b < 0x20 && b != '\t' || b == 0x7f) {
                throw bad("control character 0x" + Integer.toHexString(b) + " in a " + what);
            }
        }
    }

    /** The lower-cased name in {@code line[0, length)}: a shared constant for a common one. */
    private String name(int length) {
        for (int i = 0; i < COMMON_NAME_BYTES.length; i++) {
            if (equalsLowerCase(0, length, COMMON_NAME_BYTES[i])) {
                return COMMON_NAMES[i];
            }
        }
        byte[] l = line;
        for (int i = 0; i < length; i++) {
            byte b = l[i];
            if (b >= 'A' && b <= 'Z') {
                l[i] = (byte) (b + ('a' - 'A'));
            }
        }
        return string(0, length);
    }

    private String string(int from, int length) {
        return new String(line, from, length, StandardCharsets.ISO_8859_1);
    }

    /** Whether {@code line[from, from + length)} is {@code lower} ignoring ASCII case. */
    private boolean equalsLowerCase(int from, int length, byte[] lower) {
        if (length != lower.length) {
            return false;
        }
        byte[] l = line;
        for (int i = 0; i < length; i++) {
            byte b = l[from + i];
            if (b != lower[i] && (b < 'A' || b > 'Z' || b + ('a' - 'A') != lower[i])) {
                return false;
            }
        }
        return true;
    }

    private static boolean startsWith(byte[] l, byte[] prefix) {
        for (int i = 0; i < prefix.length; i++) {
            if (l[i] != prefix[i]) {
                return false;
            }
        }
        return true;
    }

    private IOException tooLarge() {
        return new IOException("the response body from the app is larger than the limit of " + maxBodyBytes + " bytes");
    }

    private static IOException bad(String what) {
        return new IOException("bad response from the app: " + what);
    }

    private static byte[] ascii(String s) {
        return s.getBytes(StandardCharsets.US_ASCII);
    }
}
