package dev.keel.proxy.inbound;

import static org.assertj.core.api.Assertions.assertThat;

import com.sun.net.httpserver.HttpServer;
import dev.keel.jwt.JwksCache;
import dev.keel.policy.ParseResult;
import dev.keel.policy.PeerAuthentication.MutualTLS.Mode;
import dev.keel.policy.PolicyParser;
import dev.keel.proxy.ProxyConfig;
import dev.keel.proxy.ProxyMetrics;
import dev.keel.proxy.pipeline.Pipeline;
import dev.keel.proxy.pipeline.PipelineHolder;
import dev.keel.proxy.pipeline.PipelineSettings;
import dev.keel.testing.TestPki;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.spec.ECGenParameterSpec;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.jose4j.json.JsonUtil;
import org.jose4j.jwk.JsonWebKey;
import org.jose4j.jwk.PublicJsonWebKey;
import org.jose4j.jws.JsonWebSignature;
import org.junit.jupiter.api.Test;

/**
 * JWT authentication whose key set arrives later, on another thread (a remote JWKS): the request waits,
 * then continues on its event loop. A good token without permission is 403, not 401.
 */
class AsyncJwksTest {

    @Test
    void aTokenVerifiedAfterAnAsynchronousJwksFetchReachesTheApp() throws Exception {
        KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
        g.initialize(new ECGenParameterSpec("secp256r1"));
        KeyPair key = g.generateKeyPair();
        PublicJsonWebKey jwk = PublicJsonWebKey.Factory.newPublicJwk(key.getPublic());
        jwk.setKeyId("k1");
        String jwks = "{\"keys\":[" + JsonUtil.toJson(jwk.toParams(JsonWebKey.OutputControlLevel.PUBLIC_ONLY)) + "]}";
        AtomicInteger fetches = new AtomicInteger();
        JwksCache cache = JwksCache.builder().fetcher((uri, timeout) -> {
            fetches.incrementAndGet();
            return CompletableFuture.supplyAsync(() -> jwks,
                    CompletableFuture.delayedExecutor(200, TimeUnit.MILLISECONDS));
        }).build();

        HttpServer app = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        app.createContext("/", exchange -> {
            byte[] out = ("app " + exchange.getRequestURI()).getBytes(StandardCharsets.UTF_8);
            exchange.sendResponseHeaders(200, out.length);
            try (OutputStream os = exchange.getResponseBody()) {
                os.write(out);
            }
        });
        app.start();
        ProxyConfig config = ProxyConfig.of(new ProxyConfig.Workload("default", "web", Map.of("app", "web"),
                        "cluster.local"), new ProxyConfig.App("127.0.0.1", app.getAddress().getPort()))
                .withInbound(new ProxyConfig.Inbound("127.0.0.1", 0, Mode.DISABLE, List.of()));
        ParseResult policies = PolicyParser.parse("policies.yaml", """
                apiVersion: security.istio.io/v1
                kind: RequestAuthentication
                metadata: {name: jwt, namespace: default}
                spec:
                  jwtRules:
                  - issuer: https://issuer.test
                    jwksUri: https://issuer.test/keys
                ---
                apiVersion: security.istio.io/v1
                kind: AuthorizationPolicy
                metadata: {name: require-jwt, namespace: default}
                spec:
                  action: ALLOW
                  rules:
                  - from:
                    - source:
                        requestPrincipals: ["*"]
                """);
        assertThat(policies.errors()).isEmpty();
        PipelineSettings settings = PipelineSettings.from(config);
        Pipeline.Compiled compiled = Pipeline.compile(1, policies.policies(), settings, cache);
        assertThat(compiled.errors()).isEmpty();
        ConcurrentLinkedQueue<String> log = new ConcurrentLinkedQueue<>();
        TestPki pki = TestPki.create();
        try (IdentityServerTlsContexts tls = IdentityServerTlsContexts.create(
                new TestIdentity(pki, "spiffe://cluster.local/ns/default/sa/web"));
                InboundProxy proxy = InboundProxy.builder(config).tls(tls).metrics(new ProxyMetrics())
                        .pipelines(PipelineHolder.of(compiled.pipeline(), settings, cache)).accessLog(log::add)
                        .build().start()) {
            String url = "http://127.0.0.1:" + proxy.port();
            Processes.Result ok = Processes.run(List.of("curl", "-sS", "-w", "\n%{http_code}", "-H",
                    "Authorization: Bearer " + token(key), url + "/with-token"), null);
            assertThat(ok.output()).isEqualTo("app /with-token\n200");
            assertThat(fetches).hasValue(1);

            Processes.Result none = Processes.run(List.of("curl", "-sS", "-w", "\n%{http_code}", url + "/without"), null);
            assertThat(none.output()).isEqualTo("RBAC: access denied\n403");
            assertThat(log).anyMatch(l -> l.contains("\"path\":\"/without\"") && l.contains("\"status\":403"));
        } finally {
            app.stop(0);
        }
    }

    static String token(KeyPair key) throws Exception {
        JsonWebSignature jws = new JsonWebSignature();
        long now = Instant.now().getEpochSecond();
        jws.setPayload(JsonUtil.toJson(Map.of("iss", "https://issuer.test", "sub", "bob", "exp", now + 600)));
        jws.setAlgorithmHeaderValue("ES256");
        jws.setKeyIdHeaderValue("k1");
        jws.setKey(key.getPrivate());
        return jws.getCompactSerialization();
    }
}
