package dev.keel.proxy.inbound;

import dev.keel.proxy.http.HeaderList;
import io.netty.handler.codec.http2.Http2Headers;
import io.netty.util.AsciiString;
import java.util.Iterator;
import java.util.Map;

/**
 * The request head of one HTTP/2 stream, read from its HEADERS frame: the pseudo-headers checked (RFC
 * 9113 section 8.3.1), the regular fields as a {@link HeaderList}, or why the request is refused. The
 * codec has already checked what HPACK and the framing let it (lower-case names, no connection-specific
 * fields, pseudo-headers first and not mixed with response ones); this adds what the proxy relies on.
 *
 * <p>Refusals: a malformed head (a missing, empty or repeated {@code :method}, {@code :path} or
 * {@code :scheme}, an unknown pseudo-header, a {@code host} that differs from {@code :authority}) is
 * 400; {@code CONNECT} is 405, since the proxy opens no tunnels (and announces no extended CONNECT);
 * more than {@code maxHeaders} fields is 431; a {@code content-length} above the body limit is 413,
 * before any DATA is read. RFC 9113 lets a server answer a malformed request before resetting its
 * stream; an answer tells the client (and the access log) why.
 *
 * <p>{@code :authority} becomes the {@code host} field when there is none, and cookie crumbs (RFC
 * 9113 section 8.2.3) are joined into one {@code cookie} field, as the HTTP/1.1 app expects. Event loop only.
 */
final class Http2RequestHead {

    private static final AsciiString METHOD = AsciiString.cached(":method");
    private static final AsciiString PATH = AsciiString.cached(":path");
    private static final AsciiString SCHEME = AsciiString.cached(":scheme");
    private static final AsciiString AUTHORITY = AsciiString.cached(":authority");

    final String method;
    /** {@code :path}: the request target in origin form, not yet normalized. */
    final String path;
    final HeaderList headers;
    /** Bytes of method, path and fields as HTTP/1.1 would carry them, for {@code istio_request_bytes}. */
    final int headerBytes;
    /** The declared {@code content-length}, or -1. */
    final long contentLength;
    /** 0 for a request to serve, else the status it is refused with. */
    final int refusedStatus;
    /** Envoy's response flags for the refusal: {@code DPE} for a protocol error, {@code -} otherwise. */
    final String refusedFlags;
    /** Why the request is refused, for the access log (never a header value). */
    final String refusedDetail;

    private Http2RequestHead(String method, String path, HeaderList headers, long contentLength) {
        this.method = method;
        this.path = path;
        this.headers = headers;
        this.headerBytes = method.length() + path.length() + 12 + headers.wireLength();
        this.contentLength = contentLength;
        this.refusedStatus = 0;
        this.refusedFlags = null;
        this.refusedDetail = null;
    }

    private Http2RequestHead(int status, String flags, String detail) {
        this.method = null;
        this.path = null;
        this.headers = null;
        this.headerBytes = 0;
        this.contentLength = -1;
        this.refusedStatus = status;
        this.refusedFlags = flags;
        this.refusedDetail = detail;
    }

    boolean refused() {
        return refusedStatus != 0;
    }

    private static Http2RequestHead malformed(String detail) {
        return new Http2RequestHead(400, "DPE", detail);
    }

    /**
     * Reads {@code in}. Stops at the first field beyond {@code maxHeaders}, so an oversized list costs no
     * more than the limit (its bytes are already bounded by the codec's max header list size).
     */
    static Http2RequestHead read(Http2Headers in, int maxHeaders, int maxBodyBytes) {
        String method = null;
        String path = null;
        boolean scheme = false;
        String authority = null;
        String host = null;
        String cookie = null;
        String contentLength = null;
        HeaderList headers = new HeaderList(Math.min(Math.max(in.size(), 4), maxHeaders + 1));
        int fields = 0;
        for (Iterator<Map.Entry<CharSequence, CharSequence>> it = in.iterator(); it.hasNext(); ) {
            Map.Entry<CharSequence, CharSequence> e = it.next();
            CharSequence name = e.getKey();
            CharSequence value = e.getValue();
            if (name.length() > 0 && name.charAt(0) == ':') {
                if (AsciiString.contentEquals(METHOD, name)) {
                    if (method != null) {
                        return malformed("repeated :method");
                    }
                    method = value.toString();
                } else if (AsciiString.contentEquals(PATH, name)) {
                    if (path != null) {
                        return malformed("repeated :path");
                    }
                    path = value.toString();
                } else if (AsciiString.contentEquals(SCHEME, name)) {
                    if (scheme) {
                        return malformed("repeated :scheme");
                    }
                    scheme = value.length() > 0;
                    if (!scheme) {
                        return malformed("empty :scheme");
                    }
                } else if (AsciiString.contentEquals(AUTHORITY, name)) {
                    if (authority != null) {
                        return malformed("repeated :authority");
                    }
                    authority = value.toString();
                } else {
                    return malformed("unknown pseudo-header in a request");
                }
                continue;
            }
            // AsciiString caches its String: names and values HPACK indexes (the same on every request of
            // a connection) are converted once per connection, not once per request.
            String n = name.toString();
            String v = value.toString();
            if (!fieldValue(v)) {
                // HPACK carries any octet; these bytes would end the field (or the request) in the
                // HTTP/1.1 bytes sent to the app: header injection, smuggling, a forged XFCC.
                return malformed("invalid character in the value of " + n);
            }
            if (n.equals("cookie")) {
                if (cookie != null) {
                    cookie = cookie + "; " + v;
                    continue;
                }
                cookie = v;
            } else if (n.equals("host")) {
                if (host != null) {
                    return malformed("repeated host");
                }
                host = v;
            } else if (n.equals("content-length")) {
                contentLength = v;
            }
            // Cookie crumbs count as the one field they become, as HTTP/1.1 requests carry them.
            if (++fields > maxHeaders) {
                return new Http2RequestHead(431, "DPE", "more than " + maxHeaders + " header fields");
            }
            if (!n.equals("cookie")) {
                headers.add(n, v);
            }
        }
        if (method == null || method.isEmpty()) {
            return malformed("missing :method");
        }
        if (!token(method)) {
            return malformed("invalid :method");
        }
        if (method.equals("CONNECT")) {
            return new Http2RequestHead(405, "-", "CONNECT is not supported");
        }
        if (path == null || path.isEmpty()) {
            return malformed("missing :path");
        }
        if (!requestTarget(path)) {
            return malformed("invalid :path");
        }
        if (authority != null && !fieldValue(authority)) {
            return malformed("invalid :authority");
        }
        if (!scheme) {
            return malformed("missing :scheme");
        }
        if (host == null) {
            if (authority != null && !authority.isEmpty()) {
                headers.add("host", authority);
            }
        } else if (authority != null && !authority.equalsIgnoreCase(host)) {
            // Authorization sees host, the app may route on either: they must name the same thing.
            return malformed("host differs from :authority");
        }
        if (cookie != null) {
            headers.add("cookie", cookie);
        }
        long declared = -1;
        if (contentLength != null) {
            declared = parseLength(contentLength);
            if (declared < 0) {
                return malformed("invalid content-length");
            }
            if (declared > maxBodyBytes) {
                return new Http2RequestHead(413, "-", "request body over " + maxBodyBytes + " bytes");
            }
        }
        return new Http2RequestHead(method, path, headers, declared);
    }

    /** Digits only, at most 18 of them (no sign, no overflow); -1 otherwise. */
    private static long parseLength(String s) {
        if (s.isEmpty() || s.length() > 18) {
            return -1;
        }
        long n = 0;
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c < '0' || c > '9') {
                return -1;
            }
            n = n * 10 + (c - '0');
        }
        return n;
    }

    /** RFC 9113 section 8.2.1: no NUL, CR, LF (nor other controls but HTAB, nor DEL), no leading or trailing whitespace. */
    static boolean fieldValue(String v) {
        int n = v.length();
        if (n > 0 && (v.charAt(0) == ' ' || v.charAt(0) == '\t' || v.charAt(n - 1) == ' ' || v.charAt(n - 1) == '\t')) {
            return false;
        }
        for (int i = 0; i < n; i++) {
            char c = v.charAt(i);
            if (c < 0x20 && c != '\t' || c == 0x7f) {
                return false;
            }
        }
        return true;
    }

    /** A method is a token (RFC 9110 section 9.1). */
    static boolean token(String v) {
        for (int i = 0; i < v.length(); i++) {
            char c = v.charAt(i);
            if (c <= 0x20 || c >= 0x7f || "\"(),/:;<=>?@[\\]{}".indexOf(c) >= 0) {
                return false;
            }
        }
        return true;
    }

    /** The request target goes into an HTTP/1.1 request line: no whitespace, controls or DEL. */
    static boolean requestTarget(String v) {
        for (int i = 0; i < v.length(); i++) {
            char c = v.charAt(i);
            if (c <= 0x20 || c == 0x7f) {
                return false;
            }
        }
        return true;
    }
}
