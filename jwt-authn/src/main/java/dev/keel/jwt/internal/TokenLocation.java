package dev.keel.jwt.internal;

import dev.keel.jwt.JwtRequest;
import java.util.ArrayList;
import java.util.List;

/** Where a token is carried: a header (with a prefix to strip), a query parameter or a cookie. Immutable. */
public record TokenLocation(Kind kind, String name, String prefix) {

    /** The three places Istio reads tokens from. */
    public enum Kind { HEADER, PARAM, COOKIE }

    /** The tokens at this location in {@code request}; a header value without the prefix carries none. */
    public List<String> tokens(JwtRequest request) {
        List<String> values;
        switch (kind) {
            case HEADER:
                values = request.headers(name);
                break;
            case PARAM:
                values = request.queryParams(name);
                break;
            default:
                values = request.cookies(name);
                break;
        }
        if (values.isEmpty()) {
            return List.of();
        }
        if (values.size() == 1) {
            String token = token(values.get(0));
            return token == null ? List.of() : List.of(token);
        }
        List<String> tokens = new ArrayList<>(values.size());
        for (String value : values) {
            String token = token(value);
            if (token != null) {
                tokens.add(token);
            }
        }
        return tokens;
    }

    /** The token in one value, or null when the value lacks the prefix. */
    private String token(String value) {
        if (prefix.isEmpty()) {
            return value.strip();
        }
        if (!value.regionMatches(true, 0, prefix, 0, prefix.length())) {
            return null;
        }
        return value.substring(prefix.length()).strip();
    }

    @Override
    public String toString() {
        return kind.name().toLowerCase(java.util.Locale.ROOT) + " " + name + (prefix.isEmpty() ? "" : " (prefix \"" + prefix + "\")");
    }
}
