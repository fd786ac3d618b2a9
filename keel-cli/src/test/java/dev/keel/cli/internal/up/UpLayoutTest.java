package dev.keel.cli.internal.up;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;

class UpLayoutTest {

    @Test
    void portsAreOneBlockAboveTheBaseAndDistinct() {
        UpLayout layout = UpLayout.demo(Path.of("/tmp/x/.keel"), 20000);
        assertThat(layout.allPorts()).doesNotHaveDuplicates().hasSize(4 + 3 * 4)
                .allMatch(p -> p >= 20000 && p < 20200);
        assertThat(layout.inboundPort(layout.workload("orders"))).isEqualTo(20111);
        assertThat(layout.workload("payments").spiffeId("cluster.local")).isEqualTo("spiffe://cluster.local/ns/shop/sa/payments");
        assertThat(layout.workload("orders").serviceHost()).isEqualTo("orders.shop");
    }

    @Test
    void socketMovesToTmpWhenTheStateDirectoryIsTooDeepForAUnixSocket() {
        assertThat(UpLayout.demo(Path.of("/tmp/short"), 17000).socket()).isEqualTo(Path.of("/tmp/short/agent.sock"));
        Path deep = Path.of("/tmp/" + "d".repeat(120));
        Path socket = UpLayout.demo(deep, 17000).socket();
        assertThat(socket.toString()).hasSizeLessThan(100).endsWith("agent.sock");
        assertThat(UpLayout.demo(deep, 17000).socket()).isEqualTo(socket);
    }

    @Test
    void refusesABasePortWithoutRoomForTheBlock() {
        assertThatThrownBy(() -> UpLayout.demo(Path.of("/tmp/x"), 65400)).hasMessageContaining("--base-port");
        assertThatThrownBy(() -> UpLayout.demo(Path.of("/tmp/x"), 80)).hasMessageContaining("--base-port");
    }
}
