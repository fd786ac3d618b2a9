package dev.keel.proxy.admin;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.keel.identity.SpiffeId;
import dev.keel.proxy.ProxyMetrics;
import dev.keel.proxy.X509Material;
import dev.keel.proxy.tls.MutableIdentitySource;
import dev.keel.testing.TestPki;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.Base64;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class AdminServerTest {

    static final SpiffeId ID = SpiffeId.parse("spiffe://cluster.local/ns/shop/sa/frontend");

    final TestPki pki = TestPki.create();
    final ProxyMetrics metrics = new ProxyMetrics();
    final MutableIdentitySource identity = new MutableIdentitySource();
    final AtomicBoolean inboundUp = new AtomicBoolean();
    final HttpClient http = HttpClient.newHttpClient();
    AdminServer admin;

    @BeforeEach
    void start() throws Exception {
        admin = AdminServer.builder().port(0).metrics(metrics).identity(identity)
                .config(() -> Map.of("inbound", Map.of("port", 15006), "outbound", Map.of("port", 15001)))
                .readinessCheck("inbound listener", inboundUp::get)
                .build().start();
    }

    @AfterEach
    void stop() {
        admin.close();
    }

    private HttpResponse<String> get(String path) throws Exception {
        return http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + admin.port() + path)).build(),
                HttpResponse.BodyHandlers.ofString());
    }

    @Test
    void readyOnlyOnceMaterialIsPresentAndListenersAreUp() throws Exception {
        HttpResponse<String> none = get("/ready");
        assertThat(none.statusCode()).isEqualTo(503);
        assertThat(none.body()).contains("no X.509-SVID yet").contains("inbound listener is not up");

        identity.set(MutableIdentitySource.material(pki, ID));
        HttpResponse<String> half = get("/ready");
        assertThat(half.statusCode()).isEqualTo(503);
        assertThat(half.body()).doesNotContain("X.509-SVID").contains("inbound listener is not up");

        inboundUp.set(true);
        HttpResponse<String> ready = get("/ready");
        assertThat(ready.statusCode()).isEqualTo(200);
        assertThat(ready.body()).isEqualTo("ready\n");
    }

    @Test
    void metricsAreThePrometheusText() throws Exception {
        metrics.secureNamingFailure("backend.shop:8080");
        HttpResponse<String> response = get("/metrics");
        assertThat(response.statusCode()).isEqualTo(200);
        assertThat(response.headers().firstValue("content-type")).hasValueSatisfying(v -> assertThat(v).startsWith("text/plain"));
        assertThat(response.body()).contains("keel_proxy_secure_naming_failures_total{destination=\"backend.shop:8080\"} 1");
    }

    @Test
    void configIsTheSuppliedJson() throws Exception {
        HttpResponse<String> response = get("/config");
        assertThat(response.statusCode()).isEqualTo(200);
        JsonNode json = new ObjectMapper().readTree(response.body());
        assertThat(json.at("/inbound/port").asInt()).isEqualTo(15006);
        assertThat(json.at("/outbound/port").asInt()).isEqualTo(15001);
    }

    @Test
    void certsShowsIdChainAndBundlesButNeverTheKey() throws Exception {
        assertThat(get("/certs").statusCode()).isEqualTo(503);
        X509Material material = MutableIdentitySource.material(pki, ID);
        identity.set(material);

        HttpResponse<String> response = get("/certs");

        assertThat(response.statusCode()).isEqualTo(200);
        JsonNode json = new ObjectMapper().readTree(response.body());
        assertThat(json.get("spiffe_id").asText()).isEqualTo(ID.toString());
        assertThat(json.get("chain")).hasSize(material.chain().size());
        assertThat(json.at("/chain/0/serial").asText()).isEqualTo(material.leaf().getSerialNumber().toString(16));
        assertThat(json.at("/chain/0/not_after").asText()).isEqualTo(material.leaf().getNotAfter().toInstant().toString());
        assertThat(json.at("/bundles/0/trust_domain").asText()).isEqualTo("cluster.local");
        assertThat(json.at("/bundles/0/x509_authorities").asInt()).isEqualTo(pki.bundle().x509Authorities().size());
        assertThat(json.get("expires_in_seconds").asLong()).isPositive();
        String encodedKey = Base64.getEncoder().encodeToString(material.privateKey().getEncoded());
        assertThat(response.body()).doesNotContain(encodedKey.substring(0, 40)).doesNotContainIgnoringCase("private");
    }

    @Test
    void unknownPathsAndMethodsAreRefused() throws Exception {
        assertThat(get("/readyz").statusCode()).isEqualTo(404);
        HttpResponse<String> post = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + admin.port() + "/ready"))
                .POST(HttpRequest.BodyPublishers.noBody()).build(), HttpResponse.BodyHandlers.ofString());
        assertThat(post.statusCode()).isEqualTo(405);
    }

    @Test
    void addedJsonEndpointsAreServedAndAValueThatDoesNotSerializeIsA500() throws Exception {
        admin.close();
        admin = AdminServer.builder().port(0).metrics(metrics).identity(identity).config(() -> new Object() {
                    @SuppressWarnings("unused")
                    public Object getSelf() {
                        return java.time.Duration.ofSeconds(1); // Jackson without the java.time module refuses it
                    }
                })
                .jsonEndpoint("/peers", () -> Map.of("plaintext", java.util.List.of(Map.of("address", "10.0.0.1"))))
                .build().start();
        HttpResponse<String> peers = get("/peers");
        assertThat(peers.statusCode()).isEqualTo(200);
        assertThat(peers.body()).contains("\"address\" : \"10.0.0.1\"");
        HttpResponse<String> broken = get("/config");
        assertThat(broken.statusCode()).isEqualTo(500);
        assertThat(broken.body()).contains("/config failed");
        assertThat(get("/nope").body()).contains("/peers");
        assertThatThrownBy(() -> AdminServer.builder().jsonEndpoint("/metrics", Map::of))
                .isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void builderRequiresItsParts() {
        assertThatThrownBy(() -> AdminServer.builder().identity(identity).config(() -> "{}").build())
                .hasMessageContaining("metrics");
        assertThatThrownBy(() -> AdminServer.builder().port(70000)).hasMessageContaining("expected: 0..65535");
        assertThatThrownBy(() -> AdminServer.builder().readinessCheck("a", () -> true).readinessCheck("a", () -> true))
                .hasMessageContaining("twice");
    }
}
