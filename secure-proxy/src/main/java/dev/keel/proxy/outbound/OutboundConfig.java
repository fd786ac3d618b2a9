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
 * }</pre>
 */
public record OutboundConfig(String host, int port, List<Route> routes) {

    public static final int DEFAULT_PORT = 15001;

    /** One destination: what the app asks for, where its proxy listens, and who it must be. */
    public record Route(String host, int port, InetSocketAddress address, List<SpiffeId> identities) {
        public Route {
            Objects.requireNonNull(host, "host");
            Objects.requireNonNull(address, "address");
            identities = List.copyOf(identities);
        }
    }

    public OutboundConfig {
        Objects.requireNonNull(host, "host");
        routes = List.copyOf(routes);
    }

    public RouteTable routeTable() {
        RouteTable.Builder table = RouteTable.builder();
        for (Route route : routes) {
            table.route(route.host(), route.port(), route.address(), route.identities().toArray(SpiffeId[]::new));
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
                only(at, r, "host", "port", "address", "identities");
                routes.add(new Route(text(at + ".host", r.get("host"), null), port(at + ".port", r.get("port"), 80),
                        address(at + ".address", text(at + ".address", r.get("address"), null)),
                        identities(at + ".identities", r.get("identities"))));
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
