package dev.keel.proxy.outbound;

import com.sun.net.httpserver.HttpServer;
import dev.keel.authz.Protocol;
import dev.keel.identity.SpiffeId;
import dev.keel.policy.PeerAuthentication.MutualTLS.Mode;
import dev.keel.proxy.ProxyConfig;
import dev.keel.proxy.ProxyMetrics;
import dev.keel.proxy.X509Material;
import dev.keel.proxy.inbound.IdentityServerTlsContexts;
import dev.keel.proxy.inbound.InboundProxy;
import dev.keel.proxy.tls.MutableIdentitySource;
import dev.keel.proxy.tls.TlsContextHolder;
import dev.keel.testing.TestPki;
import io.netty.handler.ssl.ClientAuth;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.UnaryOperator;

/**
 * Two whole proxies in this JVM, as two workloads would run them: the frontend's outbound listener
 * (the proxy under test) and the backend's inbound proxy (STRICT mTLS) in front of an HTTP app and a
 * TCP echo. Each proxy follows its own {@link MutableIdentitySource}, so tests rotate either SVID.
 * The app answers with what it saw, including the {@code x-forwarded-client-cert} the backend proxy
 * added (whose {@code Hash} names the frontend certificate of that upstream connection).
 */
final class TwoProxies implements AutoCloseable {

    static final SpiffeId FRONTEND = SpiffeId.parse("spiffe://cluster.local/ns/shop/sa/frontend");
    static final SpiffeId BACKEND = SpiffeId.parse("spiffe://cluster.local/ns/shop/sa/backend");
    static final SpiffeId IMPOSTOR = SpiffeId.parse("spiffe://cluster.local/ns/shop/sa/impostor");
    static final Duration SVID_TTL = Duration.ofMinutes(5);

    static {
        // The JDK's HTTP server writes headers and body separately without TCP_NODELAY, so every response
        // waits out the client's delayed ACK (about 40 ms). Read once per JVM, when its first server starts.
        System.setProperty("sun.net.httpserver.nodelay", "true");
    }

    final TestPki pki;
    final MutableIdentitySource frontendIdentity;
    final MutableIdentitySource backendIdentity;
    final ProxyMetrics sourceMetrics = new ProxyMetrics();
    final ProxyMetrics destinationMetrics = new ProxyMetrics();
    final Queue<String> inboundAccessLog = new ConcurrentLinkedQueue<>();
    final HttpServer app;
    final ServerSocket echo;
    final IdentityServerTlsContexts inboundTls;
    final InboundProxy inbound;
    final TlsContextHolder outboundTls;
    final OutboundListener outbound;
    /** The frontend's route table, read per request: tests may add HTTP routes while running. */
    final AtomicReference<RouteTable> routes = new AtomicReference<>();
    /** The backend proxy's main (HTTP) inbound listener and its TCP listener for the echo. */
    final InetSocketAddress backendHttp;
    final InetSocketAddress backendTcp;
    private final ExecutorService appThreads = Executors.newFixedThreadPool(16, daemon("app"));
    private final ExecutorService echoThreads = Executors.newCachedThreadPool(daemon("echo"));

    /**
     * Starts both proxies; {@code routes} adds the frontend's routes to a builder given the backend's
     * main inbound address and its TCP echo port's address.
     */
    TwoProxies(TestPki pki, RoutesFactory routes, UnaryOperator<OutboundListener.Builder> outboundOptions)
            throws Exception {
        this(pki, routes, outboundOptions, UnaryOperator.identity());
    }

    /** As above, with the backend proxy's configuration adjusted by {@code backendConfig}. */
    TwoProxies(TestPki pki, RoutesFactory routes, UnaryOperator<OutboundListener.Builder> outboundOptions,
            UnaryOperator<ProxyConfig> backendConfig) throws Exception {
        this.pki = pki;
        frontendIdentity = MutableIdentitySource.of(issue(FRONTEND));
        backendIdentity = MutableIdentitySource.of(issue(BACKEND));
        app = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 512);
        app.setExecutor(appThreads);
        app.createContext("/", exchange -> {
            byte[] body = exchange.getRequestBody().readAllBytes();
            String xfcc = exchange.getRequestHeaders().getFirst("x-forwarded-client-cert");
            byte[] out = ("app " + exchange.getRequestMethod() + " " + exchange.getRequestURI() + " body=" + body.length
                    + "\nhost=" + exchange.getRequestHeaders().getFirst("host") + "\nxfcc=" + xfcc + "\n")
                    .getBytes(StandardCharsets.UTF_8);
            exchange.getResponseHeaders().set("x-app", "yes");
            exchange.sendResponseHeaders(200, out.length);
            try (OutputStream os = exchange.getResponseBody()) {
                os.write(out);
            }
        });
        app.start();
        echo = new ServerSocket(0, 512, InetAddress.getLoopbackAddress());
        echoThreads.execute(this::echoLoop);

        ProxyConfig config = backendConfig.apply(ProxyConfig.of(new ProxyConfig.Workload("shop", "backend", Map.of("app", "backend"),
                        "cluster.local"), new ProxyConfig.App("127.0.0.1", app.getAddress().getPort()))
                .withInbound(new ProxyConfig.Inbound("127.0.0.1", 0, Mode.STRICT, List.of(
                        new ProxyConfig.PortSettings(echo.getLocalPort(), 0, Protocol.TCP, Mode.STRICT)))));
        inboundTls = IdentityServerTlsContexts.create(backendIdentity);
        inbound = InboundProxy.builder(config).tls(inboundTls).metrics(destinationMetrics)
                .accessLog(inboundAccessLog::add).build().start();

        backendHttp = new InetSocketAddress("127.0.0.1", inbound.port());
        backendTcp = new InetSocketAddress("127.0.0.1", inbound.port(echo.getLocalPort()));
        this.routes.set(routes.routes(RouteTable.builder(), backendHttp, backendTcp).build());
        outboundTls = TlsContextHolder.follow(frontendIdentity, ClientAuth.REQUIRE, List.of("http/1.1"));
        outbound = outboundOptions.apply(OutboundListener.builder().port(0).routes(this.routes::get).tls(outboundTls)
                .metrics(sourceMetrics)).build().start();
    }

    /** The frontend's routes, given where the backend proxy listens. */
    interface RoutesFactory {
        RouteTable.Builder routes(RouteTable.Builder builder, InetSocketAddress backendHttp, InetSocketAddress backendTcp);
    }

    X509Material issue(SpiffeId id) {
        return MutableIdentitySource.material(pki, pki.leaf(id).ttl(SVID_TTL).issue());
    }

    static String scrape(ProxyMetrics metrics) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        metrics.writeText(out);
        return out.toString(StandardCharsets.UTF_8);
    }

    private void echoLoop() {
        while (!echo.isClosed()) {
            Socket socket;
            try {
                socket = echo.accept();
            } catch (IOException e) {
                return;
            }
            echoThreads.execute(() -> {
                try (socket) {
                    socket.getInputStream().transferTo(socket.getOutputStream());
                } catch (IOException ignored) {
                    // the peer went away
                }
            });
        }
    }

    private static ThreadFactory daemon(String name) {
        return r -> {
            Thread t = new Thread(r, name);
            t.setDaemon(true);
            return t;
        };
    }

    @Override
    public void close() throws IOException {
        outbound.close();
        outboundTls.close();
        inbound.close();
        inboundTls.close();
        app.stop(0);
        echo.close();
        appThreads.shutdownNow();
        echoThreads.shutdownNow();
    }
}
