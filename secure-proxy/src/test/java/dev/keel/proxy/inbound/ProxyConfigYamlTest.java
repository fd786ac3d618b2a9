package dev.keel.proxy.inbound;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.keel.authz.PathNormalization;
import dev.keel.authz.Protocol;
import dev.keel.policy.PeerAuthentication.MutualTLS.Mode;
import dev.keel.proxy.ProxyConfig;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;

class ProxyConfigYamlTest {

    @Test
    void parsesEverySectionAndDefaultsTheRest() {
        ProxyConfig c = ProxyConfig.parse("""
                workload: {namespace: shop, serviceAccount: cart, labels: {app: cart}}
                inbound:
                  port: 15106
                  mode: STRICT
                  ports:
                    - {port: 9000, listenPort: 15107, protocol: tcp, mode: PERMISSIVE}
                app: {port: 8080}
                policyDirectory: /etc/keel/policies
                pathNormalization: MERGE_SLASHES
                limits: {maxHeaderBytes: 16384, headerTimeout: 2s, idleTimeout: 10m}
                """);
        assertThat(c.workload().spiffeId()).isEqualTo("spiffe://cluster.local/ns/shop/sa/cart");
        assertThat(c.workload().labels()).isEqualTo(Map.of("app", "cart"));
        assertThat(c.inbound().host()).isEqualTo("0.0.0.0");
        assertThat(c.inbound().port()).isEqualTo(15106);
        assertThat(c.inbound().mode()).isEqualTo(Mode.STRICT);
        assertThat(c.inbound().ports()).containsExactly(new ProxyConfig.PortSettings(9000, 15107, Protocol.TCP, Mode.PERMISSIVE));
        assertThat(c.app()).isEqualTo(new ProxyConfig.App("127.0.0.1", 8080));
        assertThat(c.policyDirectory()).contains(Path.of("/etc/keel/policies"));
        assertThat(c.pathNormalization()).isEqualTo(PathNormalization.MERGE_SLASHES);
        assertThat(c.limits().maxHeaderBytes()).isEqualTo(16384);
        assertThat(c.limits().headerTimeout()).isEqualTo(Duration.ofSeconds(2));
        assertThat(c.limits().idleTimeout()).isEqualTo(Duration.ofMinutes(10));
        assertThat(c.limits().maxConcurrentStreams()).isEqualTo(100);
        assertThat(c.adminPort()).isEqualTo(15000);
        assertThat(c.rootNamespace()).isEqualTo("istio-system");
        assertThat(c.workloadApiSocket()).isEqualTo("unix:///tmp/keel/agent.sock");
    }

    @Test
    void refusesUnknownFieldsAndBadValuesNamingTheField() {
        assertThatThrownBy(() -> ProxyConfig.parse("app: {port: 8080}\ninbound: {prot: 1}"))
                .hasMessageStartingWith("inbound.prot: unknown field");
        assertThatThrownBy(() -> ProxyConfig.parse("app: {port: 8080}\ninbound: {ports: [{port: 1, protocol: UDP}]}"))
                .hasMessageStartingWith("inbound.ports[0].protocol: \"UDP\"");
        assertThatThrownBy(() -> ProxyConfig.parse("app: {port: 8080}\nlimits: {idleTimeout: soon}"))
                .hasMessageStartingWith("limits.idleTimeout: \"soon\"");
        assertThatThrownBy(() -> ProxyConfig.parse("app: {port: 70000}"))
                .hasMessageStartingWith("app.port: 70000");
    }
}
