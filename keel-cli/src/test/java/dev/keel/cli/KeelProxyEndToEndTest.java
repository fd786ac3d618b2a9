package dev.keel.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.sun.net.httpserver.HttpServer;
import dev.keel.testing.TestCsr;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The mesh's data path from the operator's commands alone, each part its own process on loopback:
 * {@code keel ca serve}, {@code keel agent run}, and {@code keel proxy run} in front of an app; the
 * proxy's SVID comes from the agent, a client holding an SVID of the same CA calls through it with
 * the real {@code curl}, and an AuthorizationPolicy decides.
 */
class KeelProxyEndToEndTest extends ConsoleTest {

    @TempDir
    Path tmp;

    private Path socketDir;
    private final List<KeelProcess> processes = new ArrayList<>();
    private HttpServer app;
    private ServerSocket echo;

    @BeforeEach
    void shortSocketPath() throws IOException {
        socketDir = Files.createTempDirectory(Path.of("/tmp"), "keel-px-");
    }

    @AfterEach
    void stopEverything() throws Exception {
        for (KeelProcess p : processes) {
            p.close();
        }
        if (app != null) {
            app.stop(0);
        }
        if (echo != null) {
            echo.close();
        }
        try (Stream<Path> files = Files.walk(socketDir)) {
            files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        }
    }

    @Test
    void aClientWithAnSvidReachesTheAppThroughTheProxyAndPolicyDecides() throws Exception {
        Map<String, String> seenXfcc = new ConcurrentHashMap<>();
        app = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 16);
        app.createContext("/", exchange -> {
            String xfcc = exchange.getRequestHeaders().getFirst("x-forwarded-client-cert");
            seenXfcc.put(exchange.getRequestURI().getPath(), xfcc == null ? "" : xfcc);
            byte[] body = ("hello from the app: " + exchange.getRequestURI().getPath()).getBytes(StandardCharsets.UTF_8);
            exchange.sendResponseHeaders(200, body.length);
            try (OutputStream out = exchange.getResponseBody()) {
                out.write(body);
            }
        });
        app.start();

        Path caDir = tmp.resolve("ca");
        assertThat(Keel.run("ca", "init", "--data-dir", caDir.toString())).isZero();
        // Two clients with SVIDs of this CA, issued offline by the operator before the CA runs (the
        // running CA holds its audit log): the frontend and a stranger.
        Path frontend = clientSvid(caDir, "spiffe://cluster.local/ns/shop/sa/frontend");
        Path stranger = clientSvid(caDir, "spiffe://cluster.local/ns/other/sa/stranger");
        int caPort = freePort();
        KeelProcess ca = start("ca", "ca", "serve", "--data-dir", caDir.toString(), "--host", "127.0.0.1",
                "--port", String.valueOf(caPort), "--bundle-port", "-1");
        ca.await("keel CA for .* serving", Duration.ofSeconds(60));

        out.reset();
        assertThat(Keel.run("ca", "token", "create", "--dir", caDir.toString(), "--node", "node-1")).isZero();
        Matcher token = Pattern.compile("(?m)^token: +(\\S+)$").matcher(stdout());
        assertThat(token.find()).isTrue();
        Path tokenFile = tmp.resolve("join-token");
        Files.writeString(tokenFile, token.group(1));
        assertThat(Keel.run("ca", "entry", "create", "--dir", caDir.toString(),
                "--spiffe-id", "spiffe://cluster.local/ns/shop/sa/orders",
                "--parent-id", "spiffe://cluster.local/keel/node/node-1", "--selector", "unix:uid:" + ownUid())).isZero();

        Path socket = socketDir.resolve("agent.sock");
        KeelProcess agent = start("agent", "agent", "run", "--ca", "127.0.0.1:" + caPort,
                "--ca-bundle", caDir.resolve("root-cert.pem").toString(), "--data-dir", tmp.resolve("agent").toString(),
                "--socket", "unix://" + socket, "--join-token-file", tokenFile.toString(), "--admin-port", "-1");
        agent.await("Workload API: unix://", Duration.ofSeconds(60));

        // The policy: /admin is denied to everyone; everything else allowed to the frontend's identity. The
        // DENY names the HTTP port: on a TCP port Istio drops its HTTP-only fields, which would deny all.
        Path policies = Files.createDirectories(tmp.resolve("policies"));
        Files.writeString(policies.resolve("orders.yaml"), """
                apiVersion: security.istio.io/v1
                kind: AuthorizationPolicy
                metadata: {name: deny-admin, namespace: shop}
                spec:
                  selector: {matchLabels: {app: orders}}
                  action: DENY
                  rules: [{to: [{operation: {paths: ["/admin*"], ports: ["%d"]}}]}]
                ---
                apiVersion: security.istio.io/v1
                kind: AuthorizationPolicy
                metadata: {name: frontend-only, namespace: shop}
                spec:
                  selector: {matchLabels: {app: orders}}
                  action: ALLOW
                  rules: [{from: [{source: {principals: ["cluster.local/ns/shop/sa/frontend", "cluster.local/ns/shop/sa/orders"]}}]}]
                """.formatted(app.getAddress().getPort()));
        int inboundPort = freePort();
        int adminPort = freePort();
        int outboundPort = freePort();
        int tcpInboundPort = freePort();
        int tcpOutboundPort = freePort();
        int impostorTcpPort = freePort();
        echo = new ServerSocket(0, 16, InetAddress.getLoopbackAddress());
        Thread echoThread = new Thread(this::echoLoop, "echo");
        echoThread.setDaemon(true);
        echoThread.start();
        Path proxyConfig = tmp.resolve("proxy.yaml");
        Files.writeString(proxyConfig, """
                workload: {namespace: shop, serviceAccount: orders, labels: {app: orders}, trustDomain: cluster.local}
                inbound:
                  host: 127.0.0.1
                  port: %d
                  mode: STRICT
                  ports: [{port: %d, listenPort: %d, protocol: TCP, mode: STRICT}]
                app: {host: 127.0.0.1, port: %d}
                policyDirectory: %s
                adminPort: %d
                workloadApiSocket: unix://%s
                outbound:
                  host: 127.0.0.1
                  port: %d
                  routes:
                    - {host: orders.shop, port: 80, address: "127.0.0.1:%d",
                       identities: [spiffe://cluster.local/ns/shop/sa/orders]}
                    - {host: impostor.shop, port: 80, address: "127.0.0.1:%d",
                       identities: [spiffe://cluster.local/ns/shop/sa/payments]}
                    - {host: orders-h2.shop, port: 80, protocol: HTTP2, address: "127.0.0.1:%d",
                       identities: [spiffe://cluster.local/ns/shop/sa/orders]}
                    - {host: echo.shop, port: 7, protocol: TCP, listenPort: %d, address: "127.0.0.1:%d",
                       identities: [spiffe://cluster.local/ns/shop/sa/orders]}
                    - {host: impostor-echo.shop, port: 7, protocol: TCP, listenPort: %d, address: "127.0.0.1:%d",
                       identities: [spiffe://cluster.local/ns/shop/sa/payments]}
                """.formatted(inboundPort, echo.getLocalPort(), tcpInboundPort, app.getAddress().getPort(), policies,
                adminPort, socket, outboundPort, inboundPort, inboundPort, inboundPort, tcpOutboundPort, tcpInboundPort,
                impostorTcpPort, tcpInboundPort));
        KeelProcess proxy = start("proxy", "proxy", "run", "--config", proxyConfig.toString());
        proxy.await("keel proxy for spiffe://cluster.local/ns/shop/sa/orders serving", Duration.ofSeconds(60));

        assertThat(curl(frontend, inboundPort, "/orders/42")).endsWith("200").contains("hello from the app: /orders/42");
        assertThat(seenXfcc.get("/orders/42")).contains("By=spiffe://cluster.local/ns/shop/sa/orders")
                .contains("URI=spiffe://cluster.local/ns/shop/sa/frontend").contains("Hash=");
        assertThat(curl(frontend, inboundPort, "/admin/users")).endsWith("403").contains("RBAC: access denied");
        assertThat(curl(stranger, inboundPort, "/orders/42")).endsWith("403");
        assertThat(seenXfcc).doesNotContainKey("/admin/users");
        // STRICT: no client certificate, no connection.
        assertThat(run(List.of("curl", "-sS", "-k", "-o", "/dev/null", "-w", "%{http_code}",
                "https://127.0.0.1:" + inboundPort + "/orders/42"))).doesNotEndWith("200");

        // Outbound: the app speaks plaintext to its proxy, which originates mTLS with its own SVID and
        // checks who answers (secure naming). Here the destination is this same proxy's inbound side.
        assertThat(run(List.of("curl", "-sS", "-H", "Host: orders.shop", "-w", "\n%{http_code}",
                "http://127.0.0.1:" + outboundPort + "/orders/7"))).endsWith("200");
        assertThat(seenXfcc.get("/orders/7")).contains("URI=spiffe://cluster.local/ns/shop/sa/orders");
        // A destination that must be payments but presents orders' SVID: refused before any request.
        assertThat(run(List.of("curl", "-sS", "-o", "/dev/null", "-H", "Host: impostor.shop", "-w", "%{http_code}",
                "http://127.0.0.1:" + outboundPort + "/orders/8"))).isEqualTo("503");
        assertThat(seenXfcc).doesNotContainKey("/orders/8");
        // h2c from the app (curl with prior knowledge) goes upstream as h2 over mTLS.
        assertThat(run(List.of("curl", "-sS", "--http2-prior-knowledge", "-w", "\n%{http_code} %{http_version}",
                "--connect-to", "orders.shop:80:127.0.0.1:" + outboundPort, "http://orders.shop/orders/h2")))
                .endsWith("200 2").contains("hello from the app: /orders/h2");
        assertThat(seenXfcc.get("/orders/h2")).contains("URI=spiffe://cluster.local/ns/shop/sa/orders");
        // A route declared HTTP2 carries an HTTP/1.1 request from the app as h2.
        assertThat(run(List.of("curl", "-sS", "-H", "Host: orders-h2.shop", "-w", "\n%{http_code}",
                "http://127.0.0.1:" + outboundPort + "/orders/via-h2"))).endsWith("200");
        assertThat(seenXfcc.get("/orders/via-h2")).contains("URI=spiffe://cluster.local/ns/shop/sa/orders");
        // TCP: the app's bytes to the route's listen port reach the echo behind the STRICT TCP port, over mTLS.
        try (Socket tcp = new Socket("127.0.0.1", tcpOutboundPort)) {
            tcp.setSoTimeout(15_000);
            byte[] line = "ping through the mesh\n".getBytes(StandardCharsets.US_ASCII);
            tcp.getOutputStream().write(line);
            assertThat(tcp.getInputStream().readNBytes(line.length)).isEqualTo(line);
        }
        // A TCP destination presenting the wrong identity: the app connection is closed, nothing relayed.
        try (Socket tcp = new Socket("127.0.0.1", impostorTcpPort)) {
            tcp.setSoTimeout(15_000);
            int first;
            try {
                first = tcp.getInputStream().read();
            } catch (SocketException reset) {
                first = -1;
            }
            assertThat(first).isEqualTo(-1);
        }

        String certs = get("http://127.0.0.1:" + adminPort + "/certs");
        assertThat(certs).contains("spiffe://cluster.local/ns/shop/sa/orders");
        assertThat(get("http://127.0.0.1:" + adminPort + "/metrics"))
                .contains("istio_requests_total").contains("response_code=\"403\"")
                .contains("source_principal=\"spiffe://cluster.local/ns/shop/sa/frontend\"")
                .contains("keel_proxy_secure_naming_failures_total")
                .contains("destination=\"impostor-echo.shop:7\"")
                .containsPattern("istio_requests_total\\{[^}]*reporter=\"source\"")
                .containsPattern("istio_tcp_connections_opened_total\\{[^}]*reporter=\"source\"");
        assertThat(proxy.output()).contains("deny-admin");
    }

    private void echoLoop() {
        while (!echo.isClosed()) {
            try {
                Socket s = echo.accept();
                Thread t = new Thread(() -> {
                    try (s) {
                        s.getInputStream().transferTo(s.getOutputStream());
                    } catch (IOException ignored) {
                        // the peer went away
                    }
                });
                t.setDaemon(true);
                t.start();
            } catch (IOException e) {
                return;
            }
        }
    }

    private Path clientSvid(Path caDir, String spiffeId) throws Exception {
        TestCsr csr = TestCsr.builder().uriSan(spiffeId).build();
        String name = spiffeId.substring(spiffeId.lastIndexOf('/') + 1);
        Path dir = Files.createDirectories(tmp.resolve("clients").resolve(name));
        Files.writeString(dir.resolve("csr.pem"), csr.pem());
        Files.writeString(dir.resolve("key.pem"), dev.keel.identity.Pem.encode(dev.keel.identity.Pem.PRIVATE_KEY,
                csr.keyPair().getPrivate().getEncoded()));
        assertThat(Keel.run("ca", "issue", "--data-dir", caDir.toString(), "--csr", dir.resolve("csr.pem").toString(),
                "-o", dir.resolve("chain.pem").toString())).as(stderr()).isZero();
        return dir;
    }

    /** curl can check a chain but not a SPIFFE ID (a URI SAN), so the server side is checked through /certs. */
    private String curl(Path client, int port, String path) throws Exception {
        return run(List.of("curl", "-sS", "-k", "--cert", client.resolve("chain.pem").toString(),
                "--key", client.resolve("key.pem").toString(), "-w", "\n%{http_code}",
                "https://127.0.0.1:" + port + path));
    }

    private static String run(List<String> command) throws Exception {
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(30, TimeUnit.SECONDS)).isTrue();
        return output.strip();
    }

    private static String get(String url) throws Exception {
        HttpResponse<String> response = HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create(url)).build(),
                HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8));
        return response.body();
    }

    private KeelProcess start(String name, String... args) throws IOException {
        KeelProcess p = KeelProcess.start(name, tmp.resolve("logs"), Map.of(), args);
        processes.add(0, p);
        return p;
    }

    private static int ownUid() throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
            if (line.startsWith("Uid:")) {
                return Integer.parseInt(line.split("\\s+")[1]);
            }
        }
        throw new IllegalStateException("no Uid line in /proc/self/status");
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }
}
