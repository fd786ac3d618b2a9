package dev.keel.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.sun.net.httpserver.HttpServer;
import dev.keel.identity.Pem;
import dev.keel.testing.TestCsr;
import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.cert.Certificate;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Queue;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManagerFactory;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Certificate rotation under continuous load, with the real CA and node agent: the agent issues the
 * proxy 20-second SVIDs and renews them every few seconds; meanwhile keep-alive and one-shot HTTP/1.1
 * app connections and long-lived and one-shot TCP connections go app -> outbound -> mTLS -> inbound
 * -> app (the proxy calling its own inbound side, as in {@link KeelProxyEndToEndTest}). Asserted: no
 * request or echo failed across several rotations, each rotation reached new handshakes (a fresh
 * mTLS client is served the serial {@code /certs} reports), and established connections stayed (no
 * client reconnected; an upstream connection made with the first SVID still carries requests after
 * the last rotation, past that SVID's expiry). The client certificate of new upstream handshakes is
 * checked in secure-proxy's {@code RotationUnderLoadTest}, where the test knows each certificate.
 * Every wait is for an event and bounded.
 */
class KeelProxyRotationEndToEndTest extends ConsoleTest {

    private static final int ROTATIONS = 3;
    private static final Pattern SERIAL = Pattern.compile("\"serial\"\\s*:\\s*\"([0-9a-f]+)\"");
    private static final Pattern XFCC_HASH = Pattern.compile("Hash=([0-9a-f]{64})");

    private Path tmp;
    private Path socketDir;
    private final List<KeelProcess> processes = new ArrayList<>();
    private HttpServer app;
    private final ExecutorService appThreads = Executors.newFixedThreadPool(8);
    private ServerSocket echo;
    private final AtomicBoolean stop = new AtomicBoolean();
    private final Map<String, AtomicLong> progress = new ConcurrentHashMap<>();
    private final Queue<String> failures = new ConcurrentLinkedQueue<>();
    /** XFCC hashes the app saw, in order of first appearance. */
    private final Set<String> hashes = Collections.synchronizedSet(new LinkedHashSet<>());
    private final Set<String> hashesAfterLastRotation = ConcurrentHashMap.newKeySet();
    private volatile boolean lastRotationSeen;
    private final List<Thread> drivers = new ArrayList<>();

    @BeforeEach
    void dirs() throws IOException {
        tmp = Files.createTempDirectory("keel-rot-");
        socketDir = Files.createTempDirectory(Path.of("/tmp"), "keel-rs-");
    }

    @AfterEach
    void stopEverything() throws Exception {
        stop.set(true);
        drivers.forEach(Thread::interrupt);
        for (KeelProcess p : processes) {
            p.close();
        }
        if (app != null) {
            app.stop(0);
        }
        appThreads.shutdownNow();
        if (echo != null) {
            echo.close();
        }
        for (Path dir : List.of(socketDir, tmp)) {
            try (Stream<Path> files = Files.walk(dir)) {
                files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
    }

    @Test
    @Timeout(value = 240, unit = TimeUnit.SECONDS)
    void theAgentRotatesTheProxySvidUnderLoadAndNoRequestIsLost() throws Exception {
        app = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 128);
        app.setExecutor(appThreads);
        app.createContext("/", exchange -> {
            exchange.getRequestBody().readAllBytes();
            String xfcc = exchange.getRequestHeaders().getFirst("x-forwarded-client-cert");
            byte[] body = ("app " + exchange.getRequestURI().getPath() + "\nxfcc=" + xfcc + "\n")
                    .getBytes(StandardCharsets.UTF_8);
            exchange.sendResponseHeaders(200, body.length);
            try (OutputStream out = exchange.getResponseBody()) {
                out.write(body);
            }
        });
        app.start();
        echo = new ServerSocket(0, 64, InetAddress.getLoopbackAddress());
        Thread echoThread = new Thread(this::echoLoop, "echo");
        echoThread.setDaemon(true);
        echoThread.start();

        Path caDir = tmp.resolve("ca");
        assertThat(Keel.run("ca", "init", "--data-dir", caDir.toString())).isZero();
        Path tester = clientSvid(caDir, "spiffe://cluster.local/ns/shop/sa/tester");
        int caPort = freePort();
        start("ca", "ca", "serve", "--data-dir", caDir.toString(), "--host", "127.0.0.1", "--port",
                String.valueOf(caPort), "--bundle-port", "-1").await("keel CA for .* serving", Duration.ofSeconds(60));
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
        start("agent", "agent", "run", "--ca", "127.0.0.1:" + caPort,
                "--ca-bundle", caDir.resolve("root-cert.pem").toString(), "--data-dir", tmp.resolve("agent").toString(),
                "--socket", "unix://" + socket, "--join-token-file", tokenFile.toString(), "--admin-port", "-1",
                "--svid-ttl", "20s", "--rotation-fraction", "0.3")
                .await("Workload API: unix://", Duration.ofSeconds(60));

        int inboundPort = freePort();
        int tcpInboundPort = freePort();
        int adminPort = freePort();
        int outboundPort = freePort();
        int tcpRoutePort = freePort();
        Path proxyConfig = tmp.resolve("proxy.yaml");
        Files.writeString(proxyConfig, """
                workload: {namespace: shop, serviceAccount: orders, labels: {app: orders}, trustDomain: cluster.local}
                inbound:
                  host: 127.0.0.1
                  port: %d
                  mode: STRICT
                  ports: [{port: %d, listenPort: %d, protocol: TCP, mode: STRICT}]
                app: {host: 127.0.0.1, port: %d}
                adminPort: %d
                workloadApiSocket: unix://%s
                outbound:
                  host: 127.0.0.1
                  port: %d
                  routes:
                    - {host: orders.shop, port: 80, address: "127.0.0.1:%d",
                       identities: [spiffe://cluster.local/ns/shop/sa/orders]}
                    - {host: echo.shop, port: 7, protocol: TCP, listenPort: %d, address: "127.0.0.1:%d",
                       identities: [spiffe://cluster.local/ns/shop/sa/orders]}
                """.formatted(inboundPort, echo.getLocalPort(), tcpInboundPort, app.getAddress().getPort(), adminPort,
                socket, outboundPort, inboundPort, tcpRoutePort, tcpInboundPort));
        start("proxy", "proxy", "run", "--config", proxyConfig.toString()).await("keel proxy for spiffe://cluster.local/ns/shop/sa/orders serving", Duration.ofSeconds(60));
        String certs = "http://127.0.0.1:" + adminPort + "/certs";

        for (int i = 0; i < 3; i++) {
            Socket keepAlive = new Socket("127.0.0.1", outboundPort);
            drive("keep-alive-" + i, new Http(keepAlive), keepAlive);
        }
        drive("new-connection", () -> {
            try (Socket s = new Socket("127.0.0.1", outboundPort)) {
                new Http(s).run();
            }
        }, null);
        Socket longTcp = new Socket("127.0.0.1", tcpRoutePort);
        drive("tcp-long-lived", new Echo(longTcp), longTcp);
        drive("tcp-new-connection", () -> {
            try (Socket s = new Socket("127.0.0.1", tcpRoutePort)) {
                new Echo(s).run();
            }
        }, null);
        awaitProgress(snapshotZero(), 10);
        String firstHash = hashes.iterator().next();

        List<String> serials = new ArrayList<>();
        serials.add(serial(get(certs)));
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(150);
        while (serials.size() <= ROTATIONS) {
            assertThat(System.nanoTime()).as("rotations seen " + serials).isLessThan(deadline);
            assertThat(failures).as("failed requests").isEmpty();
            String now = serial(get(certs));
            if (!now.equals(serials.get(serials.size() - 1))) {
                serials.add(now);
                Map<String, Long> before = snapshot();
                // New handshakes are served the SVID /certs reports. /certs shows what the agent streamed, and the
                // TLS contexts are rebuilt from it a moment later, so the probe waits for them (bounded). Each
                // probe is a new client context: a resumed session would report the certificate of its first.
                String served = servedSerial(clientContext(tester, caDir.resolve("root-cert.pem")), inboundPort);
                long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
                while (!served.equals(now) && now.equals(serial(get(certs))) && System.nanoTime() < until) {
                    Thread.sleep(20);
                    served = servedSerial(clientContext(tester, caDir.resolve("root-cert.pem")), inboundPort);
                }
                if (now.equals(serial(get(certs)))) {
                    assertThat(served).as("serial served after rotation %d (serials %s)", serials.size() - 1, serials)
                            .isEqualTo(now);
                }
                if (serials.size() > ROTATIONS) {
                    lastRotationSeen = true;
                }
                awaitProgress(before, 10);
            }
            Thread.sleep(50);
        }
        Map<String, Long> end = snapshot();
        awaitProgress(end, 20);
        stop.set(true);
        for (Thread driver : drivers) {
            driver.join(TimeUnit.SECONDS.toMillis(30));
        }

        assertThat(failures).as("failed requests").isEmpty();
        assertThat(serials).doesNotHaveDuplicates().hasSize(ROTATIONS + 1);
        assertThat(hashesAfterLastRotation).as("an upstream connection from before the first rotation still serves")
                .contains(firstHash);
        assertThat(get("http://127.0.0.1:" + adminPort + "/metrics"))
                .containsPattern("istio_requests_total\\{[^}]*reporter=\"source\"[^}]*response_code=\"200\"")
                .doesNotContainPattern("istio_requests_total\\{[^}]*reporter=\"source\"[^}]*response_code=\"5");
        System.out.println("rotation end to end: serials " + serials + ", steps per driver " + snapshot());
    }

    private interface Step {
        void run() throws Exception;
    }

    /** HTTP/1.1 requests for orders.shop on one socket. */
    private final class Http implements Step {
        private final Socket socket;
        private final InputStream in;
        private long n;

        Http(Socket socket) throws IOException {
            this.socket = socket;
            socket.setSoTimeout(15_000);
            this.in = new BufferedInputStream(socket.getInputStream());
        }

        @Override
        public void run() throws IOException {
            String path = "/r/" + n++;
            socket.getOutputStream().write(("GET " + path + " HTTP/1.1\r\nHost: orders.shop\r\n\r\n")
                    .getBytes(StandardCharsets.US_ASCII));
            String status = line();
            int length = -1;
            for (String h = line(); !h.isEmpty(); h = line()) {
                if (h.toLowerCase(Locale.ROOT).startsWith("content-length:")) {
                    length = Integer.parseInt(h.substring(15).trim());
                }
            }
            String body = new String(in.readNBytes(Math.max(length, 0)), StandardCharsets.UTF_8);
            if (!status.startsWith("HTTP/1.1 200") || !body.startsWith("app " + path + "\n")) {
                throw new IOException(path + ": " + status + " " + body);
            }
            Matcher hash = XFCC_HASH.matcher(body);
            if (!hash.find()) {
                throw new IOException(path + ": no XFCC hash in " + body);
            }
            hashes.add(hash.group(1));
            if (lastRotationSeen) {
                hashesAfterLastRotation.add(hash.group(1));
            }
        }

        private String line() throws IOException {
            ByteArrayOutputStream line = new ByteArrayOutputStream();
            int b;
            while ((b = in.read()) != -1 && b != '\n') {
                if (b != '\r') {
                    line.write(b);
                }
            }
            if (b == -1) {
                throw new IOException("connection closed");
            }
            return line.toString(StandardCharsets.US_ASCII);
        }
    }

    /** One echo through the TCP route. */
    private static final class Echo implements Step {
        private final Socket socket;
        private long n;

        Echo(Socket socket) throws IOException {
            this.socket = socket;
            socket.setSoTimeout(15_000);
        }

        @Override
        public void run() throws IOException {
            byte[] line = ("echo " + n++ + "\n").getBytes(StandardCharsets.US_ASCII);
            socket.getOutputStream().write(line);
            byte[] back = socket.getInputStream().readNBytes(line.length);
            if (!Arrays.equals(line, back)) {
                throw new IOException("echo " + (n - 1) + ": " + back.length + " bytes back");
            }
        }
    }

    private void drive(String name, Step step, Socket owned) {
        AtomicLong done = progress.computeIfAbsent(name, k -> new AtomicLong());
        Thread thread = new Thread(() -> {
            try {
                while (!stop.get()) {
                    step.run();
                    done.incrementAndGet();
                }
            } catch (Exception e) {
                if (!stop.get()) {
                    failures.add(name + ": " + e);
                }
            } finally {
                if (owned != null) {
                    try {
                        owned.close();
                    } catch (IOException ignored) {
                        // closing
                    }
                }
            }
        }, name);
        thread.setDaemon(true);
        drivers.add(thread);
        thread.start();
    }

    private Map<String, Long> snapshotZero() {
        Map<String, Long> zero = new HashMap<>();
        progress.keySet().forEach(k -> zero.put(k, 0L));
        return zero;
    }

    private Map<String, Long> snapshot() {
        Map<String, Long> now = new TreeMap<>();
        progress.forEach((k, v) -> now.put(k, v.get()));
        return now;
    }

    private void awaitProgress(Map<String, Long> before, long steps) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (System.nanoTime() < deadline) {
            assertThat(failures).as("failed requests").isEmpty();
            if (progress.entrySet().stream().allMatch(e -> e.getValue().get() - before.getOrDefault(e.getKey(), 0L) >= steps)) {
                return;
            }
            Thread.sleep(10);
        }
        throw new AssertionError("no progress: " + snapshot() + " since " + before + "; failures " + failures);
    }

    private static String serial(String certsJson) {
        Matcher m = SERIAL.matcher(certsJson);
        assertThat(m.find()).as(certsJson).isTrue();
        return m.group(1);
    }

    private static String servedSerial(SSLContext context, int port) throws IOException {
        try (SSLSocket probe = (SSLSocket) context.getSocketFactory().createSocket("127.0.0.1", port)) {
            probe.startHandshake();
            return ((X509Certificate) probe.getSession().getPeerCertificates()[0]).getSerialNumber().toString(16);
        }
    }

    /** A JDK TLS client presenting the SVID in {@code dir} and trusting the CA's root. */
    private static SSLContext clientContext(Path dir, Path root) throws Exception {
        List<X509Certificate> chain = Pem.decodeCertificates(Files.readString(dir.resolve("chain.pem")));
        PrivateKey key = Pem.decodePrivateKey(Files.readString(dir.resolve("key.pem")));
        char[] password = "test".toCharArray();
        KeyStore keys = KeyStore.getInstance("PKCS12");
        keys.load(null, null);
        keys.setKeyEntry("svid", key, password, chain.toArray(new Certificate[0]));
        KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
        kmf.init(keys, password);
        KeyStore roots = KeyStore.getInstance("PKCS12");
        roots.load(null, null);
        roots.setCertificateEntry("root", Pem.decodeCertificate(Files.readString(root)));
        TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        tmf.init(roots);
        SSLContext context = SSLContext.getInstance("TLSv1.3");
        context.init(kmf.getKeyManagers(), tmf.getTrustManagers(), null);
        return context;
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
        Path dir = Files.createDirectories(tmp.resolve("clients").resolve(spiffeId.substring(spiffeId.lastIndexOf('/') + 1)));
        Files.writeString(dir.resolve("csr.pem"), csr.pem());
        Files.writeString(dir.resolve("key.pem"), Pem.encode(Pem.PRIVATE_KEY, csr.keyPair().getPrivate().getEncoded()));
        assertThat(Keel.run("ca", "issue", "--data-dir", caDir.toString(), "--csr", dir.resolve("csr.pem").toString(),
                "-o", dir.resolve("chain.pem").toString())).as(stderr()).isZero();
        return dir;
    }

    private static String get(String url) throws Exception {
        return HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create(url)).build(),
                HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8)).body();
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
