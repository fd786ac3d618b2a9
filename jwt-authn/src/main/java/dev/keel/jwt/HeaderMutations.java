package dev.keel.jwt;

import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * What the proxy must change in the request before passing it on: first remove {@code removeHeaders}
 * (tokens not forwarded, and every header a rule writes, so a client cannot forge them), then set
 * {@code setHeaders} (verified payload and claims, values already sanitized), and drop the query
 * parameters and cookies that carried tokens not forwarded. Header names are lower case. Immutable.
 */
public record HeaderMutations(List<String> removeHeaders, Map<String, String> setHeaders,
        List<String> removeQueryParams, List<String> removeCookies) {

    /** No change. */
    public static final HeaderMutations NONE = new HeaderMutations(List.of(), Map.of(), List.of(), List.of());

    public HeaderMutations {
        removeHeaders = List.copyOf(Objects.requireNonNull(removeHeaders, "removeHeaders"));
        setHeaders = Map.copyOf(Objects.requireNonNull(setHeaders, "setHeaders"));
        removeQueryParams = List.copyOf(Objects.requireNonNull(removeQueryParams, "removeQueryParams"));
        removeCookies = List.copyOf(Objects.requireNonNull(removeCookies, "removeCookies"));
    }

    /** True when nothing changes. */
    public boolean isEmpty() {
        return removeHeaders.isEmpty() && setHeaders.isEmpty() && removeQueryParams.isEmpty() && removeCookies.isEmpty();
    }

    /**
     * {@code value} made safe for an HTTP header value (RFC 9110 section 5.5): control characters other than
     * horizontal tab (CR and LF included), and characters whose low byte is one, are dropped; leading and
     * trailing whitespace trimmed.
     */
    public static String sanitize(String value) {
        StringBuilder out = null;
        for (int i = 0; i < value.length(); i++) {
            char c = value.charAt(i);
            // C0 and C1 controls, DEL, and characters a truncating encoder would turn into one (U+010A -> LF).
            int low = c & 0xff;
            boolean bad = (c < 0x20 && c != '\t') || c == 0x7f || (c >= 0x80 && c <= 0x9f)
                    || (c > 0xff && (low < 0x20 || low == 0x7f));
            if (bad && out == null) {
                out = new StringBuilder(value.length()).append(value, 0, i);
            } else if (!bad && out != null) {
                out.append(c);
            }
        }
        return (out == null ? value : out.toString()).strip();
    }
}
