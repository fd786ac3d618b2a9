package dev.keel.authz;

import static dev.keel.authz.Policies.http;
import static dev.keel.authz.Policies.policy;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import dev.keel.testing.FakeClock;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Function;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/**
 * {@link OpaAuthorizer} against an in-test server that follows OPA's REST API reference, "Data API:
 * Get a Document (with Input)": {@code POST /v1/data/{path}} with {@code {"input": ...}}; 200 with
 * {@code {"result": ...}}, or 200 without {@code result} for an undefined document; 400 / 500 with an
 * error object.
 */
class OpaAuthorizerTest {

    private static final ObjectMapper JSON = new ObjectMapper();

    private HttpServer server;
    private final List<JsonNode> inputs = new CopyOnWriteArrayList<>();
    private final List<String> paths = new CopyOnWriteArrayList<>();
    private volatile Function<JsonNode, Reply> policy = in -> new Reply(200, "{\"result\": true}");
    private URI base;

    private record Reply(int status, String body) {
    }

    @BeforeEach
    void start() throws IOException {
        server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        server.createContext("/v1/data/", this::handle);
        server.setExecutor(java.util.concurrent.Executors.newFixedThreadPool(2));
        server.start();
        base = URI.create("http://127.0.0.1:" + server.getAddress().getPort());
    }

    @AfterEach
    void stop() {
        server.stop(0);
    }

    private void handle(HttpExchange exchange) throws IOException {
        Reply reply;
        if (!exchange.getRequestMethod().equals("POST")
                || !"application/json".equals(exchange.getRequestHeaders().getFirst("Content-Type"))) {
            reply = new Reply(400, "{\"code\": \"invalid_parameter\", \"message\": \"expected a JSON POST\"}");
        } else {
            JsonNode body = JSON.readTree(exchange.getRequestBody());
            paths.add(exchange.getRequestURI().getPath());
            inputs.add(body.get("input"));
            reply = policy.apply(body.get("input"));
        }
        byte[] bytes = reply.body().getBytes(StandardCharsets.UTF_8);
        exchange.getResponseHeaders().set("Content-Type", "application/json");
        exchange.sendResponseHeaders(reply.status(), bytes.length);
        try (OutputStream out = exchange.getResponseBody()) {
            out.write(bytes);
        }
    }

    @Test
    @DisplayName("Data API: POST /v1/data/<path> with {\"input\": ...}; a boolean result decides")
    void booleanResult() {
        policy = in -> new Reply(200, "{\"result\": " + in.path("request").path("method").asText().equals("GET") + "}");
        OpaAuthorizer opa = OpaAuthorizer.builder(base, "keel/authz/allow").build();
        AuthzRequest get = http().method("GET").path("/api/x").header("X-Tenant", "acme")
                .requestPrincipal("https://iss/alice").audiences(List.of("api"))
                .claims(Map.of("groups", List.of("admin"), "org", Map.of("team", "ops"))).build();
        assertThat(opa.check(get)).isEqualTo(ExternalAuthorizer.Result.ALLOW);
        assertThat(opa.check(http().method("POST").build())).isEqualTo(ExternalAuthorizer.Result.DENY);
        assertThat(paths).containsOnly("/v1/data/keel/authz/allow");
        JsonNode in = inputs.get(0);
        assertThat(in.path("protocol").asText()).isEqualTo("http");
        assertThat(in.path("source").path("principal").asText()).isEqualTo("cluster.local/ns/bar/sa/sleep");
        assertThat(in.path("source").path("namespace").asText()).isEqualTo("bar");
        assertThat(in.path("source").path("ip").asText()).isEqualTo("10.1.2.3");
        assertThat(in.path("request").path("path").asText()).isEqualTo("/api/x");
        assertThat(in.path("request").path("headers").path("x-tenant").asText()).isEqualTo("acme");
        assertThat(in.path("request").path("auth").path("claims").path("org").path("team").asText()).isEqualTo("ops");
        assertThat(in.path("request").path("auth").path("audiences").get(0).asText()).isEqualTo("api");
        assertThat(in.path("destination").path("port").asInt()).isEqualTo(8000);
    }

    @Test
    @DisplayName("Data API: a result object {\"allow\": bool, ...} decides; other fields are ignored")
    void objectResult() {
        policy = in -> new Reply(200, "{\"result\": {\"allow\": false, \"reason\": \"nope\"}}");
        OpaAuthorizer opa = OpaAuthorizer.builder(base, "keel/authz").build();
        assertThat(opa.check(http().build())).isEqualTo(ExternalAuthorizer.Result.DENY);
        policy = in -> new Reply(200, "{\"result\": {\"allow\": true, \"headers\": {}}}");
        assertThat(opa.check(http().build())).isEqualTo(ExternalAuthorizer.Result.ALLOW);
        policy = in -> new Reply(200, "{\"result\": {\"permit\": true}}");
        assertThat(opa.check(http().build())).isEqualTo(ExternalAuthorizer.Result.ERROR);
    }

    @Test
    @DisplayName("Data API: 'If the path refers to an undefined document, the response will not contain a result property' -> deny")
    void undefinedDocumentDenies() {
        policy = in -> new Reply(200, "{}");
        assertThat(OpaAuthorizer.builder(base, "missing").build().check(http().build()))
                .isEqualTo(ExternalAuthorizer.Result.DENY);
    }

    @Test
    @DisplayName("Data API errors (400, 500) and unreadable bodies are errors: fail closed, or open when configured")
    void errors() {
        policy = in -> new Reply(500, "{\"code\": \"internal_error\", \"message\": \"boom\"}");
        assertThat(OpaAuthorizer.builder(base, "keel/authz").build().check(http().build()))
                .isEqualTo(ExternalAuthorizer.Result.ERROR);
        assertThat(OpaAuthorizer.builder(base, "keel/authz").failOpen(true).build().check(http().build()))
                .isEqualTo(ExternalAuthorizer.Result.ALLOW);
        policy = in -> new Reply(200, "not json");
        assertThat(OpaAuthorizer.builder(base, "keel/authz").build().check(http().build()))
                .isEqualTo(ExternalAuthorizer.Result.ERROR);
    }

    @Test
    @DisplayName("A slow OPA times out: the request is denied (fail closed)")
    void timeout() {
        policy = in -> {
            try {
                Thread.sleep(2_000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            return new Reply(200, "{\"result\": true}");
        };
        OpaAuthorizer opa = OpaAuthorizer.builder(base, "keel/authz").timeout(Duration.ofMillis(150)).build();
        long start = System.nanoTime();
        assertThat(opa.check(http().build())).isEqualTo(ExternalAuthorizer.Result.ERROR);
        assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofMillis(1_500));
    }

    @Test
    @DisplayName("A server that is down is an error (fail closed)")
    void connectionRefused() {
        server.stop(0);
        assertThat(OpaAuthorizer.builder(base, "keel/authz").timeout(Duration.ofMillis(300)).build().check(http().build()))
                .isEqualTo(ExternalAuthorizer.Result.ERROR);
    }

    @Test
    @DisplayName("Cache: identical inputs are answered from memory until the TTL passes; different inputs and errors are not")
    void cache() {
        FakeClock clock = FakeClock.now();
        OpaAuthorizer opa = OpaAuthorizer.builder(base, "keel/authz").cache(Duration.ofSeconds(10), 100).clock(clock)
                .build();
        assertThat(opa.check(http().path("/a").build())).isEqualTo(ExternalAuthorizer.Result.ALLOW);
        assertThat(opa.check(http().path("/a").build())).isEqualTo(ExternalAuthorizer.Result.ALLOW);
        assertThat(inputs).hasSize(1);
        opa.check(http().path("/b").build());
        assertThat(inputs).hasSize(2);
        clock.advance(Duration.ofSeconds(11));
        opa.check(http().path("/a").build());
        assertThat(inputs).hasSize(3);

        policy = in -> new Reply(500, "{}");
        opa.check(http().path("/c").build());
        opa.check(http().path("/c").build());
        assertThat(inputs).as("errors are not cached").hasSize(5);

        OpaAuthorizer uncached = OpaAuthorizer.builder(base, "keel/authz").build();
        policy = in -> new Reply(200, "{\"result\": true}");
        uncached.check(http().build());
        uncached.check(http().build());
        assertThat(inputs).hasSize(7);
    }

    @Test
    @DisplayName("Authorization Policy, Action CUSTOM with an OPA provider: evaluated before DENY and ALLOW, only for matching requests")
    void withTheEngine() {
        policy = in -> new Reply(200, "{\"result\": {\"allow\": "
                + in.path("request").path("headers").path("x-api-key").asText().equals("secret") + "}}");
        OpaAuthorizer opa = OpaAuthorizer.builder(base, "keel/authz").build();
        DecisionProgram program = Policies.program(policy("ext-authz", """
                action: CUSTOM
                provider:
                  name: opa
                rules:
                - to:
                  - operation:
                      paths: ["/api/*"]"""), AuthzConfig.defaults().withExtensionProvider("opa", opa));
        assertThat(program.decide(http().path("/api/x").header("x-api-key", "secret").build()).allowed()).isTrue();
        Decision denied = program.decide(http().path("/api/x").build());
        assertThat(denied.reason()).isEqualTo(Decision.Reason.CUSTOM_DENIED);
        assertThat(program.decide(http().path("/public").build()).allowed()).isTrue();
        assertThat(inputs).hasSize(2);
    }
}
