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
 * and the SPIFFE IDs that proxy may present ("secure naming"). TCP routes are found by their own
 * listen port instead, since opaque bytes carry no Host. Immutable and thread-safe; a config change
 * builds a new table.
 */
public final class RouteTable {

    /**
     * One destination.
     *
     * @param destination {@code host:port} as the app addresses it, lower case
     * @param upstream the destination's inbound proxy
     * @param allowedIds the identities the upstream may present; any other fails the request
     * @param protocol how to speak to the upstream
     * @param listenPort for {@link RouteProtocol#TCP}, the local port the app connects to (0: any free
     *     port, for tests); 0 and unused for HTTP routes
     */
    public record Route(String destination, InetSocketAddress upstream, Set<SpiffeId> allowedIds,
            RouteProtocol protocol, int listenPort) {

        public Route {
            Objects.requireNonNull(destination, "destination");
            Objects.requireNonNull(upstream, "upstream");
            Objects.requireNonNull(protocol, "protocol");
            allowedIds = Set.copyOf(allowedIds);
            if (allowedIds.isEmpty()) {
                throw new IllegalArgumentException("route " + destination
                        + ": no allowed SPIFFE IDs (expected: at least one; secure naming cannot be skipped)");
            }
            if (listenPort < 0 || listenPort > 65535) {
                throw new IllegalArgumentException("route " + destination + ": listenPort " + listenPort
                        + " (expected: 0..65535)");
            }
            if (protocol != RouteProtocol.TCP && listenPort != 0) {
                throw new IllegalArgumentException("route " + destination + ": listenPort " + listenPort
                        + " (expected: only on TCP routes; HTTP routes share the outbound port)");
            }
        }

        /** An HTTP route. */
        public Route(String destination, InetSocketAddress upstream, Set<SpiffeId> allowedIds) {
            this(destination, upstream, allowedIds, RouteProtocol.HTTP, 0);
        }
    }

    private static final RouteTable EMPTY = new RouteTable(Map.of());

    private final Map<String, Route> routes;
    private final List<Route> tcpRoutes;

    private RouteTable(Map<String, Route> routes) {
        this.routes = Map.copyOf(routes);
        this.tcpRoutes = routes.values().stream().filter(r -> r.protocol() == RouteProtocol.TCP).toList();
    }

    public static RouteTable empty() {
        return EMPTY;
    }

    public static Builder builder() {
        return new Builder();
    }

    /** The HTTP route for a Host header value ({@code host} or {@code host:port}); empty when none. */
    public Optional<Route> find(String host) {
        if (host == null || host.isEmpty()) {
            return Optional.empty();
        }
        Route route = routes.get(normalize(host));
        return route == null || route.protocol() == RouteProtocol.TCP ? Optional.empty() : Optional.of(route);
    }

    /** The TCP routes, each served on its own listen port, in declaration order. */
    public List<Route> tcpRoutes() {
        return tcpRoutes;
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

        /** An HTTP route (upstream protocol as the app speaks it). */
        public Builder route(String host, int port, InetSocketAddress upstream, SpiffeId... allowedIds) {
            return route(host, port, RouteProtocol.HTTP, 0, upstream, allowedIds);
        }

        /**
         * A route speaking {@code protocol} upstream; {@code listenPort} is the local port of a TCP
         * route (0 for any free one) and must be 0 otherwise.
         */
        public Builder route(String host, int port, RouteProtocol protocol, int listenPort, InetSocketAddress upstream,
                SpiffeId... allowedIds) {
            Objects.requireNonNull(host, "host");
            if (host.isEmpty()) {
                throw new IllegalArgumentException("host: empty");
            }
            if (port < 1 || port > 65535) {
                throw new IllegalArgumentException("port: " + port + " (expected: 1..65535)");
            }
            String destination = host.toLowerCase(Locale.ROOT) + ":" + port;
            Route route = new Route(destination, upstream, Set.of(allowedIds), protocol, listenPort);
            if (routes.putIfAbsent(destination, route) != null) {
                throw new IllegalArgumentException("route " + destination + ": declared twice");
            }
            if (listenPort != 0 && routes.values().stream().filter(r -> r.listenPort() == listenPort).count() > 1) {
                throw new IllegalArgumentException("route " + destination + ": listenPort " + listenPort
                        + " already taken by another TCP route");
            }
            return this;
        }

        /** Every route of {@code table} (to build a table that extends it). */
        public Builder routes(RouteTable table) {
            for (Route route : table.routes.values()) {
                int colon = route.destination().lastIndexOf(':');
                route(route.destination().substring(0, colon), Integer.parseInt(route.destination().substring(colon + 1)),
                        route.protocol(), route.listenPort(), route.upstream(), route.allowedIds().toArray(SpiffeId[]::new));
            }
            return this;
        }

        public RouteTable build() {
            return new RouteTable(routes);
        }
    }
}
