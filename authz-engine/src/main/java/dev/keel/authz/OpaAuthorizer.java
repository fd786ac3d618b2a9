package dev.keel.authz;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A CUSTOM extension provider that asks an Open Policy Agent through its REST Data API: {@code POST
 * /v1/data/<path>} with {@code {"input": ...}}; the response's {@code result} is either a boolean or an
 * object with a boolean {@code allow} (other fields are ignored). A response without {@code result} (an
 * undefined document) denies; a non-200 status, an unreadable body, a timeout or a connection error is
 * {@link Result#ERROR}, which the engine turns into a denial, unless the operator chose
 * {@link Builder#failOpen(boolean) fail open}. Identical inputs may be answered from a cache for a TTL
 * the operator sets (off by default); errors are never cached.
 *
 * <p>The input document:
 * <pre>{@code
 * {"protocol": "http"|"tcp",
 *  "source": {"principal", "namespace", "serviceAccount", "ip", "remoteIp"},
 *  "request": {"method", "path", "host", "headers": {...},
 *              "auth": {"principal", "audiences": [...], "presenter", "claims": {...}}},
 *  "destination": {"ip", "port"},
 *  "connection": {"sni"}}
 * }</pre>
 * Absent attributes are left out. Thread-safe; {@link #check} blocks for at most the timeout.
 */
public final class OpaAuthorizer implements ExternalAuthorizer {

    private static final Logger LOG = LoggerFactory.getLogger(OpaAuthorizer.class);
    private static final ObjectMapper JSON = new ObjectMapper();

    private record Cached(Result result, Instant expires) {
    }

    private final URI endpoint;
    private final HttpClient client;
    private final Duration timeout;
    private final boolean failOpen;
    private final Duration cacheTtl;
    private final int cacheSize;
    private final Clock clock;
    private final Map<String, Cached> cache = new ConcurrentHashMap<>();

    private OpaAuthorizer(Builder b) {
        String base = b.baseUri.toString();
        this.endpoint = URI.create((base.endsWith("/") ? base.substring(0, base.length() - 1) : base) + "/v1/data/"
                + b.path);
        this.client = b.client != null ? b.client : HttpClient.newBuilder().connectTimeout(b.timeout).build();
        this.timeout = b.timeout;
        this.failOpen = b.failOpen;
        this.cacheTtl = b.cacheTtl;
        this.cacheSize = b.cacheSize;
        this.clock = b.clock;
    }

    /**
     * @param baseUri the OPA server, e.g. {@code http://127.0.0.1:8181}
     * @param path    the document, e.g. {@code keel/authz} (slash-separated, as in {@code data.keel.authz})
     */
    public static Builder builder(URI baseUri, String path) {
        return new Builder(baseUri, path);
    }

    /** The URL decisions are posted to. */
    public URI endpoint() {
        return endpoint;
    }

    @Override
    public Result check(AuthzRequest request) {
        String body;
        try {
            ObjectNode doc = JSON.createObjectNode();
            doc.set("input", input(request));
            body = JSON.writeValueAsString(doc);
        } catch (IOException | RuntimeException e) {
            return failure("cannot write the input: " + e);
        }
        boolean caching = !cacheTtl.isZero();
        if (caching) {
            Cached hit = cache.get(body);
            if (hit != null && clock.instant().isBefore(hit.expires())) {
                return hit.result();
            }
        }
        Result result = ask(body);
        if (caching && result != Result.ERROR) {
            if (cache.size() >= cacheSize) {
                cache.clear();
            }
            cache.put(body, new Cached(result, clock.instant().plus(cacheTtl)));
        }
        return result == Result.ERROR ? failure("see above") : result;
    }

    private Result ask(String body) {
        HttpRequest httpRequest = HttpRequest.newBuilder(endpoint).timeout(timeout)
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(body, StandardCharsets.UTF_8)).build();
        HttpResponse<String> response;
        try {
            response = client.send(httpRequest, HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            LOG.warn("OPA {} interrupted", endpoint);
            return Result.ERROR;
        } catch (IOException e) {
            LOG.warn("OPA {} failed: {}", endpoint, e.toString());
            return Result.ERROR;
        }
        if (response.statusCode() != 200) {
            LOG.warn("OPA {} answered HTTP {}: {}", endpoint, response.statusCode(), abbreviate(response.body()));
            return Result.ERROR;
        }
        JsonNode root;
        try {
            root = JSON.readTree(response.body());
        } catch (IOException e) {
            LOG.warn("OPA {} answered an unreadable body: {}", endpoint, abbreviate(response.body()));
            return Result.ERROR;
        }
        if (root == null || !root.isObject()) {
            return Result.ERROR;
        }
        JsonNode result = root.get("result");
        if (result == null) {
            // "If the path refers to an undefined document, the response will not contain a result property."
            return Result.DENY;
        }
        if (result.isBoolean()) {
            return result.booleanValue() ? Result.ALLOW : Result.DENY;
        }
        JsonNode allow = result.isObject() ? result.get("allow") : null;
        if (allow != null && allow.isBoolean()) {
            return allow.booleanValue() ? Result.ALLOW : Result.DENY;
        }
        LOG.warn("OPA {} result is neither a boolean nor {{\"allow\": boolean}}: {}", endpoint, abbreviate(result.toString()));
        return Result.ERROR;
    }

    private Result failure(String why) {
        if (failOpen) {
            LOG.warn("OPA {} failed ({}); failing open as configured", endpoint, why);
            return Result.ALLOW;
        }
        return Result.ERROR;
    }

    private static String abbreviate(String s) {
        return s.length() > 200 ? s.substring(0, 200) + "..." : s;
    }

    /** The {@code input} document for a request (see the class comment). */
    public static ObjectNode input(AuthzRequest r) {
        ObjectNode in = JSON.createObjectNode();
        in.put("protocol", r.protocol() == Protocol.TCP ? "tcp" : "http");
        ObjectNode source = in.putObject("source");
        put(source, "principal", r.sourcePrincipal());
        put(source, "namespace", r.sourceNamespace());
        put(source, "serviceAccount", r.sourceServiceAccount());
        put(source, "ip", r.sourceIp());
        put(source, "remoteIp", r.remoteIp());
        ObjectNode request = in.putObject("request");
        put(request, "method", r.method());
        put(request, "path", r.path());
        put(request, "host", r.host());
        ObjectNode headers = request.putObject("headers");
        new java.util.TreeMap<>(r.headers()).forEach(headers::put);
        ObjectNode auth = request.putObject("auth");
        put(auth, "principal", r.requestPrincipal());
        if (!r.audiences().isEmpty()) {
            r.audiences().forEach(auth.putArray("audiences")::add);
        }
        put(auth, "presenter", r.presenter());
        if (!r.claims().isEmpty()) {
            auth.set("claims", JSON.valueToTree(new java.util.TreeMap<>(r.claims())));
        }
        ObjectNode destination = in.putObject("destination");
        put(destination, "ip", r.destinationIp());
        if (r.destinationPort() >= 0) {
            destination.put("port", r.destinationPort());
        }
        put(in.putObject("connection"), "sni", r.sni());
        return in;
    }

    private static void put(ObjectNode node, String field, String value) {
        if (value != null) {
            node.put(field, value);
        }
    }

    /** Configures an {@link OpaAuthorizer}. Not thread-safe. */
    public static final class Builder {
        private final URI baseUri;
        private final String path;
        private HttpClient client;
        private Duration timeout = Duration.ofMillis(500);
        private boolean failOpen;
        private Duration cacheTtl = Duration.ZERO;
        private int cacheSize = 10_000;
        private Clock clock = Clock.systemUTC();

        Builder(URI baseUri, String path) {
            this.baseUri = Objects.requireNonNull(baseUri, "baseUri");
            Objects.requireNonNull(path, "path");
            String p = path.startsWith("/") ? path.substring(1) : path;
            if (p.isEmpty() || p.contains("..") || p.contains("?") || p.contains("#")) {
                throw new IllegalArgumentException("path: \"" + path + "\" (expected: a document path like keel/authz)");
            }
            this.path = p;
        }

        /** How long one decision may take, connection included; 500 ms by default. */
        public Builder timeout(Duration timeout) {
            Objects.requireNonNull(timeout, "timeout");
            if (timeout.isNegative() || timeout.isZero()) {
                throw new IllegalArgumentException("timeout: " + timeout + " (expected: > 0)");
            }
            this.timeout = timeout;
            return this;
        }

        /** Allow requests when OPA cannot answer. Off by default: failures deny. */
        public Builder failOpen(boolean failOpen) {
            this.failOpen = failOpen;
            return this;
        }

        /**
         * Answers identical inputs from memory for {@code ttl} (zero, the default, turns caching off), keeping at
         * most {@code maxEntries}. Only safe when the OPA policy depends on the input alone.
         */
        public Builder cache(Duration ttl, int maxEntries) {
            Objects.requireNonNull(ttl, "ttl");
            if (ttl.isNegative()) {
                throw new IllegalArgumentException("ttl: " + ttl + " (expected: >= 0)");
            }
            if (maxEntries <= 0) {
                throw new IllegalArgumentException("maxEntries: " + maxEntries + " (expected: > 0)");
            }
            this.cacheTtl = ttl;
            this.cacheSize = maxEntries;
            return this;
        }

        public Builder httpClient(HttpClient client) {
            this.client = Objects.requireNonNull(client, "client");
            return this;
        }

        public Builder clock(Clock clock) {
            this.clock = Objects.requireNonNull(clock, "clock");
            return this;
        }

        public OpaAuthorizer build() {
            return new OpaAuthorizer(this);
        }
    }
}
