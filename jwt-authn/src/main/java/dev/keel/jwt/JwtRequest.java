package dev.keel.jwt;

import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;

/**
 * The parts of a request a JWT can be found in, independent of any HTTP library: the proxy adapts
 * its own request object to this interface (no copy needed), tests use {@link #builder()}.
 *
 * <p>Implementations are read from the thread that calls {@link JwtAuthenticator#authenticate};
 * they are not retained after that call returns.
 */
public interface JwtRequest {

    /** The values of header {@code lowerCaseName} in arrival order, or an empty list. */
    List<String> headers(String lowerCaseName);

    /** The decoded values of query parameter {@code name} in arrival order, or an empty list. */
    List<String> queryParams(String name);

    /** The values of cookie {@code name}, read from every {@code cookie} header (RFC 6265 section 4.2). */
    default List<String> cookies(String name) {
        List<String> found = new ArrayList<>(1);
        for (String header : headers("cookie")) {
            for (String pair : header.split(";")) {
                int eq = pair.indexOf('=');
                if (eq > 0 && pair.substring(0, eq).trim().equals(name)) {
                    String value = pair.substring(eq + 1).trim();
                    if (value.length() >= 2 && value.startsWith("\"") && value.endsWith("\"")) {
                        value = value.substring(1, value.length() - 1);
                    }
                    found.add(value);
                }
            }
        }
        return found;
    }

    /** A builder for a map-backed request. */
    static Builder builder() {
        return new Builder();
    }

    /** Builds a map-backed {@link JwtRequest}. Not thread-safe; the request it builds is immutable. */
    final class Builder {

        private final Map<String, List<String>> headers = new LinkedHashMap<>();
        private final Map<String, List<String>> params = new LinkedHashMap<>();

        Builder() {
        }

        /** Adds a header value; names are case-insensitive. */
        public Builder header(String name, String value) {
            Objects.requireNonNull(name, "name");
            Objects.requireNonNull(value, "value");
            headers.computeIfAbsent(name.toLowerCase(Locale.ROOT), k -> new ArrayList<>()).add(value);
            return this;
        }

        /** Adds a decoded query parameter value. */
        public Builder queryParam(String name, String value) {
            Objects.requireNonNull(name, "name");
            Objects.requireNonNull(value, "value");
            params.computeIfAbsent(name, k -> new ArrayList<>()).add(value);
            return this;
        }

        /** Adds the parameters of a raw (percent-encoded) query string such as {@code a=1&b=2}. */
        public Builder rawQuery(String query) {
            Objects.requireNonNull(query, "query");
            for (String pair : query.split("&")) {
                if (pair.isEmpty()) {
                    continue;
                }
                int eq = pair.indexOf('=');
                String name = eq < 0 ? pair : pair.substring(0, eq);
                String value = eq < 0 ? "" : pair.substring(eq + 1);
                queryParam(URLDecoder.decode(name, StandardCharsets.UTF_8), URLDecoder.decode(value, StandardCharsets.UTF_8));
            }
            return this;
        }

        /** Adds a cookie, as a {@code cookie} header. */
        public Builder cookie(String name, String value) {
            return header("cookie", Objects.requireNonNull(name, "name") + "=" + Objects.requireNonNull(value, "value"));
        }

        public JwtRequest build() {
            Map<String, List<String>> h = copy(headers);
            Map<String, List<String>> p = copy(params);
            return new JwtRequest() {
                @Override
                public List<String> headers(String lowerCaseName) {
                    return h.getOrDefault(lowerCaseName, List.of());
                }

                @Override
                public List<String> queryParams(String name) {
                    return p.getOrDefault(name, List.of());
                }
            };
        }

        private static Map<String, List<String>> copy(Map<String, List<String>> source) {
            Map<String, List<String>> copy = new LinkedHashMap<>();
            source.forEach((k, v) -> copy.put(k, List.copyOf(v)));
            return Map.copyOf(copy);
        }
    }
}
