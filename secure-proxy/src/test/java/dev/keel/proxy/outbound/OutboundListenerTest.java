package dev.keel.proxy.outbound;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.keel.identity.SpiffeId;
import dev.keel.proxy.ProxyMetrics;
import dev.keel.proxy.tls.MutableIdentitySource;
import dev.keel.proxy.tls.TlsContextHolder;
import dev.keel.testing.TestPki;
import io.netty.handler.ssl.ClientAuth;
import java.io.ByteArrayOutputStream;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class OutboundListenerTest {

    static final SpiffeId FRONTEND = SpiffeId.parse("spiffe://cluster.local/ns/shop/sa/frontend");
    static final SpiffeId BACKEND = SpiffeId.parse("spiffe://cluster.local/ns/shop/sa/backend");
    static final SpiffeId IMPOSTOR = SpiffeId.parse("spiffe://cluster.local/ns/shop/sa/impostor");

    final TestPki pki = TestPki.create();
    final ProxyMetrics metrics = new ProxyMetrics();
    final AtomicReference<RouteTable> routes = new AtomicReference<>(RouteTable.empty());
    UpstreamServer backend;
    UpstreamServer impostor;
    TlsContextHolder tls;
    OutboundListener listener;

    @BeforeEach
    void start() throws Exception {
        backend = new UpstreamServer(MutableIdentitySource.material(pki, BACKEND));
        impostor = new UpstreamServer(MutableIdentitySource.material(pki, IMPOSTOR));
        routes.set(RouteTable.builder()
                .route("backend.shop", 8080, backend.address(), BACKEND)
                .route("evil.shop", 8080, impostor.address(), BACKEND)
                .route("either.shop", 80, impostor.address(), BACKEND, IMPOSTOR)
                .build());
        tls = TlsContextHolder.follow(MutableIdentitySource.of(MutableIdentitySource.material(pki, FRONTEND)),
                ClientAuth.REQUIRE, List.of("http/1.1"));
        listener = OutboundListener.builder().port(0).routes(routes::get).tls(tls).metrics(metrics).build().start();
    }

    @AfterEach
    void stop() throws Exception {
        listener.close();
        tls.close();
        backend.close();
        impostor.close();
    }

    @Test
    void requestToAnAllowedIdentityPassesOverMutualTls() throws Exception {
        try (RawHttpClient app = new RawHttpClient(listener.port())) {
            RawHttpClient.Response response = app.send("GET", "backend.shop:8080", "/hello?x=1", null);

            assertThat(response.status()).isEqualTo(200);
            assertThat(response.headers()).containsEntry("x-upstream", "yes");
            assertThat(response.body()).contains("server=" + BACKEND).contains("caller=" + FRONTEND)
                    .contains("uri=/hello?x=1").contains("host=backend.shop:8080");

            RawHttpClient.Response post = app.send("POST", "backend.shop:8080", "/orders", "{\"id\":7}");
            assertThat(post.status()).isEqualTo(200);
            assertThat(post.body()).contains("method=POST").contains("body={\"id\":7}");
        }
        assertThat(metricsText()).contains("istio_requests_total{")
                .contains("destination_principal=\"" + BACKEND + "\"")
                .contains("source_principal=\"" + FRONTEND + "\"")
                .contains("response_code=\"200\"");
    }

    @Test
    void serverWithAValidButNotAllowedIdentityFailsWith503AndIsCounted() throws Exception {
        try (RawHttpClient app = new RawHttpClient(listener.port())) {
            RawHttpClient.Response response = app.send("GET", "evil.shop:8080", "/", null);

            assertThat(response.status()).isEqualTo(503);
            assertThat(response.body()).contains("secure naming").contains(IMPOSTOR.toString());
            // The app connection stays usable.
            assertThat(app.send("GET", "backend.shop:8080", "/", null).status()).isEqualTo(200);
        }
        assertThat(metricsText()).contains("keel_proxy_secure_naming_failures_total{destination=\"evil.shop:8080\"} 1")
                .contains("response_code=\"503\"");
    }

    @Test
    void anyOfSeveralAllowedIdentitiesPasses() throws Exception {
        try (RawHttpClient app = new RawHttpClient(listener.port())) {
            RawHttpClient.Response response = app.send("GET", "either.shop", "/", null);
            assertThat(response.status()).isEqualTo(200);
            assertThat(response.body()).contains("server=" + IMPOSTOR);
        }
    }

    @Test
    void upstreamConnectionsAreKeptAliveAndReused() throws Exception {
        for (int i = 0; i < 3; i++) {
            try (RawHttpClient app = new RawHttpClient(listener.port())) {
                for (int j = 0; j < 3; j++) {
                    assertThat(app.send("GET", "backend.shop:8080", "/" + i + j, null).status()).isEqualTo(200);
                }
            }
        }
        assertThat(backend.connections.get()).isEqualTo(1);
    }

    @Test
    void unknownDestinationIs404() throws Exception {
        try (RawHttpClient app = new RawHttpClient(listener.port())) {
            RawHttpClient.Response response = app.send("GET", "nowhere.shop:8080", "/", null);
            assertThat(response.status()).isEqualTo(404);
            assertThat(response.body()).contains("no route to nowhere.shop:8080");
        }
    }

    @Test
    void unreachableUpstreamIs503() throws Exception {
        int closedPort;
        try (ServerSocket socket = new ServerSocket(0)) {
            closedPort = socket.getLocalPort();
        }
        routes.set(RouteTable.builder().route("gone.shop", 80, new InetSocketAddress("127.0.0.1", closedPort), BACKEND)
                .build());
        try (RawHttpClient app = new RawHttpClient(listener.port())) {
            RawHttpClient.Response response = app.send("GET", "gone.shop", "/", null);
            assertThat(response.status()).isEqualTo(503);
            assertThat(response.body()).contains("upstream connect error");
        }
    }

    @Test
    void silentUpstreamTimesOutWith504() throws Exception {
        try (ServerSocket silent = new ServerSocket(0, 50, java.net.InetAddress.getLoopbackAddress());
                OutboundListener quick = OutboundListener.builder().port(0).tls(tls).metrics(metrics)
                        .routes(RouteTable.builder().route("slow.shop", 80,
                                new InetSocketAddress("127.0.0.1", silent.getLocalPort()), BACKEND).build())
                        .requestTimeout(java.time.Duration.ofMillis(300)).build().start();
                RawHttpClient app = new RawHttpClient(quick.port())) {
            RawHttpClient.Response response = app.send("GET", "slow.shop", "/", null);
            assertThat(response.status()).isEqualTo(504);
            assertThat(app.send("GET", "nowhere", "/", null).status()).as("connection still usable").isEqualTo(404);
        }
    }

    @Test
    void routeTableRejectsBadRoutes() {
        InetSocketAddress upstream = new InetSocketAddress("127.0.0.1", 15006);
        assertThatThrownBy(() -> RouteTable.builder().route("a", 80, upstream))
                .hasMessageContaining("secure naming cannot be skipped");
        assertThatThrownBy(() -> RouteTable.builder().route("a", 80, upstream, BACKEND).route("A", 80, upstream, BACKEND))
                .hasMessageContaining("declared twice");
        assertThatThrownBy(() -> RouteTable.builder().route("a", 0, upstream, BACKEND)).hasMessageContaining("1..65535");
        RouteTable table = RouteTable.builder().route("Backend.Shop", 80, upstream, BACKEND).build();
        assertThat(table.find("backend.shop")).isPresent();
        assertThat(table.find("BACKEND.shop:80")).isPresent();
        assertThat(table.find("backend.shop:8080")).isEmpty();
        assertThat(table.find(null)).isEmpty();
    }

    private String metricsText() throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        metrics.writeText(out);
        return out.toString(StandardCharsets.UTF_8);
    }
}
