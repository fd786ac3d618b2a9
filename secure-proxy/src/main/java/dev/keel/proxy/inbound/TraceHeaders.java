package dev.keel.proxy.inbound;

import java.util.concurrent.ThreadLocalRandom;

/**
 * {@code x-request-id} and W3C {@code traceparent}: passed on when well-formed, generated otherwise.
 * On every request, so checked and generated without regular expressions, formatters or
 * {@code SecureRandom}: ids only need to be unique enough to correlate logs (Envoy uses its fast
 * random generator for {@code x-request-id} too), not unpredictable.
 */
final class TraceHeaders {

    private static final char[] HEX = "0123456789abcdef".toCharArray();
    private static final int TRACEPARENT_LENGTH = 55;

    private TraceHeaders() {
    }

    /** {@code value} if it is a usable request id (1-128 of {@code A-Za-z0-9._:-}), else a new random UUID. */
    static String requestId(String value) {
        return value != null && isRequestId(value) ? value : randomUuid();
    }

    /** {@code value} if it is a valid version-00-compatible traceparent, else a new sampled one. */
    static String traceparent(String value) {
        if (value != null && isTraceparent(value)) {
            return value;
        }
        ThreadLocalRandom r = ThreadLocalRandom.current();
        char[] c = new char[TRACEPARENT_LENGTH];
        c[0] = '0';
        c[1] = '0';
        c[2] = '-';
        hex(c, 3, r.nextLong());
        hex(c, 19, r.nextLong() | 1);
        c[35] = '-';
        hex(c, 36, r.nextLong() | 1);
        c[52] = '-';
        c[53] = '0';
        c[54] = '1';
        return new String(c);
    }

    private static boolean isRequestId(String v) {
        int n = v.length();
        if (n == 0 || n > 128) {
            return false;
        }
        for (int i = 0; i < n; i++) {
            char ch = v.charAt(i);
            boolean ok = ch >= 'a' && ch <= 'z' || ch >= 'A' && ch <= 'Z' || ch >= '0' && ch <= '9'
                    || ch == '.' || ch == '_' || ch == ':' || ch == '-';
            if (!ok) {
                return false;
            }
        }
        return true;
    }

    /** {@code vv-<32 hex>-<16 hex>-ff}, lowercase, version not ff, trace id and parent id not all zero. */
    private static boolean isTraceparent(String v) {
        if (v.length() != TRACEPARENT_LENGTH || v.charAt(2) != '-' || v.charAt(35) != '-' || v.charAt(52) != '-') {
            return false;
        }
        return lowerHex(v, 0, 2) && !v.startsWith("ff") && lowerHex(v, 3, 35) && !zeros(v, 3, 35)
                && lowerHex(v, 36, 52) && !zeros(v, 36, 52) && lowerHex(v, 53, 55);
    }

    private static boolean lowerHex(String v, int from, int to) {
        for (int i = from; i < to; i++) {
            char ch = v.charAt(i);
            if (!(ch >= '0' && ch <= '9' || ch >= 'a' && ch <= 'f')) {
                return false;
            }
        }
        return true;
    }

    private static boolean zeros(String v, int from, int to) {
        for (int i = from; i < to; i++) {
            if (v.charAt(i) != '0') {
                return false;
            }
        }
        return true;
    }

    /** A version-4 UUID in its usual 8-4-4-4-12 form. */
    private static String randomUuid() {
        ThreadLocalRandom r = ThreadLocalRandom.current();
        long hi = r.nextLong() & ~0xf000L | 0x4000L;            // version 4
        long lo = r.nextLong() & 0x3fffffffffffffffL | 0x8000000000000000L; // IETF variant
        char[] c = new char[36];
        hex(c, 0, hi);
        // hex() wrote 16 digits at 0..15; spread them into 8-4-4 with dashes.
        System.arraycopy(c, 12, c, 14, 4);
        System.arraycopy(c, 8, c, 9, 4);
        c[8] = '-';
        c[13] = '-';
        char[] low = new char[16];
        hex(low, 0, lo);
        c[18] = '-';
        System.arraycopy(low, 0, c, 19, 4);
        c[23] = '-';
        System.arraycopy(low, 4, c, 24, 12);
        return new String(c);
    }

    /** 16 lowercase hex digits of {@code v} at {@code c[at..at+15]}. */
    private static void hex(char[] c, int at, long v) {
        for (int i = 15; i >= 0; i--) {
            c[at + i] = HEX[(int) (v & 0xf)];
            v >>>= 4;
        }
    }
}
