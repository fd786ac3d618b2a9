package dev.keel.proxy.http;

/** Byte classes of HTTP/1.1 syntax (RFC 9110 section 5.6, RFC 9112), shared by the request and response parsers. */
public final class HttpBytes {

    private HttpBytes() {
    }

    /** The value of a hex digit, or -1. */
    public static int hexValue(byte b) {
        if (b >= '0' && b <= '9') {
            return b - '0';
        }
        if (b >= 'a' && b <= 'f') {
            return b - 'a' + 10;
        }
        if (b >= 'A' && b <= 'F') {
            return b - 'A' + 10;
        }
        return -1;
    }

    /** Optional whitespace: SP or HTAB. */
    public static boolean isOws(byte b) {
        return b == ' ' || b == '\t';
    }

    public static boolean isDigit(byte b) {
        return b >= '0' && b <= '9';
    }
}
