package dev.keel.proxy.outbound;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import dev.keel.identity.InvalidSpiffeIdException;
import dev.keel.identity.SpiffeId;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;

/**
 * The {@code outbound:} section of {@code proxy.yaml}: where the outbound listener binds, and the
 * route table with the SPIFFE IDs each destination may present (secure naming).
 *
 * <pre>{@code
 * outbound:
 *   host: 127.0.0.1
 *   port: 15001
 *   routes:
 *     - {host: payments.shop, port: 80, address: 10.0.0.7:15006,
 *        identities: [spiffe://cluster.local/ns/shop/sa/payments]}
 *     - {host: grpc.shop, port: 80, protocol: HTTP2, address: 10.0.0.8:15006,
 *        identities: [spiffe://cluster.local/ns/shop/sa/grpc]}
 *     - {host: db.shop, port: 5432, protocol: TCP, listenPort: 15432, address: 10.0.0.9:15432,
 *        identities: [spiffe://cluster.local/ns/shop/sa/db]}
 * }</pre>
 *
 * <p>{@code protocol} is {@code HTTP} (the default: upstream as the app speaks), {@code HTTP2}
 * (always h2 upstream) or {@code TCP} (opaque bytes; the app connects to {@code listenPort} on the
 * outbound host, which only TCP routes have).
 */
public record OutboundConfig(String host, int port, List<Route> routes) {

    public static final int DEFAULT_PORT = 15001;

    /** One destination: what the app asks for, where its proxy listens, and who it must be. */
    public record Route(String host, int port, InetSocketAddress address, List<SpiffeId> identities,
            RouteProtocol protocol, int listenPort) {
        public Route {
            Objects.requireNonNull(host, "host");
            Objects.requireNonNull(address, "address");
            Objects.requireNonNull(protocol, "protocol");
            identities = List.copyOf(identities);
        }

        /** An HTTP route. */
        public Route(String host, int port, InetSocketAddress address, List<SpiffeId> identities) {
            this(host, port, address, identities, RouteProtocol.HTTP, 0);
        }
    }

    public OutboundConfig {
        Objects.requireNonNull(host, "host");
        routes = List.copyOf(routes);
    }

    public RouteTable routeTable() {
        RouteTable.Builder table = RouteTable.builder();
        for (Route route : routes) {
            table.route(route.host(), route.port(), route.protocol(), route.listenPort(), route.address(),
                    route.identities().toArray(SpiffeId[]::new));
        }
        return table.build();
    }

    /**
     * The {@code outbound} section of a proxy configuration, if it has one.
     *
     * @throws IllegalArgumentException naming the field, e.g. {@code outbound.routes[0].identities[0]: …}
     */
    public static Optional<OutboundConfig> parse(String yaml) {
        JsonNode root;
        try {
            root = new ObjectMapper(new YAMLFactory()).readTree(yaml);
        } catch (IOException e) {
            throw new IllegalArgumentException("not YAML: " + e.getMessage(), e);
        }
        JsonNode section = root == null ? null : root.get("outbound");
        if (section == null || section.isNull()) {
            return Optional.empty();
        }
        only("outbound", section, "host", "port", "routes");
        List<Route> routes = new ArrayList<>();
        JsonNode list = section.get("routes");
        if (list != null && !list.isNull()) {
            if (!list.isArray()) {
                throw new IllegalArgumentException("outbound.routes: (expected: a list)");
            }
            for (int i = 0; i < list.size(); i++) {
                String at = "outbound.routes[" + i + "]";
                JsonNode r = list.get(i);
                only(at, r, "host", "port", "address", "identities", "protocol", "listenPort");
                RouteProtocol protocol = protocol(at + ".protocol", r.get("protocol"));
                int listenPort = port(at + ".listenPort", r.get("listenPort"), 0);
                if (protocol == RouteProtocol.TCP && listenPort == 0) {
                    throw new IllegalArgumentException(at + ".listenPort: missing (expected: the local port the app "
                            + "connects to for this TCP route, 1 to 65535)");
                }
                if (protocol != RouteProtocol.TCP && r.has("listenPort")) {
                    throw new IllegalArgumentException(at + ".listenPort: only for protocol TCP (HTTP routes share "
                            + "the outbound port and are chosen by the Host header)");
                }
                routes.add(new Route(text(at + ".host", r.get("host"), null), port(at + ".port", r.get("port"), 80),
                        address(at + ".address", text(at + ".address", r.get("address"), null)),
                        identities(at + ".identities", r.get("identities")), protocol, listenPort));
            }
        }
        return Optional.of(new OutboundConfig(text("outbound.host", section.get("host"), "127.0.0.1"),
                port("outbound.port", section.get("port"), DEFAULT_PORT), routes));
    }

    private static void only(String at, JsonNode node, String... fields) {
        if (node == null || !node.isObject()) {
            throw new IllegalArgumentException(at + ": (expected: a mapping)");
        }
        Set<String> allowed = Set.of(fields);
        for (Iterator<String> names = node.fieldNames(); names.hasNext(); ) {
            String name = names.next();
            if (!allowed.contains(name)) {
                throw new IllegalArgumentException(at + "." + name + ": unknown field (expected one of "
                        + List.of(fields) + ")");
            }
        }
    }

    private static String text(String at, JsonNode node, String dflt) {
        if (node == null || node.isNull()) {
            if (dflt == null) {
                throw new IllegalArgumentException(at + ": missing");
            }
            return dflt;
        }
        if (!node.isValueNode() || node.asText().isBlank()) {
            throw new IllegalArgumentException(at + ": (expected: a non-empty string)");
        }
        return node.asText().strip();
    }

    private static int port(String at, JsonNode node, int dflt) {
        if (node == null || node.isNull()) {
            return dflt;
        }
        if (!node.isIntegralNumber() || node.intValue() < 0 || node.intValue() > 65535) {
            throw new IllegalArgumentException(at + ": \"" + node.asText() + "\" (expected: a port, 0 to 65535)");
        }
        return node.intValue();
    }

    private static RouteProtocol protocol(String at, JsonNode node) {
        if (node == null || node.isNull()) {
            return RouteProtocol.HTTP;
        }
        String value = node.isTextual() ? node.asText().strip().toUpperCase(Locale.ROOT) : "";
        for (RouteProtocol protocol : RouteProtocol.values()) {
            if (protocol.name().equals(value)) {
                return protocol;
            }
        }
        throw new IllegalArgumentException(at + ": \"" + node.asText() + "\" (expected one of "
                + List.of(RouteProtocol.values()) + ")");
    }

    private static InetSocketAddress address(String at, String value) {
        int colon = value.lastIndexOf(':');
        if (colon <= 0 || colon == value.length() - 1) {
            throw new IllegalArgumentException(at + ": \"" + value + "\" (expected: host:port of the destination's proxy)");
        }
        String host = value.substring(0, colon);
        if (host.startsWith("[") && host.endsWith("]")) {
            host = host.substring(1, host.length() - 1);
        }
        int port;
        try {
            port = Integer.parseInt(value.substring(colon + 1));
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(at + ": \"" + value + "\" (expected: host:port of the destination's proxy)");
        }
        if (port < 1 || port > 65535) {
            throw new IllegalArgumentException(at + ": port " + port + " (expected: 1 to 65535)");
        }
        return InetSocketAddress.createUnresolved(host, port);
    }

    private static List<SpiffeId> identities(String at, JsonNode node) {
        if (node == null || !node.isArray() || node.isEmpty()) {
            // Secure naming needs to know who the destination is: no list, no route.
            throw new IllegalArgumentException(at + ": (expected: a non-empty list of SPIFFE IDs the destination may present)");
        }
        List<SpiffeId> ids = new ArrayList<>();
        for (int i = 0; i < node.size(); i++) {
            String text = text(at + "[" + i + "]", node.get(i), null);
            try {
                ids.add(SpiffeId.parse(text));
            } catch (InvalidSpiffeIdException e) {
                throw new IllegalArgumentException(at + "[" + i + "]: " + e.getMessage(), e);
            }
        }
        return ids;
    }
}
