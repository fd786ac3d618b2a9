package dev.keel.proxy.outbound;

import dev.keel.identity.SpiffeId;
import java.net.InetSocketAddress;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;

/**
 * Where the outbound listener sends a request: the destination the app addressed ({@code host:port}
 * from the Host header, port 80 when absent) maps to the address of the destination's inbound proxy
 * and the SPIFFE IDs that proxy may present ("secure naming"). Immutable and thread-safe; a config
 * change builds a new table.
 */
public final class RouteTable {

    /**
     * One destination.
     *
     * @param destination {@code host:port} as the app addresses it, lower case
     * @param upstream the destination's inbound proxy
     * @param allowedIds the identities the upstream may present; any other fails the request
     */
    public record Route(String destination, InetSocketAddress upstream, Set<SpiffeId> allowedIds) {

        public Route {
            Objects.requireNonNull(destination, "destination");
            Objects.requireNonNull(upstream, "upstream");
            allowedIds = Set.copyOf(allowedIds);
            if (allowedIds.isEmpty()) {
                throw new IllegalArgumentException("route " + destination
                        + ": no allowed SPIFFE IDs (expected: at least one; secure naming cannot be skipped)");
            }
        }
    }

    private static final RouteTable EMPTY = new RouteTable(Map.of());

    private final Map<String, Route> routes;

    private RouteTable(Map<String, Route> routes) {
        this.routes = Map.copyOf(routes);
    }

    public static RouteTable empty() {
        return EMPTY;
    }

    public static Builder builder() {
        return new Builder();
    }

    /** The route for a Host header value ({@code host} or {@code host:port}); empty when none. */
    public Optional<Route> find(String host) {
        if (host == null || host.isEmpty()) {
            return Optional.empty();
        }
        return Optional.ofNullable(routes.get(normalize(host)));
    }

    public List<Route> routes() {
        return List.copyOf(routes.values());
    }

    static String normalize(String host) {
        String lower = host.trim().toLowerCase(Locale.ROOT);
        int close = lower.lastIndexOf(']');
        int colon = lower.lastIndexOf(':');
        boolean hasPort = colon > close && (close >= 0 || lower.indexOf(':') == colon);
        return hasPort ? lower : lower + ":80";
    }

    @Override
    public String toString() {
        return "RouteTable" + routes.values();
    }

    /** Builds a {@link RouteTable}; a destination may appear once. */
    public static final class Builder {

        private final Map<String, Route> routes = new LinkedHashMap<>();

        Builder() {
        }

        public Builder route(String host, int port, InetSocketAddress upstream, SpiffeId... allowedIds) {
            Objects.requireNonNull(host, "host");
            if (host.isEmpty()) {
                throw new IllegalArgumentException("host: empty");
            }
            if (port < 1 || port > 65535) {
                throw new IllegalArgumentException("port: " + port + " (expected: 1..65535)");
            }
            String destination = host.toLowerCase(Locale.ROOT) + ":" + port;
            Route route = new Route(destination, upstream, Set.of(allowedIds));
            if (routes.putIfAbsent(destination, route) != null) {
                throw new IllegalArgumentException("route " + destination + ": declared twice");
            }
            return this;
        }

        public RouteTable build() {
            return new RouteTable(routes);
        }
    }
}
