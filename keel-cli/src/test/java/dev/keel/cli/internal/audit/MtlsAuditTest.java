package dev.keel.cli.internal.audit;

import static org.assertj.core.api.Assertions.assertThat;

import com.sun.net.httpserver.HttpServer;
import dev.keel.ca.audit.AuditLog;
import dev.keel.ca.audit.AuditRecord;
import dev.keel.cli.internal.audit.MtlsAudit.ProxyTarget;
import dev.keel.cli.internal.up.AdminClient;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The audit against admin endpoints served in-test with the shapes keel proxy run serves. */
class MtlsAuditTest {

    private static final Instant NOW = Instant.parse("2026-11-23T10:00:00Z");

    @TempDir
    Path tmp;

    private final List<HttpServer> servers = new ArrayList<>();

    @AfterEach
    void stop() {
        servers.forEach(s -> s.stop(0));
    }

    @Test
    void countsTrafficByConnectionSecurityPolicyAndFindsWhatAnAuditorAsksFor() throws Exception {
        String orders = proxy("shop", "orders", "STRICT",
                "istio_requests_total{reporter=\"destination\",source_principal=\"spiffe://cluster.local/ns/shop/sa/frontend\","
                        + "connection_security_policy=\"mutual_tls\",response_code=\"200\"} 9\n"
                        + "istio_requests_total{reporter=\"source\",connection_security_policy=\"mutual_tls\"} 100\n",
                "{\"plaintext\":[]}");
        String frontend = proxy("shop", "frontend", "PERMISSIVE",
                "istio_requests_total{reporter=\"destination\",source_principal=\"unknown\",connection_security_policy=\"none\"} 3\n"
                        + "istio_tcp_connections_opened_total{reporter=\"destination\",connection_security_policy=\"mutual_tls\"} 0\n",
                "{\"plaintext\":[{\"address\":\"127.0.0.1\",\"count\":3,\"last_seen\":\"2026-11-23T09:59:00Z\"}]}");
        String batch = proxy("jobs", "batch", "STRICT",
                "istio_tcp_connections_opened_total{reporter=\"destination\",connection_security_policy=\"mutual_tls\"} 4\n", null);
        Path policies = Files.createDirectories(tmp.resolve("policies"));
        Files.writeString(policies.resolve("p.yaml"), """
                apiVersion: security.istio.io/v1
                kind: AuthorizationPolicy
                metadata: {name: orders, namespace: shop}
                spec:
                  selector: {matchLabels: {app: orders}}
                  rules: [{from: [{source: {principals: ["cluster.local/ns/shop/sa/frontend"]}}]}]
                ---
                apiVersion: security.istio.io/v1
                kind: AuthorizationPolicy
                metadata: {name: other-app, namespace: shop}
                spec:
                  selector: {matchLabels: {app: payments}}
                ---
                apiVersion: security.istio.io/v1
                kind: AuthorizationPolicy
                metadata: {name: waypoint-only, namespace: jobs}
                spec:
                  targetRefs: [{kind: Gateway, group: gateway.networking.k8s.io, name: waypoint}]
                ---
                apiVersion: security.istio.io/v1
                kind: AuthorizationPolicy
                metadata: {name: mesh-deny-debug, namespace: istio-system}
                spec:
                  action: DENY
                  selector: {matchLabels: {app: frontend}}
                  rules: [{to: [{operation: {paths: ["/debug*"]}}]}]
                """);
        Path caDir = Files.createDirectories(tmp.resolve("ca"));
        AuditLog log = AuditLog.open(caDir.resolve("audit.log"));
        log.appendAndWait(AuditRecord.issued(NOW.minus(Duration.ofHours(2)), "node:x", "spiffe://cluster.local/ns/shop/sa/orders",
                "01", NOW.minus(Duration.ofHours(1)), "aa"));
        log.appendAndWait(AuditRecord.issued(NOW.minus(Duration.ofMinutes(30)), "node:x", "spiffe://cluster.local/ns/shop/sa/orders",
                "02", NOW.plus(Duration.ofMinutes(30)), "bb"));
        log.appendAndWait(AuditRecord.refused(NOW, "node:y", "spiffe://cluster.local/ns/shop/sa/orders", null, "no entry"));
        log.appendAndWait(AuditRecord.issued(NOW, "node:x", "spiffe://cluster.local/ns/jobs/sa/batch", "03",
                NOW.plus(Duration.ofDays(3)), "cc"));
        log.close();

        MtlsAuditReport report = audit(List.of(new ProxyTarget("orders", orders), new ProxyTarget("frontend", frontend),
                new ProxyTarget("batch", batch)), Optional.of(caDir), Optional.of(policies), 100);

        MtlsAuditReport.Summary s = report.summary();
        assertThat(s.mtlsTraffic()).isEqualTo(13);
        assertThat(s.plaintextTraffic()).isEqualTo(3);
        assertThat(s.mtlsCoveragePercent()).isEqualTo(81.25);
        assertThat(s.ports()).isEqualTo(3);
        assertThat(s.strictPorts()).isEqualTo(2);
        assertThat(s.strictPortsPercent()).isEqualTo(66.67);
        assertThat(s.passed()).isFalse();
        assertThat(s.workloadsWithoutAuthorizationPolicy()).as("a DENY alone protects nothing").containsExactly("frontend", "batch");
        assertThat(s.identitiesIssued()).isEqualTo(2);
        assertThat(s.identitiesExpiringWithin24h()).isEqualTo(1);

        MtlsAuditReport.WorkloadReport front = report.workloads().get(1);
        assertThat(front.authorizationPolicies()).containsExactly("DENY istio-system/mesh-deny-debug");
        assertThat(report.workloads().get(0).authorizationPolicies()).containsExactly("ALLOW shop/orders");
        assertThat(front.plaintextPeers()).extracting(MtlsAuditReport.Peer::address).containsExactly("127.0.0.1");
        assertThat(report.workloads().get(0).mtlsSources()).containsExactly("spiffe://cluster.local/ns/shop/sa/frontend");
        assertThat(report.workloads().get(0).mtlsRequests()).as("reporter=source is not inbound traffic").isEqualTo(9);

        assertThat(report.namespaces()).extracting(MtlsAuditReport.NamespaceCoverage::namespace).containsExactly("jobs", "shop");
        assertThat(report.namespaces().get(0).coveragePercent()).isEqualTo(100.0);
        assertThat(report.namespaces().get(1).coveragePercent()).isEqualTo(75.0);

        assertThat(report.identities()).extracting(MtlsAuditReport.IssuedIdentity::serial).containsExactly("02", "03");
        assertThat(report.identities().get(0).issuances()).isEqualTo(2);
        assertThat(report.caAuditLog().chainVerified()).isTrue();
        assertThat(report.caAuditLog().lines()).isEqualTo(4);

        assertThat(report.findings()).extracting(MtlsAuditReport.Finding::subject)
                .contains("mesh", "frontend:" + 8080, "frontend", "batch");
        assertThat(report.findings().get(0).message()).contains("81.25 %").contains("100.0 %");
    }

    @Test
    void passesAtTheThresholdAndJudgesPortsWhenNoTrafficWasSeen() throws Exception {
        String a = proxy("shop", "a", "STRICT", "", null);
        String b = proxy("shop", "b", "PERMISSIVE", "", null);
        MtlsAuditReport half = audit(List.of(new ProxyTarget("a", a), new ProxyTarget("b", b)), Optional.empty(),
                Optional.empty(), 50);
        assertThat(half.summary().mtlsCoveragePercent()).isNull();
        assertThat(half.summary().strictPortsPercent()).isEqualTo(50.0);
        assertThat(half.summary().passed()).isTrue();
        assertThat(audit(List.of(new ProxyTarget("a", a), new ProxyTarget("b", b)), Optional.empty(), Optional.empty(), 50.01)
                .summary().passed()).isFalse();
    }

    @Test
    void oneBadRequestInThirtyThousandDoesNotMeetOneHundredPercentThoughItDisplaysAsOneHundred() throws Exception {
        String a = proxy("shop", "a", "STRICT",
                "istio_requests_total{reporter=\"destination\",connection_security_policy=\"mutual_tls\"} 29999\n"
                        + "istio_requests_total{reporter=\"destination\",connection_security_policy=\"none\"} 1\n", null);
        MtlsAuditReport report = audit(List.of(new ProxyTarget("a", a)), Optional.empty(), Optional.empty(), 100);
        assertThat(report.summary().mtlsCoveragePercent()).isEqualTo(100.0);
        assertThat(report.summary().passed()).isFalse();
        assertThat(audit(List.of(new ProxyTarget("a", a)), Optional.empty(), Optional.empty(), 99.99).summary().passed())
                .isTrue();
    }

    @Test
    void metricsThatCannotBeReadFailTheGateInsteadOfCountingAsNoTraffic() throws Exception {
        String broken = proxy("shop", "broken", "PERMISSIVE", null, null);
        String fine = proxy("shop", "fine", "STRICT",
                "istio_requests_total{reporter=\"destination\",connection_security_policy=\"mutual_tls\"} 5\n", null);
        MtlsAuditReport report = audit(List.of(new ProxyTarget("broken", broken), new ProxyTarget("fine", fine)),
                Optional.empty(), Optional.empty(), 0);
        assertThat(report.workloads().get(0).reachable()).isFalse();
        assertThat(report.summary().passed()).isFalse();
        assertThat(report.findings()).anyMatch(f -> f.subject().equals("broken") && f.message().contains("/metrics"));
    }

    @Test
    void identitiesAreX509SvidsAndRevokedOnesAreMarked() throws Exception {
        Path caDir = Files.createDirectories(tmp.resolve("ca3"));
        AuditLog log = AuditLog.open(caDir.resolve("audit.log"));
        log.appendAndWait(AuditRecord.issued(NOW, "c", "spiffe://cluster.local/ns/shop/sa/a", "0a", NOW.plus(Duration.ofDays(1)), "aa"));
        log.appendAndWait(new AuditRecord(NOW, "c", "spiffe://cluster.local/ns/shop/sa/a", "jwt:1234", NOW.plus(Duration.ofMinutes(5)),
                "jwt-key:k", AuditRecord.Outcome.ISSUED, null));
        log.appendAndWait(new AuditRecord(NOW, "operator:x", "spiffe://cluster.local/ns/shop/sa/a", "0a", NOW.plus(Duration.ofDays(1)),
                "aa", AuditRecord.Outcome.REVOKED, "revoked (keyCompromise)"));
        log.close();
        MtlsAuditReport report = audit(List.of(), Optional.of(caDir), Optional.empty(), 0);
        assertThat(report.identities()).hasSize(1);
        assertThat(report.identities().get(0).serial()).isEqualTo("0a");
        assertThat(report.identities().get(0).issuances()).isEqualTo(1);
        assertThat(report.identities().get(0).revoked()).isTrue();
        assertThat(report.caAuditLog().chainVerified()).isTrue();
    }

    @Test
    void anUnreachableProxyFailsTheGateAndIsNamed() throws Exception {
        String a = proxy("shop", "a", "STRICT",
                "istio_requests_total{reporter=\"destination\",connection_security_policy=\"mutual_tls\"} 5\n", null);
        MtlsAuditReport report = audit(List.of(new ProxyTarget("a", a), new ProxyTarget("gone", "http://127.0.0.1:1")),
                Optional.empty(), Optional.empty(), 0);
        assertThat(report.summary().mtlsCoveragePercent()).isEqualTo(100.0);
        assertThat(report.summary().passed()).isFalse();
        assertThat(report.workloads().get(1).reachable()).isFalse();
        assertThat(report.findings()).anyMatch(f -> f.subject().equals("gone") && f.message().contains("not answering"));
    }

    @Test
    void aTamperedCaLogIsAHighFinding() throws Exception {
        Path caDir = Files.createDirectories(tmp.resolve("ca2"));
        AuditLog log = AuditLog.open(caDir.resolve("audit.log"));
        log.appendAndWait(AuditRecord.issued(NOW, "c", "spiffe://cluster.local/ns/shop/sa/a", "0a", NOW.plus(Duration.ofDays(1)), "aa"));
        log.appendAndWait(AuditRecord.issued(NOW, "c", "spiffe://cluster.local/ns/shop/sa/b", "0b", NOW.plus(Duration.ofDays(1)), "bb"));
        log.close();
        Path file = caDir.resolve("audit.log");
        Files.writeString(file, Files.readString(file).replace("sa/a", "sa/z"));
        MtlsAuditReport report = audit(List.of(), Optional.of(caDir), Optional.empty(), 0);
        assertThat(report.caAuditLog().chainVerified()).isFalse();
        assertThat(report.findings()).anyMatch(f -> f.severity().equals("high") && f.subject().equals("CA audit log"));
    }

    private MtlsAuditReport audit(List<ProxyTarget> targets, Optional<Path> caDir, Optional<Path> policies, double min)
            throws IOException {
        return new MtlsAudit(new AdminClient(), Clock.fixed(NOW, ZoneOffset.UTC))
                .run(new MtlsAudit.Sources(targets, caDir, policies, "istio-system", "cluster.local", min));
    }

    /** An admin port as keel proxy run serves it; {@code peers} null: no /peers endpoint (404). */
    private String proxy(String namespace, String app, String mode, String metrics, String peers) throws IOException {
        Map<String, String> bodies = new java.util.HashMap<>();
        bodies.put("/config", """
                {"config":{},"effective":{"spiffe_id":"spiffe://cluster.local/ns/%s/sa/%s","namespace":"%s",
                 "labels":{"app":"%s"},"policy_loaded":true,"policy_version":3,"policy_errors":[],
                 "ports":[{"app_port":8080,"listen_port":15006,"protocol":"HTTP","mode":"%s"}]}}
                """.formatted(namespace, app, namespace, app, mode));
        if (metrics != null) {
            bodies.put("/metrics", metrics);
        } else {
            bodies.put("/metrics", null);
        }
        bodies.put("/certs", """
                {"spiffe_id":"spiffe://cluster.local/ns/%s/sa/%s","expires_in_seconds":100,
                 "chain":[{"serial":"abc","not_after":"2026-11-23T11:00:00Z"}]}
                """.formatted(namespace, app));
        if (peers != null) {
            bodies.put("/peers", peers);
        }
        HttpServer server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 8);
        server.createContext("/", exchange -> {
            try (exchange) {
                String path = exchange.getRequestURI().getPath();
                String body = bodies.get(path);
                int status = body != null ? 200 : bodies.containsKey(path) ? 500 : 404;
                byte[] bytes = (body == null ? "no" : body).getBytes(StandardCharsets.UTF_8);
                exchange.sendResponseHeaders(status, bytes.length);
                try (OutputStream out = exchange.getResponseBody()) {
                    out.write(bytes);
                }
            }
        });
        server.start();
        servers.add(server);
        return "http://127.0.0.1:" + server.getAddress().getPort();
    }
}
