package dev.keel.proxy.inbound;

import static org.assertj.core.api.Assertions.assertThat;

import com.sun.net.httpserver.HttpServer;
import dev.keel.authz.Protocol;
import dev.keel.jwt.JwksCache;
import dev.keel.policy.PeerAuthentication.MutualTLS.Mode;
import dev.keel.policy.source.DirectoryPolicySource;
import dev.keel.proxy.ProxyConfig;
import dev.keel.proxy.ProxyMetrics;
import dev.keel.proxy.pipeline.PipelineHolder;
import dev.keel.proxy.pipeline.PipelineSettings;
import dev.keel.testing.TestLeaf;
import dev.keel.testing.TestPki;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.MessageDigest;
import java.security.spec.ECGenParameterSpec;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import javax.net.ssl.SSLSocket;
import org.jose4j.jwk.JsonWebKey;
import org.jose4j.jwk.PublicJsonWebKey;
import org.jose4j.json.JsonUtil;
import org.jose4j.jws.JsonWebSignature;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The inbound data path end to end with real clients (curl, openssl, raw sockets): a STRICT main
 * listener, a PERMISSIVE HTTP port and a PERMISSIVE TCP port in front of in-test apps, policies from a
 * watched directory.
 */
class InboundProxyEndToEndTest {

    static final String WEB = "spiffe://cluster.local/ns/default/sa/web";
    static final String CLIENT = "spiffe://cluster.local/ns/default/sa/client";
    static final String ISSUER = "https://issuer.test";

    @TempDir
    static Path dir;

    static TestPki pki;
    static TestIdentity identity;
    static TestLeaf client;
    static Path[] clientPem;
    static HttpServer app;
    static HttpServer app2;
    static HttpServer app3;
    static final Map<String, Integer> remotePorts = new ConcurrentHashMap<>();
    static int app3Port;
    static ServerSocket echo;
    static int appPort;
    static int app2Port;
    static final Map<String, Map<String, List<String>>> seen = new ConcurrentHashMap<>();
    static final ConcurrentLinkedQueue<String> accessLog = new ConcurrentLinkedQueue<>();
    static ProxyMetrics metrics;
    static IdentityServerTlsContexts tls;
    static DirectoryPolicySource policies;
    static PipelineHolder pipelines;
    static InboundProxy proxy;
    static KeyPair jwtKey;
    static Path policyDir;

    @BeforeAll
    static void start() throws Exception {
        pki = TestPki.create();
        identity = new TestIdentity(pki, WEB);
        client = pki.leaf(CLIENT).issue();
        clientPem = TestIdentity.pemFiles(pki, client, dir, "client");
        app = app();
        app2 = app();
        appPort = app.getAddress().getPort();
        app2Port = app2.getAddress().getPort();
        app3 = app();
        app3Port = app3.getAddress().getPort();
        echo = new ServerSocket(0, 50, java.net.InetAddress.getLoopbackAddress());
        Thread echoThread = new Thread(InboundProxyEndToEndTest::echoLoop, "echo");
        echoThread.setDaemon(true);
        echoThread.start();

        KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
        g.initialize(new ECGenParameterSpec("secp256r1"));
        jwtKey = g.generateKeyPair();
        policyDir = Files.createDirectories(dir.resolve("policies"));
        Files.writeString(policyDir.resolve("deny-admin.yaml"), """
                apiVersion: security.istio.io/v1
                kind: AuthorizationPolicy
                metadata:
                  name: deny-admin
                  namespace: default
                spec:
                  action: DENY
                  rules:
                  - to:
                    - operation:
                        paths: ["/admin*"]
                        ports: ["%d", "%d"]
                """.formatted(appPort, app2Port));
        Files.writeString(policyDir.resolve("deny-plaintext-tcp.yaml"), """
                apiVersion: security.istio.io/v1
                kind: AuthorizationPolicy
                metadata:
                  name: deny-plaintext-tcp
                  namespace: default
                spec:
                  action: DENY
                  rules:
                  - from:
                    - source:
                        notPrincipals: ["*"]
                    to:
                    - operation:
                        ports: ["%d"]
                """.formatted(echo.getLocalPort()));
        Files.writeString(policyDir.resolve("peer-authn.yaml"), """
                apiVersion: security.istio.io/v1
                kind: PeerAuthentication
                metadata:
                  name: web
                  namespace: default
                spec:
                  selector:
                    matchLabels:
                      app: web
                  portLevelMtls:
                    %d:
                      mode: STRICT
                """.formatted(app3Port));
        PublicJsonWebKey jwk = PublicJsonWebKey.Factory.newPublicJwk(jwtKey.getPublic());
        jwk.setKeyId("k1");
        String jwks = "{\"keys\":[" + JsonUtil.toJson(jwk.toParams(JsonWebKey.OutputControlLevel.PUBLIC_ONLY)) + "]}";
        Files.writeString(policyDir.resolve("jwt.yaml"), """
                apiVersion: security.istio.io/v1
                kind: RequestAuthentication
                metadata:
                  name: jwt
                  namespace: default
                spec:
                  jwtRules:
                  - issuer: %s
                    jwks: '%s'
                """.formatted(ISSUER, jwks));

        ProxyConfig config = ProxyConfig.of(new ProxyConfig.Workload("default", "web", Map.of("app", "web"),
                        "cluster.local"), new ProxyConfig.App("127.0.0.1", appPort))
                .withInbound(new ProxyConfig.Inbound("127.0.0.1", 0, Mode.STRICT, List.of(
                        new ProxyConfig.PortSettings(app2Port, 0, Protocol.HTTP, Mode.PERMISSIVE),
                        new ProxyConfig.PortSettings(app3Port, 0, Protocol.HTTP, Mode.PERMISSIVE),
                        new ProxyConfig.PortSettings(echo.getLocalPort(), 0, Protocol.TCP, Mode.PERMISSIVE))))
                .withLimits(new ProxyConfig.Limits(4096, 50, 1024 * 1024, Duration.ofMinutes(1),
                        Duration.ofMillis(500), 100));
        metrics = new ProxyMetrics();
        tls = IdentityServerTlsContexts.create(identity);
        policies = DirectoryPolicySource.open(policyDir, new DirectoryPolicySource.Options("default",
                Duration.ofMillis(50), Duration.ofMillis(200)));
        assertThat(policies.errors()).isEmpty();
        pipelines = PipelineHolder.following(policies, PipelineSettings.from(config), JwksCache.create());
        proxy = InboundProxy.builder(config).tls(tls).metrics(metrics).pipelines(pipelines)
                .accessLog(accessLog::add).build().start();
    }

    @AfterAll
    static void stop() throws IOException {
        if (proxy != null) {
            proxy.close();
        }
        if (pipelines != null) {
            pipelines.close();
        }
        if (policies != null) {
            policies.close();
        }
        if (tls != null) {
            tls.close();
        }
        app.stop(0);
        app2.stop(0);
        app3.stop(0);
        echo.close();
    }

    static HttpServer app() throws IOException {
        HttpServer server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 256);
        server.setExecutor(java.util.concurrent.Executors.newFixedThreadPool(8, r -> {
            Thread t = new Thread(r, "app");
            t.setDaemon(true);
            return t;
        }));
        server.createContext("/", exchange -> {
            byte[] body = exchange.getRequestBody().readAllBytes();
            seen.put(exchange.getRequestURI().toString(), Map.copyOf(exchange.getRequestHeaders()));
            remotePorts.put(exchange.getRequestURI().toString(), exchange.getRemoteAddress().getPort());
            byte[] out = ("app " + exchange.getRequestMethod() + " " + exchange.getRequestURI() + " " + body.length)
                    .getBytes(StandardCharsets.UTF_8);
            exchange.sendResponseHeaders(200, out.length);
            try (OutputStream os = exchange.getResponseBody()) {
                os.write(out);
            }
        });
        server.start();
        return server;
    }

    static void echoLoop() {
        while (!echo.isClosed()) {
            try {
                Socket s = echo.accept();
                Thread t = new Thread(() -> {
                    try (s) {
                        s.getInputStream().transferTo(s.getOutputStream());
                    } catch (IOException ignored) {
                        // the test closed it
                    }
                });
                t.setDaemon(true);
                t.start();
            } catch (IOException e) {
                return;
            }
        }
    }

    static List<String> curl(int port, String path, String... extra) {
        List<String> cmd = new ArrayList<>(List.of("curl", "-sS", "--resolve", "localhost:" + port + ":127.0.0.1",
                "--cert", clientPem[0].toString(), "--key", clientPem[1].toString(), "--cacert", clientPem[2].toString(),
                "-w", "\n%{http_code} %{http_version}"));
        cmd.addAll(List.of(extra));
        if (!cmd.contains("--http2")) {
            cmd.add("--http1.1");
        }
        cmd.add("https://localhost:" + port + path);
        return cmd;
    }

    static String sha256Hex(byte[] der) throws Exception {
        return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(der));
    }

    static String scrape() throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        metrics.writeText(out);
        return out.toString(StandardCharsets.UTF_8);
    }

    @Test
    void curlOverMutualTlsReachesTheAppWithXfccAndTraceHeaders() throws Exception {
        Processes.Result r = Processes.run(curl(proxy.port(), "/hello?x=1", "-H", "x-forwarded-client-cert: By=evil;URI=spiffe://evil/ns/x/sa/y"), null);

        assertThat(r.exit()).as(r.output()).isZero();
        assertThat(r.output()).startsWith("app GET /hello?x=1 0").endsWith("200 1.1");
        Map<String, List<String>> headers = seen.get("/hello?x=1");
        assertThat(headers.get("X-forwarded-client-cert")).containsExactly(
                "By=" + WEB + ";Hash=" + sha256Hex(client.certificate().getEncoded()) + ";URI=" + CLIENT);
        assertThat(headers.get("X-request-id")).singleElement().asString().hasSizeGreaterThan(8);
        assertThat(headers.get("Traceparent")).singleElement().asString()
                .matches("00-[0-9a-f]{32}-[0-9a-f]{16}-01");
        assertThat(scrape()).contains("connection_security_policy=\"mutual_tls\"")
                .contains("source_principal=\"" + CLIENT + "\"");
    }

    @Test
    void validTraceparentAndRequestIdArePassedOnAndInvalidOnesReplaced() throws Exception {
        String tp = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
        Processes.Result r = Processes.run(curl(proxy.port(), "/trace-ok", "-H", "traceparent: " + tp,
                "-H", "x-request-id: req-42"), null);
        assertThat(r.output()).endsWith("200 1.1");
        assertThat(seen.get("/trace-ok").get("Traceparent")).containsExactly(tp);
        assertThat(seen.get("/trace-ok").get("X-request-id")).containsExactly("req-42");

        r = Processes.run(curl(proxy.port(), "/trace-bad", "-H", "traceparent: 00-zz-bad"), null);
        assertThat(r.output()).endsWith("200 1.1");
        assertThat(seen.get("/trace-bad").get("Traceparent")).singleElement().asString()
                .isNotEqualTo("00-zz-bad").matches("00-[0-9a-f]{32}-[0-9a-f]{16}-01");
        assertThat(accessLog).anyMatch(l -> l.contains("\"path\":\"/trace-ok\"") && l.contains("\"request_id\":\"req-42\"")
                && l.contains("\"traceparent\":\"" + tp + "\""));
    }

    @Test
    void curlHttp2OverMutualTls() throws Exception {
        Processes.Result r = Processes.run(curl(proxy.port(), "/h2", "--http2", "-X", "POST", "-d", "abc"), null);

        assertThat(r.exit()).as(r.output()).isZero();
        assertThat(r.output()).startsWith("app POST /h2 3").endsWith("200 2");
        assertThat(seen.get("/h2").get("X-forwarded-client-cert")).singleElement().asString().contains("URI=" + CLIENT);
        assertThat(seen.get("/h2").keySet()).noneMatch(h -> h.toLowerCase().startsWith("x-http2"));
    }

    @Test
    void opensslWithoutAClientCertificateIsRefusedOnAStrictPort() throws Exception {
        Processes.Result r = Processes.run(List.of("openssl", "s_client", "-connect", "127.0.0.1:" + proxy.port(),
                "-CAfile", clientPem[2].toString(), "-servername", "localhost", "-ign_eof"),
                "GET /no-cert HTTP/1.1\r\nHost: localhost\r\n\r\n");

        assertThat(r.output()).doesNotContain("HTTP/1.1 200");
        assertThat(r.output()).containsIgnoringCase("alert");
        assertThat(seen).doesNotContainKey("/no-cert");
    }

    @Test
    void plaintextOnAPermissivePortIsAcceptedAndLabelledNone() throws Exception {
        int port = proxy.port(app2Port);
        Processes.Result r = Processes.run(List.of("curl", "-sS", "-w", "\n%{http_code}",
                "http://127.0.0.1:" + port + "/plain"), null);
        assertThat(r.output()).startsWith("app GET /plain 0").endsWith("200");
        assertThat(seen.get("/plain")).doesNotContainKey("X-forwarded-client-cert");
        assertThat(seen.get("/plain").get("X-forwarded-proto")).containsExactly("http");

        Processes.Result tls = Processes.run(curl(port, "/permissive-tls"), null);
        assertThat(tls.output()).endsWith("200 1.1");
        assertThat(seen.get("/permissive-tls").get("X-forwarded-client-cert")).singleElement().asString()
                .contains("URI=" + CLIENT);

        Processes.Result h2c = Processes.run(List.of("curl", "-sS", "--http2-prior-knowledge", "-w", "\n%{http_code} %{http_version}",
                "http://127.0.0.1:" + port + "/h2c"), null);
        assertThat(h2c.output()).startsWith("app GET /h2c 0").endsWith("200 2");

        assertThat(scrape().lines())
                .anyMatch(l -> l.startsWith("istio_requests_total{") && l.contains("connection_security_policy=\"none\"")
                        && l.contains("response_code=\"200\"") && l.contains("reporter=\"destination\""));
    }

    @Test
    void anAuthorizationPolicyDenyGives403AndTheAccessLogNamesThePolicy() throws Exception {
        Processes.Result r = Processes.run(curl(proxy.port(), "/admin/users"), null);

        assertThat(r.output()).isEqualTo("RBAC: access denied\n403 1.1");
        assertThat(seen).doesNotContainKey("/admin/users");
        assertThat(accessLog).anyMatch(l -> l.contains("\"path\":\"/admin/users\"") && l.contains("\"status\":403")
                && l.contains("\"authz_decision\":\"denied\"") && l.contains("\"authz_policy\":\"default/deny-admin\""));
    }

    @Test
    void anInvalidTokenGives401WithWwwAuthenticateAndAValidOnePasses() throws Exception {
        String bad = token(ISSUER, "ES256") + "x";
        Processes.Result r = Processes.run(curl(proxy.port(), "/jwt-bad", "-i", "-H", "Authorization: Bearer " + bad), null);
        assertThat(r.output()).startsWith("HTTP/1.1 401").containsIgnoringCase("www-authenticate: Bearer")
                .endsWith("401 1.1");
        assertThat(seen).doesNotContainKey("/jwt-bad");
        assertThat(accessLog).noneMatch(l -> l.contains(bad));

        String good = token(ISSUER, "ES256");
        r = Processes.run(curl(proxy.port(), "/jwt-good", "-H", "Authorization: Bearer " + good), null);
        assertThat(r.output()).endsWith("200 1.1");
        assertThat(accessLog).anyMatch(l -> l.contains("\"path\":\"/jwt-good\"")
                && l.contains("\"request_principal\":\"" + ISSUER + "/alice\""));
        assertThat(accessLog).noneMatch(l -> l.contains(good));
    }

    static String token(String issuer, String alg) throws Exception {
        JsonWebSignature jws = new JsonWebSignature();
        long now = Instant.now().getEpochSecond();
        jws.setPayload(JsonUtil.toJson(Map.of("iss", issuer, "sub", "alice", "exp", now + 3600, "iat", now)));
        jws.setAlgorithmHeaderValue(alg);
        jws.setKeyIdHeaderValue("k1");
        jws.setKey(jwtKey.getPrivate());
        return jws.getCompactSerialization();
    }

    @Test
    void aBadPolicyUpdateKeepsTheLastGoodPipeline() throws Exception {
        long version = pipelines.current().version();
        Path bad = policyDir.resolve("zz-bad.yaml");
        // Written elsewhere and moved in, as config management does: the source never sees half a file.
        Path staged = dir.resolve("zz-bad.yaml.tmp");
        Files.writeString(staged, """
                apiVersion: security.istio.io/v1
                kind: AuthorizationPolicy
                metadata:
                  name: broken
                  namespace: default
                spec:
                  action: SOMETIMES
                """);
        Files.move(staged, bad, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
        try {
            long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
            while (policies.errors().isEmpty() && System.nanoTime() < deadline) {
                Thread.sleep(20);
            }
            assertThat(policies.errors()).isNotEmpty();
            assertThat(pipelines.current().version()).isEqualTo(version);
            assertThat(Processes.run(curl(proxy.port(), "/admin/x"), null).output()).endsWith("403 1.1");
            assertThat(Processes.run(curl(proxy.port(), "/still-ok"), null).output()).endsWith("200 1.1");
        } finally {
            Files.delete(bad);
        }
    }

    @Test
    void aTcpPortRelaysBytesOverMutualTlsAndPlaintext() throws Exception {
        int port = proxy.port(echo.getLocalPort());
        try (SSLSocket s = (SSLSocket) TestIdentity.clientContext(pki, client).getSocketFactory()
                .createSocket("127.0.0.1", port)) {
            s.setSoTimeout(10_000);
            s.getOutputStream().write("ping over mtls\n".getBytes(StandardCharsets.UTF_8));
            s.getOutputStream().flush();
            assertThat(new String(s.getInputStream().readNBytes(15), StandardCharsets.UTF_8)).isEqualTo("ping over mtls\n");
        }
        // plaintext has no principal: denied at connect time by deny-plaintext-tcp, the connection closed
        try (Socket s = new Socket("127.0.0.1", port)) {
            s.setSoTimeout(10_000);
            s.getOutputStream().write("plain ping\n".getBytes(StandardCharsets.UTF_8));
            assertThat(s.getInputStream().readAllBytes()).isEmpty();
        }
        assertThat(accessLog).anyMatch(l -> l.contains("\"protocol\":\"TCP\"") && l.contains("\"authz_decision\":\"denied\"")
                && l.contains("\"authz_policy\":\"default/deny-plaintext-tcp\""));
        long deadline = System.nanoTime() + Duration.ofSeconds(5).toNanos();
        while (!scrape().contains("istio_tcp_connections_closed_total{") && System.nanoTime() < deadline) {
            Thread.sleep(20);
        }
        assertThat(scrape()).contains("istio_tcp_connections_opened_total{")
                .contains("istio_tcp_connections_closed_total{");
    }

    static String raw(int port, String request) throws IOException {
        try (Socket s = new Socket("127.0.0.1", port)) {
            s.setSoTimeout(10_000);
            s.getOutputStream().write(request.getBytes(StandardCharsets.ISO_8859_1));
            s.getOutputStream().flush();
            InputStream in = s.getInputStream();
            return new String(in.readAllBytes(), StandardCharsets.ISO_8859_1);
        }
    }

    @Test
    void requestSmugglingShapesAreRejectedWith400AndClose() throws IOException {
        int port = proxy.port(app2Port);
        List<String> shapes = List.of(
                "POST /s1 HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
                "POST /s2 HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\nContent-Length: 5\r\n\r\nabcde",
                "POST /s3 HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\nContent-Length: 4\r\n\r\nabcd",
                "GET /s4 HTTP/1.1\r\nHost: a\r\nX-Folded: a\r\n b\r\n\r\n",
                "POST /s5 HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n",
                "GET /s6 HTTP/1.1\r\nHost: a\r\nBad Name: x\r\n\r\n",
                "POST /s7 HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: identity\r\n\r\n0\r\n\r\n");
        for (String shape : shapes) {
            // readAllBytes returning means the proxy closed the connection.
            assertThat(raw(port, shape)).as(shape).startsWith("HTTP/1.1 400 ").contains("connection: close");
        }
        assertThat(seen.keySet()).noneMatch(k -> k.startsWith("/s"));
    }

    @Test
    void pipelinedAndChunkedRequestsAreFramedAndAnswered() throws IOException {
        int port = proxy.port(app2Port);
        String out = raw(port, "POST /c1 HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"
                + "GET /c2 HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n");
        assertThat(out).contains("app POST /c1 3").contains("app GET /c2 0");
        assertThat(out.indexOf("/c1")).isLessThan(out.indexOf("/c2"));
    }

    @Test
    void oversizedHeadersGet431AndSlowHeadersGet408() throws Exception {
        int port = proxy.port(app2Port);
        assertThat(raw(port, "GET /big HTTP/1.1\r\nHost: a\r\nX-Big: " + "a".repeat(5000) + "\r\n\r\n"))
                .startsWith("HTTP/1.1 431 ");
        StringBuilder many = new StringBuilder("GET /many HTTP/1.1\r\nHost: a\r\n");
        for (int i = 0; i < 60; i++) {
            many.append("X-H").append(i).append(": v\r\n");
        }
        assertThat(raw(port, many.append("\r\n").toString())).startsWith("HTTP/1.1 431 ");

        // slowloris: a request whose headers never end
        try (Socket s = new Socket("127.0.0.1", port)) {
            s.setSoTimeout(10_000);
            s.getOutputStream().write("GET /slow HTTP/1.1\r\nHost: a\r\nX-1: a\r\n".getBytes(StandardCharsets.US_ASCII));
            s.getOutputStream().flush();
            assertThat(new String(s.getInputStream().readAllBytes(), StandardCharsets.US_ASCII))
                    .startsWith("HTTP/1.1 408 ");
        }
        assertThat(seen).doesNotContainKeys("/big", "/many", "/slow");
    }

    @Test
    void aBodyOverTheLimitGets413() throws Exception {
        int port = proxy.port(app2Port);
        String out = raw(port, "POST /large HTTP/1.1\r\nHost: a\r\nContent-Length: " + (1024 * 1024 + 1) + "\r\n\r\n");
        assertThat(out).startsWith("HTTP/1.1 413 ");
        assertThat(seen).doesNotContainKey("/large");
    }

    @Test
    void aPortLevelPeerAuthenticationMakesAPermissivePortStrict() throws Exception {
        int port = proxy.port(app3Port);
        Processes.Result plain = Processes.run(List.of("curl", "-sS", "http://127.0.0.1:" + port + "/strict-plain"), null);
        assertThat(plain.exit()).isNotZero();
        assertThat(seen).doesNotContainKey("/strict-plain");
        assertThat(Processes.run(curl(port, "/strict-mtls"), null).output()).endsWith("200 1.1");
    }

    @Test
    void tlsWithoutAClientCertificateOnAPermissivePortIsNotMutualTls() throws Exception {
        int port = proxy.port(app2Port);
        Processes.Result r = Processes.run(List.of("curl", "-sS", "--http1.1", "--resolve", "localhost:" + port + ":127.0.0.1",
                "--cacert", clientPem[2].toString(), "-w", "\n%{http_code}", "https://localhost:" + port + "/tls-no-cert"), null);
        assertThat(r.output()).as(r.output()).startsWith("app GET /tls-no-cert 0").endsWith("200");
        assertThat(seen.get("/tls-no-cert")).doesNotContainKey("X-forwarded-client-cert");
        assertThat(seen.get("/tls-no-cert").get("X-forwarded-proto")).containsExactly("https");
        assertThat(accessLog).anyMatch(l -> l.contains("\"path\":\"/tls-no-cert\"")
                && l.contains("\"connection_security_policy\":\"none\""));
    }

    @Test
    void clientCertificatesThatAreNotValidSvidsAreRefused() throws Exception {
        List<TestLeaf> bad = List.of(
                pki.leaf(CLIENT).extraUriSan("spiffe://cluster.local/ns/default/sa/other").issue(),
                pki.leaf(CLIENT).caFlag().issue(),
                pki.leaf(CLIENT).expired().issue(),
                pki.leaf(CLIENT).signedByUntrustedRoot().issue(),
                pki.leaf("spiffe://evil.example/ns/default/sa/client").issue());
        for (int i = 0; i < bad.size(); i++) {
            String path = "/bad-cert-" + i;
            try (SSLSocket s = (SSLSocket) TestIdentity.clientContext(pki, bad.get(i)).getSocketFactory()
                    .createSocket("127.0.0.1", proxy.port(app2Port))) {
                s.setSoTimeout(10_000);
                s.getOutputStream().write(("GET " + path + " HTTP/1.1\r\nHost: a\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
                s.getOutputStream().flush();
                assertThat(s.getInputStream().read()).isEqualTo(-1);
            } catch (IOException expected) {
                // the handshake failed on the client side: refused as well
            }
            assertThat(seen).as(path).doesNotContainKey(path);
        }
    }

    @Test
    void manyConcurrentRequestsOverOneHttp2ConnectionAllArrive() throws Exception {
        HttpClient h2 = HttpClient.newBuilder().version(HttpClient.Version.HTTP_2)
                .sslContext(TestIdentity.clientContext(pki, client)).build();
        List<CompletableFuture<HttpResponse<String>>> responses = new ArrayList<>();
        for (int i = 0; i < 50; i++) {
            responses.add(h2.sendAsync(HttpRequest.newBuilder(URI.create("https://localhost:" + proxy.port() + "/many/" + i))
                    .build(), HttpResponse.BodyHandlers.ofString()));
        }
        for (int i = 0; i < responses.size(); i++) {
            HttpResponse<String> r = responses.get(i).get(30, TimeUnit.SECONDS);
            assertThat(r.version()).isEqualTo(HttpClient.Version.HTTP_2);
            assertThat(r.statusCode()).isEqualTo(200);
            assertThat(r.body()).isEqualTo("app GET /many/" + i + " 0");
        }
    }

    @Test
    void keepAliveConnectionsToTheAppAreReused() throws Exception {
        int port = proxy.port(app2Port);
        // One downstream connection (curl reuses it for the three URLs), so one event loop and its pool.
        assertThat(Processes.run(List.of("curl", "-sS", "http://127.0.0.1:" + port + "/reuse0",
                "http://127.0.0.1:" + port + "/reuse1", "http://127.0.0.1:" + port + "/reuse2"), null).output())
                .contains("app GET /reuse0").contains("app GET /reuse1").contains("app GET /reuse2");
        assertThat(remotePorts.get("/reuse1")).isEqualTo(remotePorts.get("/reuse0"));
        assertThat(remotePorts.get("/reuse2")).isEqualTo(remotePorts.get("/reuse0"));
    }

    @Test
    void aPathThatDoesNotNormalizeGets400() throws Exception {
        int port = proxy.port(app2Port);
        assertThat(raw(port, "GET /a%00b HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")).startsWith("HTTP/1.1 400 ");
    }

    @Test
    void rotationServesTheNewCertificateToNewConnections() throws Exception {
        var before = tls.material().orElseThrow();
        SSLSocket established = (SSLSocket) TestIdentity.clientContext(pki, client).getSocketFactory()
                .createSocket("127.0.0.1", proxy.port());
        established.setSoTimeout(10_000);
        established.startHandshake();
        var next = identity.issue(WEB);
        identity.rotate(next);
        try (established) {
            assertThat(established.getSession().getPeerCertificates()[0]).isEqualTo(before.leaf());
            established.getOutputStream().write("GET /established HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n"
                    .getBytes(StandardCharsets.US_ASCII));
            established.getOutputStream().flush();
            assertThat(new String(established.getInputStream().readAllBytes(), StandardCharsets.US_ASCII))
                    .startsWith("HTTP/1.1 200 ").endsWith("app GET /established 0");
        }
        try (SSLSocket s = (SSLSocket) TestIdentity.clientContext(pki, client).getSocketFactory()
                .createSocket("127.0.0.1", proxy.port())) {
            s.startHandshake();
            assertThat(s.getSession().getPeerCertificates()[0]).isEqualTo(next.leaf()).isNotEqualTo(before.leaf());
        }
        assertThat(Processes.run(curl(proxy.port(), "/after-rotation"), null).output()).endsWith("200 1.1");
    }
}
