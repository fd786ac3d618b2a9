package dev.keel.proxy.inbound;

import java.util.UUID;
import java.util.concurrent.ThreadLocalRandom;
import java.util.regex.Pattern;

/** {@code x-request-id} and W3C {@code traceparent}: passed on when well-formed, generated otherwise. */
final class TraceHeaders {

    private static final Pattern TRACEPARENT = Pattern.compile("([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})");
    private static final Pattern REQUEST_ID = Pattern.compile("[A-Za-z0-9._:\\-]{1,128}");

    private TraceHeaders() {
    }

    /** {@code value} if it is a usable request id, else a new random UUID. */
    static String requestId(String value) {
        return value != null && REQUEST_ID.matcher(value).matches() ? value : UUID.randomUUID().toString();
    }

    /** {@code value} if it is a valid version-00-compatible traceparent, else a new sampled one. */
    static String traceparent(String value) {
        if (value != null) {
            var m = TRACEPARENT.matcher(value);
            if (m.matches() && !m.group(1).equals("ff") && !m.group(2).equals("0".repeat(32))
                    && !m.group(3).equals("0".repeat(16))) {
                return value;
            }
        }
        ThreadLocalRandom r = ThreadLocalRandom.current();
        return String.format("00-%016x%016x-%016x-01", r.nextLong(), r.nextLong() | 1, r.nextLong() | 1);
    }
}
