package dev.keel.proxy.inbound;

import static org.assertj.core.api.Assertions.assertThat;

import dev.keel.authz.Protocol;
import dev.keel.proxy.ProxyMetrics;
import java.net.InetSocketAddress;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The source labels derived from the peer's SPIFFE ID. */
class ConnectionInfoTest {

    static ConnectionInfo peer(String spiffeId) {
        ConnectionInfo info = new ConnectionInfo(new ListenerSpec("127.0.0.1", 0, 8080, Protocol.HTTP,
                new InetSocketAddress("127.0.0.1", 8080)), "127.0.0.1", 1234, "127.0.0.1");
        info.sourcePrincipal = spiffeId;
        info.securityPolicy = spiffeId == null ? ConnectionInfo.NONE : ConnectionInfo.MUTUAL_TLS;
        return info;
    }

    static String label(String[] values, String name) {
        return values[Arrays.asList(ProxyMetrics.labelNames()).indexOf(name)];
    }

    @Test
    void sourceWorkloadIsTheServiceAccountOfAKubernetesStyleId() {
        String[] labels = peer("spiffe://cluster.local/ns/shop/sa/checkout")
                .requestLabels("spiffe://cluster.local/ns/default/sa/web", "web", "default", "http");
        assertThat(label(labels, "source_workload")).isEqualTo("checkout");
        assertThat(label(labels, "source_workload_namespace")).isEqualTo("shop");
        assertThat(label(labels, "source_principal")).isEqualTo("spiffe://cluster.local/ns/shop/sa/checkout");
        assertThat(label(labels, "destination_workload")).isEqualTo("web");
    }

    @Test
    void tcpLabelsCarryTheSameSourceWorkload() {
        String[] labels = peer("spiffe://cluster.local/ns/shop/sa/checkout").tcpLabels("d", "web", "default", "-");
        List<String> names = Arrays.asList(ProxyMetrics.tcpLabelNames());
        assertThat(labels[names.indexOf("source_workload")]).isEqualTo("checkout");
    }

    @Test
    void otherIdShapesAndPlaintextAreUnknown() {
        for (String id : new String[] {null, "spiffe://example.org/host/a", "spiffe://example.org/ns/x/sa/y/extra",
                "spiffe://example.org/ns//sa/y", "spiffe://example.org/ns/x/sa/", "spiffe://example.org/x/ns/a/sa/b"}) {
            String[] labels = peer(id).requestLabels("d", "web", "default", "http");
            assertThat(label(labels, "source_workload")).as(String.valueOf(id)).isEqualTo("unknown");
        }
        assertThat(label(peer("spiffe://example.org/ns/x/sa/y/extra").requestLabels("d", "w", "n", "http"),
                "source_workload_namespace")).isEqualTo("x");
    }
}
