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
}
