package dev.keel.proxy.admin;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import dev.keel.identity.Bundle;
import dev.keel.proxy.IdentitySource;
import dev.keel.proxy.ProxyMetrics;
import dev.keel.proxy.X509Material;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The proxy's admin port (default 127.0.0.1:15000), plain HTTP for local tooling and Prometheus:
 * <ul>
 *   <li>{@code /metrics}: {@link ProxyMetrics} in the Prometheus text format;</li>
 *   <li>{@code /ready}: 200 once an X.509-SVID is present and every readiness check is up, else
 *       503 with one line per reason;</li>
 *   <li>{@code /config}: the effective configuration as JSON, from the integrator's supplier, which
 *       must leave secrets out;</li>
 *   <li>{@code /certs}: the own SPIFFE ID, the chain (subject, issuer, serial, validity) and the
 *       bundles (trust domain, authority counts). Never the key.</li>
 *   <li>further JSON endpoints the integrator adds ({@code /peers}: who connected without mTLS).</li>
 * </ul>
 * A value that cannot be serialized is a 500 naming the endpoint, never a dropped connection.
 * Only GET and HEAD. Requests are served one at a time on one daemon thread.
 */
public final class AdminServer implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(AdminServer.class);
    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    private final InetSocketAddress address;
    private final ProxyMetrics metrics;
    private final IdentitySource identity;
    private final Supplier<?> config;
    private final Map<String, BooleanSupplier> readiness;
    private final Map<String, Supplier<?>> endpoints;
    private final Clock clock;
    private HttpServer server;
    private ExecutorService executor;

    private AdminServer(Builder builder) {
        this.address = builder.address;
        this.metrics = builder.metrics;
        this.identity = builder.identity;
        this.config = builder.config;
        this.readiness = Map.copyOf(builder.readiness);
        this.endpoints = Map.copyOf(builder.endpoints);
        this.clock = builder.clock;
    }

    public static Builder builder() {
        return new Builder();
    }

    /** Binds and starts serving. */
    public synchronized AdminServer start() throws IOException {
        if (server != null) {
            throw new IllegalStateException("already started");
        }
        HttpServer http = HttpServer.create(address, 16);
        http.createContext("/", this::handle);
        executor = Executors.newSingleThreadExecutor(r -> {
            Thread t = new Thread(r, "keel-proxy-admin");
            t.setDaemon(true);
            return t;
        });
        http.setExecutor(executor);
        http.start();
        server = http;
        log.info("Admin server on http://{}:{}", address.getHostString(), port());
        return this;
    }

    /** The bound port (useful when configured with port 0). */
    public int port() {
        return server.getAddress().getPort();
    }

    @Override
    public synchronized void close() {
        if (server != null) {
            server.stop(0);
            executor.shutdownNow();
            server = null;
        }
    }

    private void handle(HttpExchange exchange) throws IOException {
        try (exchange) {
            String method = exchange.getRequestMethod();
            if (!method.equals("GET") && !method.equals("HEAD")) {
                exchange.getResponseHeaders().set("Allow", "GET, HEAD");
                send(exchange, 405, "text/plain; charset=utf-8", "method not allowed\n");
                return;
            }
            try {
                switch (exchange.getRequestURI().getPath()) {
                    case "/metrics" -> {
                        ByteArrayOutputStream out = new ByteArrayOutputStream();
                        metrics.writeText(out);
                        send(exchange, 200, metrics.contentType(), out.toByteArray());
                    }
                    case "/ready" -> {
                        List<String> reasons = notReadyReasons();
                        if (reasons.isEmpty()) {
                            send(exchange, 200, "text/plain; charset=utf-8", "ready\n");
                        } else {
                            send(exchange, 503, "text/plain; charset=utf-8", String.join("\n", reasons) + "\n");
                        }
                    }
                    case "/config" -> send(exchange, 200, "application/json", configJson());
                    case "/certs" -> {
                        Optional<X509Material> material = identity.current();
                        if (material.isEmpty()) {
                            send(exchange, 503, "application/json", "{\"error\":\"no X.509-SVID yet\"}\n");
                        } else {
                            send(exchange, 200, "application/json", JSON.writeValueAsString(certs(material.get())) + "\n");
                        }
                    }
                    default -> {
                        Supplier<?> endpoint = endpoints.get(exchange.getRequestURI().getPath());
                        if (endpoint == null) {
                            send(exchange, 404, "text/plain; charset=utf-8", "not found; try /metrics, /ready, /config, /certs"
                                    + endpoints.keySet().stream().sorted().map(path -> ", " + path).reduce("", String::concat) + "\n");
                        } else {
                            send(exchange, 200, "application/json", JSON.writeValueAsString(endpoint.get()) + "\n");
                        }
                    }
                }
            } catch (JsonProcessingException | RuntimeException e) {
                // Inside the exchange: the client gets a 500 naming the endpoint, not a dropped connection.
                log.warn("Admin request {} failed", exchange.getRequestURI(), e);
                send(exchange, 500, "text/plain; charset=utf-8", exchange.getRequestURI().getPath() + " failed: "
                        + e.getClass().getSimpleName() + "\n");
            }
        }
    }

    /** Why the proxy is not ready, one line per reason; empty when ready. */
    public List<String> notReadyReasons() {
        List<String> reasons = new ArrayList<>();
        if (identity.current().isEmpty()) {
            reasons.add("no X.509-SVID yet (waiting for the node agent)");
        }
        readiness.entrySet().stream().sorted(Map.Entry.comparingByKey()).forEach(check -> {
            boolean up;
            try {
                up = check.getValue().getAsBoolean();
            } catch (RuntimeException e) {
                up = false;
            }
            if (!up) {
                reasons.add(check.getKey() + " is not up");
            }
        });
        return reasons;
    }

    private String configJson() throws JsonProcessingException {
        Object value = config.get();
        if (value instanceof String text) {
            return text.endsWith("\n") ? text : text + "\n";
        }
        return JSON.writeValueAsString(value) + "\n";
    }

    private Map<String, Object> certs(X509Material material) {
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("spiffe_id", material.spiffeId().toString());
        Instant notAfter = material.leaf().getNotAfter().toInstant();
        out.put("expires_in_seconds", Math.max(0, Duration.between(clock.instant(), notAfter).toSeconds()));
        List<Map<String, Object>> chain = new ArrayList<>();
        for (X509Certificate certificate : material.chain()) {
            Map<String, Object> c = new LinkedHashMap<>();
            c.put("subject", certificate.getSubjectX500Principal().getName());
            c.put("issuer", certificate.getIssuerX500Principal().getName());
            c.put("serial", certificate.getSerialNumber().toString(16));
            c.put("not_before", certificate.getNotBefore().toInstant().toString());
            c.put("not_after", certificate.getNotAfter().toInstant().toString());
            chain.add(c);
        }
        out.put("chain", chain);
        List<Map<String, Object>> bundles = new ArrayList<>();
        material.bundles().values().stream().sorted(Comparator.comparing(b -> b.trustDomain().name()))
                .forEach((Bundle bundle) -> {
                    Map<String, Object> b = new LinkedHashMap<>();
                    b.put("trust_domain", bundle.trustDomain().name());
                    b.put("x509_authorities", bundle.x509Authorities().size());
                    b.put("jwt_authorities", bundle.jwtAuthorities().size());
                    bundles.add(b);
                });
        out.put("bundles", bundles);
        return out;
    }

    private static void send(HttpExchange exchange, int status, String contentType, String body) throws IOException {
        send(exchange, status, contentType, body.getBytes(StandardCharsets.UTF_8));
    }

    private static void send(HttpExchange exchange, int status, String contentType, byte[] body) throws IOException {
        exchange.getResponseHeaders().set("Content-Type", contentType);
        exchange.getResponseHeaders().set("Cache-Control", "no-store");
        boolean head = exchange.getRequestMethod().equals("HEAD");
        exchange.sendResponseHeaders(status, head ? -1 : body.length);
        if (!head) {
            try (OutputStream out = exchange.getResponseBody()) {
                out.write(body);
            }
        }
    }

    /** Builds an {@link AdminServer}; metrics, identity and config are required. */
    public static final class Builder {

        private InetSocketAddress address = new InetSocketAddress(InetAddress.getLoopbackAddress(), 15000);
        private ProxyMetrics metrics;
        private IdentitySource identity;
        private Supplier<?> config;
        private final Map<String, BooleanSupplier> readiness = new LinkedHashMap<>();
        private final Map<String, Supplier<?>> endpoints = new LinkedHashMap<>();
        private Clock clock = Clock.systemUTC();

        Builder() {
        }

        /** Port on 127.0.0.1 (default 15000; 0 for any free port). */
        public Builder port(int port) {
            if (port < 0 || port > 65535) {
                throw new IllegalArgumentException("port: " + port + " (expected: 0..65535)");
            }
            return address(new InetSocketAddress(InetAddress.getLoopbackAddress(), port));
        }

        public Builder address(InetSocketAddress address) {
            this.address = Objects.requireNonNull(address, "address");
            return this;
        }

        public Builder metrics(ProxyMetrics metrics) {
            this.metrics = Objects.requireNonNull(metrics, "metrics");
            return this;
        }

        public Builder identity(IdentitySource identity) {
            this.identity = Objects.requireNonNull(identity, "identity");
            return this;
        }

        /**
         * The effective configuration: a {@link String} is served as is (already JSON), anything else
         * is serialized with Jackson. Called on every request; must not include secrets.
         */
        public Builder config(Supplier<?> config) {
            this.config = Objects.requireNonNull(config, "config");
            return this;
        }

        /** A named condition {@code /ready} requires, e.g. {@code "inbound listener"}; must not block. */
        public Builder readinessCheck(String name, BooleanSupplier up) {
            Objects.requireNonNull(name, "name");
            Objects.requireNonNull(up, "up");
            if (readiness.putIfAbsent(name, up) != null) {
                throw new IllegalArgumentException("readinessCheck: " + name + " added twice");
            }
            return this;
        }

        /** {@code GET path} answers the supplier's value as JSON; called per request, must not include secrets. */
        public Builder jsonEndpoint(String path, Supplier<?> value) {
            Objects.requireNonNull(value, "value");
            if (!path.startsWith("/") || List.of("/metrics", "/ready", "/config", "/certs").contains(path)) {
                throw new IllegalArgumentException("jsonEndpoint: " + path + " (expected a new path starting with /)");
            }
            if (endpoints.putIfAbsent(path, value) != null) {
                throw new IllegalArgumentException("jsonEndpoint: " + path + " added twice");
            }
            return this;
        }

        public Builder clock(Clock clock) {
            this.clock = Objects.requireNonNull(clock, "clock");
            return this;
        }

        public AdminServer build() {
            if (metrics == null) {
                throw new IllegalStateException("metrics: not set");
            }
            if (identity == null) {
                throw new IllegalStateException("identity: not set");
            }
            if (config == null) {
                throw new IllegalStateException("config: not set");
            }
            return new AdminServer(this);
        }
    }
}
