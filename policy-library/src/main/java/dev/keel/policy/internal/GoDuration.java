package dev.keel.policy.internal;

import java.time.Duration;

/**
 * Durations in Go's {@code time.ParseDuration} syntax, which the CRD's {@code duration()} check uses:
 * an optional sign, then one or more decimal numbers with a unit ({@code ns}, {@code us}, {@code µs},
 * {@code ms}, {@code s}, {@code m}, {@code h}), e.g. {@code 10s}, {@code 1.5s}, {@code 1m30s}; {@code 0}
 * alone needs no unit. Protobuf's JSON form ({@code "1.5s"}) is a subset.
 */
final class GoDuration {

    private static final long MAX = Long.MAX_VALUE;

    private GoDuration() {
    }

    /** The duration, or null when {@code text} is not one (or overflows Go's int64 nanoseconds). */
    static Duration parse(String text) {
        String s = text;
        boolean negative = false;
        if (!s.isEmpty() && (s.charAt(0) == '-' || s.charAt(0) == '+')) {
            negative = s.charAt(0) == '-';
            s = s.substring(1);
        }
        if (s.equals("0")) {
            return Duration.ZERO;
        }
        if (s.isEmpty()) {
            return null;
        }
        long total = 0;
        int i = 0;
        while (i < s.length()) {
            char c = s.charAt(i);
            if (!(c == '.' || isDigit(c))) {
                return null;
            }
            int start = i;
            long whole = 0;
            for (; i < s.length() && isDigit(s.charAt(i)); i++) {
                if (whole > (MAX - 9) / 10) {
                    return null;
                }
                whole = whole * 10 + (s.charAt(i) - '0');
            }
            boolean pre = i > start;
            long fraction = 0;
            double scale = 1;
            boolean post = false;
            if (i < s.length() && s.charAt(i) == '.') {
                i++;
                int fractionStart = i;
                boolean overflow = false;
                for (; i < s.length() && isDigit(s.charAt(i)); i++) {
                    if (overflow) {
                        continue;
                    }
                    if (fraction > (MAX - 9) / 10) {
                        overflow = true;
                        continue;
                    }
                    fraction = fraction * 10 + (s.charAt(i) - '0');
                    scale *= 10;
                }
                post = i > fractionStart;
            }
            if (!pre && !post) {
                return null;
            }
            int unitStart = i;
            for (; i < s.length(); i++) {
                char u = s.charAt(i);
                if (u == '.' || isDigit(u)) {
                    break;
                }
            }
            long unit = unit(s.substring(unitStart, i));
            if (unit == 0) {
                return null;
            }
            if (whole > MAX / unit) {
                return null;
            }
            long v = whole * unit;
            if (fraction > 0) {
                v += (long) (fraction * (unit / scale));
                if (v < 0) {
                    return null;
                }
            }
            total += v;
            if (total < 0) {
                return null;
            }
        }
        return Duration.ofNanos(negative ? -total : total);
    }

    private static long unit(String u) {
        switch (u) {
            case "ns":
                return 1L;
            case "us":
            case "\u00b5s":
            case "\u03bcs":
                return 1_000L;
            case "ms":
                return 1_000_000L;
            case "s":
                return 1_000_000_000L;
            case "m":
                return 60_000_000_000L;
            case "h":
                return 3_600_000_000_000L;
            default:
                return 0;
        }
    }

    private static boolean isDigit(char c) {
        return c >= '0' && c <= '9';
    }
}
