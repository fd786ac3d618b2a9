package dev.keel.proxy.outbound;

import static dev.keel.proxy.outbound.TwoProxies.BACKEND;
import static org.assertj.core.api.Assertions.assertThat;

import dev.keel.identity.SpiffeId;
import dev.keel.proxy.X509Material;
import dev.keel.testing.TestLeaf;
import dev.keel.testing.TestPki;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.math.BigInteger;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.security.KeyStore;
import java.security.MessageDigest;
import java.security.cert.Certificate;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Queue;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManagerFactory;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Certificate rotation under continuous load loses no request. Two whole proxies (frontend outbound
 * -> mTLS -> backend inbound -> app) carry, all at once: HTTP/1.1 keep-alive app connections, one new
 * app connection per request, h2c from h2load (multiplexed, upstream h2), a long-lived and a
 * one-shot-per-echo TCP relay, and a third workload's own keep-alive mTLS connection straight to the
 * backend proxy. Meanwhile both proxies' SVIDs rotate several times (new keys, new random serials,
 * short TTLs, pushed through their {@code IdentitySource}s).
 *
 * <p>Asserted: not one request or echo failed; every new handshake after a rotation presents the new
 * certificate (the backend's served serial, read by a fresh TLS client; the frontend's client
 * certificate, read from the {@code Hash} of the XFCC the backend forwards for a connection opened
 * after the rotation); established connections were kept on both sides (no client reconnected, the
 * h2 upstream connection carried every stream from before the first to after the last rotation, and
 * a pooled HTTP/1.1 upstream connection opened with the frontend's first certificate still serves
 * after the last). Every wait is for progress, bounded; nothing is timed.
 */
class RotationUnderLoadTest {

    private static final int ROTATIONS = 4;
    private static final int KEEP_ALIVE_CLIENTS = 4;
    /** Requests each driver must complete after a rotation before the next one. */
    private static final long PROGRESS_PER_ROUND = 15;
    private static final Pattern XFCC_HASH = Pattern.compile("Hash=([0-9a-f]{64})");
    private static final SpiffeId TESTER = SpiffeId.parse("spiffe://cluster.local/ns/shop/sa/tester");

    private TwoProxies mesh;
    private final AtomicBoolean stop = new AtomicBoolean();
    private final Map<String, AtomicLong> progress = new ConcurrentHashMap<>();
    private final Queue<String> failures = new ConcurrentLinkedQueue<>();
    /** XFCC hashes the app reported on the keep-alive route, once the last rotation was done. */
    private final Set<String> hashesAfterLastRotation = ConcurrentHashMap.newKeySet();
    private volatile boolean lastRotationDone;
    private final List<Thread> drivers = new ArrayList<>();

    @BeforeEach
    void start() throws Exception {
        mesh = new TwoProxies(TestPki.create(), (routes, http, tcp) -> routes
                .route("backend.shop", 80, http, BACKEND)
                .route("echo.shop", 7, RouteProtocol.TCP, 0, tcp, BACKEND), b -> b);
    }

    @AfterEach
    void stop() throws Exception {
        stop.set(true);
        for (Thread driver : drivers) {
            driver.interrupt();
        }
        if (mesh != null) {
            mesh.close();
        }
    }

    @Test
    @Timeout(value = 180, unit = TimeUnit.SECONDS)
    void rotatingBothProxiesSvidsUnderContinuousLoadLosesNothingAndKeepsEstablishedConnections() throws Exception {
        String firstFrontendHash = sha256(mesh.frontendIdentity.current().orElseThrow().leaf());
        int outbound = mesh.outbound.port();
        int tcpRoute = mesh.outbound.tcpPort("echo.shop:7");
        SSLContext tester = clientContext(mesh.pki, mesh.pki.leaf(TESTER).ttl(TwoProxies.SVID_TTL).issue());

        for (int i = 0; i < KEEP_ALIVE_CLIENTS; i++) {
            drive("keep-alive-" + i, new HttpKeepAlive(() -> new RawHttpClient(outbound), "backend.shop", true));
        }
        drive("new-connection", () -> {
            try (RawHttpClient app = new RawHttpClient(outbound)) {
                checkApp(app.send("GET", "backend.shop", "/new", null), "/new", false);
            }
        });
        drive("inbound-keep-alive", new HttpKeepAlive(() -> new RawHttpClient(tls(tester, mesh.backendHttp.getPort())),
                "backend.shop", false));
        drive("tcp-long-lived", new TcpEcho(() -> new Socket("127.0.0.1", tcpRoute), true));
        drive("tcp-new-connection", new TcpEcho(() -> new Socket("127.0.0.1", tcpRoute), false));
        H2Load h2load = new H2Load(outbound);
        awaitProgress(Map.of());
        awaitH2Progress(0);

        List<BigInteger> backendSerials = new ArrayList<>();
        for (int round = 1; round <= ROTATIONS; round++) {
            Map<String, Long> before = snapshot();
            long h2Before = h2Requests();
            X509Material frontend = mesh.issue(TwoProxies.FRONTEND);
            X509Material backend = mesh.issue(BACKEND);
            mesh.frontendIdentity.set(frontend);
            mesh.backendIdentity.set(backend);
            backendSerials.add(backend.leaf().getSerialNumber());

            // A new handshake with the backend proxy is served the new certificate.
            try (SSLSocket probe = tls(tester, mesh.backendHttp.getPort())) {
                X509Certificate served = (X509Certificate) probe.getSession().getPeerCertificates()[0];
                assertThat(served.getSerialNumber()).as("round %d: served serial", round)
                        .isEqualTo(backend.leaf().getSerialNumber());
            }
            // A new upstream connection of the frontend presents its new certificate.
            String fresh = "round-" + round + ".shop";
            mesh.routes.updateAndGet(t -> RouteTable.builder().routes(t).route(fresh, 80, mesh.backendHttp, BACKEND).build());
            try (RawHttpClient app = new RawHttpClient(outbound)) {
                RawHttpClient.Response response = app.send("GET", fresh, "/fresh", null);
                assertThat(response.status()).isEqualTo(200);
                assertThat(xfccHash(response.body())).as("round %d: client certificate of a new upstream handshake", round)
                        .isEqualTo(sha256(frontend.leaf()));
            }
            if (round == ROTATIONS) {
                lastRotationDone = true;
            }
            awaitProgress(before);
            awaitH2Progress(h2Before);
        }
        Map<String, Long> afterLast = snapshot();
        awaitProgress(afterLast);
        stop.set(true);
        for (Thread driver : drivers) {
            driver.join(TimeUnit.SECONDS.toMillis(30));
        }
        String h2Summary = h2load.await();

        assertThat(failures).as("failed requests").isEmpty();
        assertThat(h2Summary).contains(" 0 failed, 0 errored, 0 timeout").containsPattern("status codes: \\d+ 2xx, 0 3xx, 0 4xx, 0 5xx");
        assertThat(backendSerials).doesNotHaveDuplicates();
        // The h2 upstream connection opened before the first rotation carried every stream to after the last.
        List<String> h2 = mesh.inboundAccessLog.stream().filter(l -> l.contains("\"path\":\"/h2")).toList();
        assertThat(h2).allMatch(l -> l.contains("\"protocol\":\"HTTP/2\""));
        assertThat(h2.stream().map(RotationUnderLoadTest::downstreamAddress).collect(Collectors.toSet()))
                .as("upstream h2 connections").hasSize(1);
        // A pooled HTTP/1.1 upstream connection from before any rotation still serves after the last.
        assertThat(hashesAfterLastRotation).as("frontend certificates on the keep-alive route after the last rotation")
                .contains(firstFrontendHash);
        System.out.println("rotation under load: " + ROTATIONS + " rotations of both SVIDs, requests per driver "
                + snapshot() + ", h2load: " + h2Summary.lines().filter(l -> l.startsWith("requests:")).findFirst()
                .orElse("?"));
    }

    /** Runs {@code step} in a loop on its own thread until stopped; counts successes and failures. */
    private void drive(String name, Step step) {
        AtomicLong done = progress.computeIfAbsent(name, n -> new AtomicLong());
        Thread thread = new Thread(() -> {
            try (step) {
                while (!stop.get()) {
                    step.run();
                    done.incrementAndGet();
                }
            } catch (Exception | AssertionError e) {
                if (!stop.get()) {
                    failures.add(name + ": " + e);
                }
            }
        }, name);
        thread.setDaemon(true);
        drivers.add(thread);
        thread.start();
    }

    /** One unit of load; a failure ends its driver (a client that had to reconnect would be a failure). */
    private interface Step extends AutoCloseable {
        void run() throws Exception;

        @Override
        default void close() throws Exception {
        }
    }

    private interface Opener<T> {
        T open() throws IOException;
    }

    /** HTTP/1.1 requests on one connection for the driver's whole life. */
    private final class HttpKeepAlive implements Step {
        private final RawHttpClient client;
        private final String host;
        private final boolean throughOutbound;
        private long n;

        HttpKeepAlive(Opener<RawHttpClient> opener, String host, boolean throughOutbound) {
            try {
                this.client = opener.open();
            } catch (IOException e) {
                throw new IllegalStateException(e);
            }
            this.host = host;
            this.throughOutbound = throughOutbound;
        }

        @Override
        public void run() throws Exception {
            String path = "/keep/" + n++;
            RawHttpClient.Response response = n % 3 == 0
                    ? client.send("POST", host, path, "{\"n\":" + n + "}")
                    : client.send("GET", host, path, null);
            checkApp(response, path, throughOutbound);
        }

        @Override
        public void close() throws IOException {
            client.close();
        }
    }

    private void checkApp(RawHttpClient.Response response, String path, boolean recordHash) {
        if (response.status() != 200 || !response.body().contains(" " + path + " ")) {
            throw new AssertionError("status " + response.status() + " for " + path + ": " + response.body());
        }
        if (recordHash && lastRotationDone) {
            hashesAfterLastRotation.add(xfccHash(response.body()));
        }
    }

    /** Echo through the TCP route: one connection for the driver's life, or one per echo. */
    private final class TcpEcho implements Step {
        private final Opener<Socket> opener;
        private final boolean longLived;
        private Socket socket;
        private long n;

        TcpEcho(Opener<Socket> opener, boolean longLived) {
            this.opener = opener;
            this.longLived = longLived;
        }

        @Override
        public void run() throws IOException {
            if (socket == null) {
                socket = opener.open();
                socket.setSoTimeout(15_000);
            }
            byte[] line = ("echo " + n++ + " through the mesh\n").getBytes(StandardCharsets.US_ASCII);
            OutputStream out = socket.getOutputStream();
            InputStream in = socket.getInputStream();
            out.write(line);
            out.flush();
            byte[] back = in.readNBytes(line.length);
            if (!Arrays.equals(back, line)) {
                throw new IOException("echo " + (n - 1) + ": got " + back.length + " bytes back, expected " + line.length);
            }
            if (!longLived) {
                socket.close();
                socket = null;
            }
        }

        @Override
        public void close() throws IOException {
            if (socket != null) {
                socket.close();
            }
        }
    }

    /**
     * h2load: two h2c connections, four streams each, for a fixed 20 s (it prints its summary only when
     * it ends by itself); the rounds need far less, and each checks h2load still progressed.
     */
    private static final class H2Load {
        private final Process process;

        H2Load(int port) throws IOException {
            process = new ProcessBuilder("h2load", "-D", "20", "-c", "2", "-m", "4", "--rps", "100",
                    "-H", ":authority: backend.shop", "http://127.0.0.1:" + port + "/h2")
                    .redirectErrorStream(true).start();
        }

        String await() throws Exception {
            String out = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertThat(process.waitFor(60, TimeUnit.SECONDS)).isTrue();
            return out;
        }
    }

    private Map<String, Long> snapshot() {
        Map<String, Long> now = new LinkedHashMap<>();
        progress.forEach((name, count) -> now.put(name, count.get()));
        return now;
    }

    /** Waits until every driver completed {@link #PROGRESS_PER_ROUND} more steps than in {@code before}. */
    private void awaitProgress(Map<String, Long> before) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (System.nanoTime() < deadline) {
            assertThat(failures).as("failed requests").isEmpty();
            boolean all = progress.entrySet().stream().allMatch(e ->
                    e.getValue().get() - before.getOrDefault(e.getKey(), 0L) >= PROGRESS_PER_ROUND);
            if (all) {
                return;
            }
            Thread.sleep(10);
        }
        throw new AssertionError("no progress: " + snapshot() + " since " + before + "; failures " + failures);
    }

    private long h2Requests() {
        return mesh.inboundAccessLog.stream().filter(l -> l.contains("\"path\":\"/h2")).count();
    }

    private void awaitH2Progress(long before) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (h2Requests() - before < PROGRESS_PER_ROUND) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("h2load made no progress after a rotation (" + h2Requests() + " requests)");
            }
            Thread.sleep(10);
        }
    }

    private static String xfccHash(String body) {
        Matcher m = XFCC_HASH.matcher(body);
        if (!m.find()) {
            throw new AssertionError("no XFCC hash in " + body);
        }
        return m.group(1);
    }

    private static String downstreamAddress(String line) {
        Matcher m = Pattern.compile("\"downstream_remote_address\":\"([^\"]+)\"").matcher(line);
        return m.find() ? m.group(1) : "none";
    }

    private static String sha256(X509Certificate certificate) throws Exception {
        return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(certificate.getEncoded()));
    }

    private static SSLSocket tls(SSLContext context, int port) throws IOException {
        SSLSocket socket = (SSLSocket) context.getSocketFactory().createSocket("127.0.0.1", port);
        socket.setEnabledProtocols(new String[] {"TLSv1.3"});
        socket.startHandshake();
        return socket;
    }

    /** A JDK client context presenting {@code leaf} and trusting the PKI's root. */
    private static SSLContext clientContext(TestPki pki, TestLeaf leaf) throws Exception {
        char[] password = "test".toCharArray();
        KeyStore keys = KeyStore.getInstance("PKCS12");
        keys.load(null, null);
        keys.setKeyEntry("client", leaf.privateKey(), password, leaf.chain().toArray(new Certificate[0]));
        KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
        kmf.init(keys, password);
        KeyStore roots = KeyStore.getInstance("PKCS12");
        roots.load(null, null);
        roots.setCertificateEntry("root", pki.root());
        TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        tmf.init(roots);
        SSLContext context = SSLContext.getInstance("TLS");
        context.init(kmf.getKeyManagers(), tmf.getTrustManagers(), null);
        return context;
    }
}
