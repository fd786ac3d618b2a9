package dev.keel.cli.internal.up;

import static org.assertj.core.api.Assertions.assertThat;

import dev.keel.proxy.ProxyConfig;
import dev.keel.proxy.outbound.OutboundConfig;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

class ProxyYamlsTest {

    @Test
    void eachProxyConfigLoadsAndRoutesToTheOthersWithTheirIdentities() {
        UpLayout layout = UpLayout.demo(Path.of("/tmp/keel up test/.keel"), 17000);
        UpLayout.DemoWorkload frontend = layout.workload("frontend");
        String yaml = ProxyYamls.of(layout, frontend);
        ProxyConfig config = ProxyConfig.parse(yaml);
        assertThat(config.workload().spiffeId()).isEqualTo("spiffe://cluster.local/ns/shop/sa/frontend");
        assertThat(config.workload().labels()).containsEntry("app", "frontend");
        assertThat(config.inbound().port()).isEqualTo(layout.inboundPort(frontend));
        assertThat(config.app().port()).isEqualTo(layout.appPort(frontend));
        assertThat(config.policyDirectory()).contains(layout.policyDir());
        assertThat(config.workloadApiSocket()).isEqualTo("unix://" + layout.socket());

        OutboundConfig outbound = OutboundConfig.parse(yaml).orElseThrow();
        assertThat(outbound.port()).isEqualTo(layout.outboundPort(frontend));
        assertThat(outbound.routes()).extracting(OutboundConfig.Route::host).containsExactly("orders.shop", "payments.shop");
        assertThat(outbound.routes().get(1).identities()).extracting(Object::toString)
                .containsExactly("spiffe://cluster.local/ns/shop/sa/payments");
        assertThat(outbound.routes().get(1).address().getPort()).isEqualTo(layout.inboundPort(layout.workload("payments")));
    }
}
