package dev.keel.proxy.inbound;

import static org.assertj.core.api.Assertions.assertThat;

import com.sun.net.httpserver.HttpServer;
import dev.keel.proxy.ProxyConfig;
import dev.keel.proxy.ProxyMetrics;
import dev.keel.testing.TestPki;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** What {@code keel proxy run --config proxy.yaml} does with the inbound side: YAML in, policies from its directory. */
class InboundProxyFromConfigTest {

    @TempDir
    Path dir;

    @Test
    void aProxyStartedFromYamlEnforcesThePoliciesOfItsDirectory() throws Exception {
        HttpServer app = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        app.createContext("/", exchange -> {
            byte[] out = ("app " + exchange.getRequestURI()).getBytes(StandardCharsets.UTF_8);
            exchange.sendResponseHeaders(200, out.length);
            try (OutputStream os = exchange.getResponseBody()) {
                os.write(out);
            }
        });
        app.start();
        Path policies = Files.createDirectories(dir.resolve("policies"));
        Files.writeString(policies.resolve("allow.yaml"), """
                apiVersion: security.istio.io/v1
                kind: AuthorizationPolicy
                metadata: {name: only-health, namespace: shop}
                spec:
                  action: ALLOW
                  rules: [{to: [{operation: {methods: [GET], paths: ["/health"]}}]}]
                """);
        Path yaml = dir.resolve("proxy.yaml");
        Files.writeString(yaml, """
                workload: {namespace: shop, serviceAccount: cart, labels: {app: cart}}
                inbound: {host: 127.0.0.1, port: 0, mode: DISABLE}
                app: {host: 127.0.0.1, port: %d}
                policyDirectory: %s
                """.formatted(app.getAddress().getPort(), policies));
        ProxyConfig config = ProxyConfig.load(yaml);
        try (IdentityServerTlsContexts tls = IdentityServerTlsContexts.create(
                new TestIdentity(TestPki.create(), config.workload().spiffeId()));
                InboundProxy proxy = InboundProxy.builder(config).tls(tls).metrics(new ProxyMetrics()).build().start()) {
            assertThat(proxy.pipelines().current().version()).isEqualTo(1);
            String url = "http://127.0.0.1:" + proxy.port();
            assertThat(Processes.run(List.of("curl", "-sS", "-w", "\n%{http_code}", url + "/health"), null).output())
                    .isEqualTo("app /health\n200");
            assertThat(Processes.run(List.of("curl", "-sS", "-w", "\n%{http_code}", url + "/orders"), null).output())
                    .isEqualTo("RBAC: access denied\n403");
        } finally {
            app.stop(0);
        }
    }

    @Test
    void anIdleConnectionIsClosed() throws Exception {
        ProxyConfig config = ProxyConfig.parse("""
                workload: {namespace: shop, serviceAccount: cart}
                inbound: {host: 127.0.0.1, port: 0, mode: PERMISSIVE}
                app: {host: 127.0.0.1, port: 9}
                limits: {idleTimeout: 300ms}
                """);
        try (IdentityServerTlsContexts tls = IdentityServerTlsContexts.create(
                new TestIdentity(TestPki.create(), config.workload().spiffeId()));
                InboundProxy proxy = InboundProxy.builder(config).tls(tls).metrics(new ProxyMetrics()).build().start();
                Socket s = new Socket("127.0.0.1", proxy.port())) {
            s.setSoTimeout(10_000);
            assertThat(s.getInputStream().read()).isEqualTo(-1);
        }
    }
}
