package dev.keel.proxy.outbound;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.keel.identity.SpiffeId;
import dev.keel.proxy.ProxyConfig;
import org.junit.jupiter.api.Test;

class OutboundConfigTest {

    private static final String BASE = """
            workload: {namespace: shop, serviceAccount: web}
            app: {port: 8080}
            """;

    @Test
    void noSectionMeansNoOutboundListener() {
        assertThat(OutboundConfig.parse(BASE)).isEmpty();
    }

    @Test
    void readsRoutesWithTheirAllowedIdentitiesAndTheProxyConfigAcceptsTheSection() {
        String yaml = BASE + """
                outbound:
                  port: 15001
                  routes:
                    - {host: payments.shop, port: 80, address: "10.0.0.7:15006",
                       identities: [spiffe://cluster.local/ns/shop/sa/payments]}
                """;
        OutboundConfig config = OutboundConfig.parse(yaml).orElseThrow();
        assertThat(config.host()).isEqualTo("127.0.0.1");
        assertThat(config.port()).isEqualTo(15001);
        assertThat(config.routes()).singleElement().satisfies(r -> {
            assertThat(r.host()).isEqualTo("payments.shop");
            assertThat(r.address().getHostString()).isEqualTo("10.0.0.7");
            assertThat(r.address().getPort()).isEqualTo(15006);
            assertThat(r.identities()).containsExactly(SpiffeId.parse("spiffe://cluster.local/ns/shop/sa/payments"));
        });
        assertThat(config.routeTable()).isNotNull();
        assertThat(ProxyConfig.parse(yaml).app().port()).isEqualTo(8080);
    }

    @Test
    void refusesWhatSecureNamingCannotCheckNamingTheField() {
        assertThatThrownBy(() -> OutboundConfig.parse(BASE + """
                outbound:
                  routes: [{host: a.shop, address: "10.0.0.7:15006"}]
                """)).hasMessageStartingWith("outbound.routes[0].identities:");
        assertThatThrownBy(() -> OutboundConfig.parse(BASE + """
                outbound:
                  routes: [{host: a.shop, address: "10.0.0.7:15006", identities: [not-a-spiffe-id]}]
                """)).hasMessageStartingWith("outbound.routes[0].identities[0]:");
        assertThatThrownBy(() -> OutboundConfig.parse(BASE + """
                outbound:
                  routes: [{host: a.shop, address: "10.0.0.7", identities: [spiffe://cluster.local/ns/a/sa/b]}]
                """)).hasMessageStartingWith("outbound.routes[0].address:");
        assertThatThrownBy(() -> OutboundConfig.parse(BASE + """
                outbound:
                  prot: 15001
                """)).hasMessageStartingWith("outbound.prot: unknown field");
    }

    @Test
    void readsHttp2AndTcpRoutesAndTheTableServesTcpRoutesOnlyByTheirListenPort() {
        OutboundConfig config = OutboundConfig.parse(BASE + """
                outbound:
                  routes:
                    - {host: grpc.shop, protocol: http2, address: "10.0.0.8:15006",
                       identities: [spiffe://cluster.local/ns/shop/sa/grpc]}
                    - {host: db.shop, port: 5432, protocol: TCP, listenPort: 15432, address: "10.0.0.9:15007",
                       identities: [spiffe://cluster.local/ns/shop/sa/db]}
                """).orElseThrow();
        assertThat(config.routes()).extracting(OutboundConfig.Route::protocol)
                .containsExactly(RouteProtocol.HTTP2, RouteProtocol.TCP);
        assertThat(config.routes().get(1).listenPort()).isEqualTo(15432);
        RouteTable table = config.routeTable();
        assertThat(table.find("grpc.shop")).hasValueSatisfying(r -> assertThat(r.protocol()).isEqualTo(RouteProtocol.HTTP2));
        assertThat(table.find("db.shop:5432")).as("no Host header reaches a TCP route").isEmpty();
        assertThat(table.tcpRoutes()).singleElement().satisfies(r -> {
            assertThat(r.destination()).isEqualTo("db.shop:5432");
            assertThat(r.listenPort()).isEqualTo(15432);
        });
    }

    @Test
    void refusesTcpRoutesWithoutAListenPortAndListenPortsOnHttpRoutes() {
        assertThatThrownBy(() -> OutboundConfig.parse(BASE + """
                outbound:
                  routes: [{host: db.shop, protocol: TCP, address: "10.0.0.9:15007",
                            identities: [spiffe://cluster.local/ns/shop/sa/db]}]
                """)).hasMessageStartingWith("outbound.routes[0].listenPort: missing");
        assertThatThrownBy(() -> OutboundConfig.parse(BASE + """
                outbound:
                  routes: [{host: a.shop, listenPort: 15000, address: "10.0.0.9:15006",
                            identities: [spiffe://cluster.local/ns/shop/sa/a]}]
                """)).hasMessageStartingWith("outbound.routes[0].listenPort: only for protocol TCP");
        assertThatThrownBy(() -> OutboundConfig.parse(BASE + """
                outbound:
                  routes: [{host: a.shop, protocol: UDP, address: "10.0.0.9:15006",
                            identities: [spiffe://cluster.local/ns/shop/sa/a]}]
                """)).hasMessageStartingWith("outbound.routes[0].protocol: \"UDP\" (expected one of [HTTP, HTTP2, TCP])");
        assertThatThrownBy(() -> RouteTable.builder()
                .route("a.shop", 1, RouteProtocol.TCP, 15000, new java.net.InetSocketAddress("127.0.0.1", 1),
                        SpiffeId.parse("spiffe://cluster.local/ns/a/sa/a"))
                .route("b.shop", 1, RouteProtocol.TCP, 15000, new java.net.InetSocketAddress("127.0.0.1", 1),
                        SpiffeId.parse("spiffe://cluster.local/ns/a/sa/a")))
                .hasMessageContaining("listenPort 15000 already taken");
    }
}
