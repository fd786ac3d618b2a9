package dev.keel.proxy.outbound;

import static dev.keel.proxy.outbound.TwoProxies.BACKEND;
import static dev.keel.proxy.outbound.TwoProxies.FRONTEND;
import static dev.keel.proxy.outbound.TwoProxies.IMPOSTOR;
import static org.assertj.core.api.Assertions.assertThat;

import dev.keel.proxy.ProxyConfig;
import dev.keel.proxy.tls.MutableIdentitySource;
import dev.keel.testing.TestPki;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The outbound side with each protocol, end to end between two whole proxies and with real clients:
 * curl speaking h2c (prior knowledge) and HTTP/1.1 to the outbound listener, a TCP echo through a
 * TCP route to the backend proxy's TCP port. Which protocol went upstream is read from the backend
 * proxy's access log; which connection, from its {@code downstream_remote_address}.
 */
class OutboundProtocolsTest {

    static TwoProxies mesh;
    static UpstreamServer http1Only;

    @BeforeAll
    static void start() throws Exception {
        TestPki pki = TestPki.create();
        http1Only = new UpstreamServer(MutableIdentitySource.material(pki, BACKEND), List.of("http/1.1"));
        mesh = new TwoProxies(pki, (routes, http, tcp) -> routes
                .route("backend.shop", 80, http, BACKEND)
                .route("backend-h2.shop", 80, RouteProtocol.HTTP2, 0, http, BACKEND)
                .route("wrong.shop", 80, http, IMPOSTOR)
                .route("old.shop", 80, RouteProtocol.HTTP2, 0, http1Only.address(), BACKEND)
                .route("echo.shop", 7, RouteProtocol.TCP, 0, tcp, BACKEND)
                .route("wrong-echo.shop", 7, RouteProtocol.TCP, 0, tcp, IMPOSTOR), b -> b);
    }

    @AfterAll
    static void stop() throws Exception {
        if (mesh != null) {
            mesh.close();
        }
        if (http1Only != null) {
            http1Only.close();
        }
    }

    @Test
    void h2cFromTheAppGoesUpstreamAsH2WithItsStreamsOnOneMutualTlsConnection() throws Exception {
        // h2load multiplexes 20 concurrent streams on one h2c connection to the outbound listener.
        String out = run(List.of("h2load", "-n", "40", "-c", "1", "-m", "20", "-H", ":authority: backend.shop",
                "http://127.0.0.1:" + mesh.outbound.port() + "/mux"));

        assertThat(out).contains("40 succeeded").contains("status codes: 40 2xx");
        List<String> upstream = accessLog("/mux");
        assertThat(upstream).hasSize(40).allMatch(l -> l.contains("\"protocol\":\"HTTP/2\""))
                .allMatch(l -> l.contains("\"source_principal\":\"" + FRONTEND + "\""));
        assertThat(upstream.stream().map(OutboundProtocolsTest::downstreamAddress).collect(Collectors.toSet()))
                .as("every stream on one upstream connection").hasSize(1);
        assertThat(TwoProxies.scrape(mesh.sourceMetrics)).containsPattern(sourceRequestLine("200"));

        // curl, h2c with prior knowledge, sees what the app answered.
        String curl = curl(List.of("--http2-prior-knowledge"), "http://backend.shop/curl-h2");
        assertThat(curl).contains("status=200 version=2").contains("host=backend.shop")
                .contains("URI=" + FRONTEND).contains("By=" + BACKEND);
    }

    @Test
    void moreConcurrentStreamsThanTheDestinationAllowsWaitForAFreeStreamOnTheSameConnection() throws Exception {
        try (TwoProxies small = new TwoProxies(TestPki.create(),
                (routes, http, tcp) -> routes.route("backend.shop", 80, http, BACKEND), b -> b,
                config -> config.withLimits(new ProxyConfig.Limits(8192, 100, 1 << 20, Duration.ofMinutes(1),
                        Duration.ofSeconds(10), 2)))) {
            String out = run(List.of("h2load", "-n", "60", "-c", "1", "-m", "20", "-H", ":authority: backend.shop",
                    "http://127.0.0.1:" + small.outbound.port() + "/busy"));

            assertThat(out).contains("60 succeeded").contains("status codes: 60 2xx");
            assertThat(small.inboundAccessLog.stream().filter(l -> l.contains("\"path\":\"/busy"))
                    .map(OutboundProtocolsTest::downstreamAddress).collect(Collectors.toSet())).hasSize(1);
        }
    }

    @Test
    void anHttp2RouteCarriesHttp1FromTheAppAsH2AndAnHttpRouteKeepsHttp1() throws Exception {
        try (RawHttpClient app = new RawHttpClient(mesh.outbound.port())) {
            RawHttpClient.Response h2 = app.send("POST", "backend-h2.shop", "/via-h2", "{\"n\":1}");
            RawHttpClient.Response h1 = app.send("GET", "backend.shop", "/via-h1", null);

            assertThat(h2.status()).isEqualTo(200);
            assertThat(h2.body()).contains("app POST /via-h2 body=7").contains("host=backend-h2.shop");
            assertThat(h2.headers()).containsEntry("x-app", "yes").doesNotContainKey("x-http2-stream-id");
            assertThat(h1.status()).isEqualTo(200);
        }
        assertThat(accessLog("/via-h2")).singleElement().asString().contains("\"protocol\":\"HTTP/2\"");
        assertThat(accessLog("/via-h1")).singleElement().asString().contains("\"protocol\":\"HTTP/1.1\"");
    }

    @Test
    void anHttp2RouteFallsBackToHttp1WhenTheDestinationDoesNotNegotiateH2() throws Exception {
        for (String path : List.of("/a", "/b")) {
            String out = curl(List.of("--http2-prior-knowledge"), "http://old.shop" + path);
            assertThat(out).contains("status=200 version=2").contains("server=" + BACKEND).contains("caller=" + FRONTEND)
                    .contains("uri=" + path);
        }
        assertThat(http1Only.connections.get()).as("the HTTP/1.1 connection is pooled, h2 not retried").isEqualTo(1);
    }

    @Test
    void h2cToADestinationPresentingTheWrongIdentityIs503AndCounted() throws Exception {
        String out = curl(List.of("--http2-prior-knowledge"), "http://wrong.shop/x");

        assertThat(out).contains("secure naming").contains(BACKEND.toString()).contains("status=503 version=2");
        assertThat(accessLog("/x")).isEmpty();
        // The 503 is on the wire before its request is counted: wait (bounded) for the count.
        assertThat(awaitMetric(mesh.sourceMetrics, sourceRequestLine("503")))
                .contains("keel_proxy_secure_naming_failures_total{destination=\"wrong.shop:80\"}")
                .containsPattern(sourceRequestLine("503"));
    }

    @Test
    void tcpEchoGoesThroughTheRouteOverMutualTlsAndIsCountedBySource() throws Exception {
        try (Socket socket = new Socket("127.0.0.1", mesh.outbound.tcpPort("echo.shop:7"))) {
            socket.setSoTimeout(15_000);
            for (int i = 0; i < 3; i++) {
                byte[] line = ("ping " + i + "\n").getBytes(StandardCharsets.US_ASCII);
                socket.getOutputStream().write(line);
                assertThat(socket.getInputStream().readNBytes(line.length)).isEqualTo(line);
            }
        }
        String source = awaitMetric(mesh.sourceMetrics, "istio_tcp_connections_closed_total{");
        assertThat(source).containsPattern("istio_tcp_connections_opened_total\\{[^}]*destination_principal=\""
                + Pattern.quote(BACKEND.toString()) + "\"[^}]*reporter=\"source\"")
                .containsPattern("istio_tcp_received_bytes_total\\{[^}]*reporter=\"source\"[^}]*\\} 21")
                .containsPattern("istio_tcp_sent_bytes_total\\{[^}]*reporter=\"source\"[^}]*\\} 21");
        assertThat(awaitMetric(mesh.destinationMetrics, "istio_tcp_connections_closed_total{"))
                .containsPattern("istio_tcp_connections_opened_total\\{[^}]*reporter=\"destination\"[^}]*source_principal=\""
                        + Pattern.quote(FRONTEND.toString()) + "\"");
    }

    @Test
    void tcpToADestinationPresentingTheWrongIdentityIsClosedAndCounted() throws Exception {
        try (Socket socket = new Socket("127.0.0.1", mesh.outbound.tcpPort("wrong-echo.shop:7"))) {
            socket.setSoTimeout(15_000);
            OutputStream out = socket.getOutputStream();
            InputStream in = socket.getInputStream();
            try {
                out.write("secret\n".getBytes(StandardCharsets.US_ASCII));
                out.flush();
            } catch (IOException closedAlready) {
                // the proxy may have closed before the write
            }
            try {
                assertThat(in.read()).isEqualTo(-1);
            } catch (IOException reset) {
                assertThat(reset).hasMessageContaining("reset");
            }
        }
        assertThat(TwoProxies.scrape(mesh.sourceMetrics))
                .contains("keel_proxy_secure_naming_failures_total{destination=\"wrong-echo.shop:7\"}")
                .containsPattern("istio_tcp_connections_opened_total\\{[^}]*response_flags=\"UF\"");
    }

    private static Pattern sourceRequestLine(String code) {
        return Pattern.compile("istio_requests_total\\{[^}]*reporter=\"source\"[^}]*response_code=\"" + code + "\""
                + "[^}]*source_principal=\"" + Pattern.quote(FRONTEND.toString()) + "\"");
    }

    private static String awaitMetric(dev.keel.proxy.ProxyMetrics metrics, String needle) throws Exception {
        // Close is observed asynchronously on the proxies' loops; bounded wait, no timing asserted.
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        String text = TwoProxies.scrape(metrics);
        while (!text.contains(needle) && System.nanoTime() < deadline) {
            Thread.sleep(20);
            text = TwoProxies.scrape(metrics);
        }
        return text;
    }

    private static String awaitMetric(dev.keel.proxy.ProxyMetrics metrics, Pattern line) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        String text = TwoProxies.scrape(metrics);
        while (!line.matcher(text).find() && System.nanoTime() < deadline) {
            Thread.sleep(20);
            text = TwoProxies.scrape(metrics);
        }
        return text;
    }

    private static List<String> accessLog(String pathPrefix) {
        return mesh.inboundAccessLog.stream().filter(l -> l.contains("\"path\":\"" + pathPrefix)).toList();
    }

    private static String downstreamAddress(String line) {
        Matcher m = Pattern.compile("\"downstream_remote_address\":\"([^\"]+)\"").matcher(line);
        return m.find() ? m.group(1) : "none";
    }

    /** curl against the outbound listener, the URL's host resolved to it; prints status and version. */
    private static String curl(List<String> options, String url) throws Exception {
        // One URL per run: curl 7.88 fails reusing an h2c connection (exit 16), whatever the server.
        String host = url.replaceFirst("^http://([^/]+).*$", "$1");
        List<String> command = new ArrayList<>(List.of("curl", "-sS", "--max-time", "20", "-w",
                "\nstatus=%{http_code} version=%{http_version}\n", "--connect-to",
                host + ":80:127.0.0.1:" + mesh.outbound.port()));
        command.addAll(options);
        command.add(url);
        return run(command);
    }

    private static String run(List<String> command) throws Exception {
        Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
        String out = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(process.waitFor(30, TimeUnit.SECONDS)).isTrue();
        return out;
    }
}
