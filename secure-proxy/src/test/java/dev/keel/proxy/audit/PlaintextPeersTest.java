package dev.keel.proxy.audit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class PlaintextPeersTest {

    private final Clock clock = Clock.fixed(Instant.parse("2026-11-23T10:00:00Z"), ZoneOffset.UTC);

    @Test
    void countsConnectionsPerAddressAndPort() {
        PlaintextPeers peers = new PlaintextPeers(10, clock);
        peers.record("10.0.0.1", 8080);
        peers.record("10.0.0.2", 8080);
        peers.record("10.0.0.2", 9000);
        peers.record("10.0.0.2", 9000);
        List<PlaintextPeers.Peer> snapshot = peers.snapshot();
        assertThat(snapshot).extracting(PlaintextPeers.Peer::address).containsExactly("10.0.0.2", "10.0.0.1");
        assertThat(snapshot.get(0).connections()).isEqualTo(3);
        assertThat(snapshot.get(0).ports()).containsExactly(8080, 9000);
        assertThat(snapshot.get(0).lastSeen()).isEqualTo(clock.instant());
        @SuppressWarnings("unchecked")
        List<Map<String, Object>> json = (List<Map<String, Object>>) peers.toJson().get("plaintext");
        assertThat(json.get(0)).containsEntry("address", "10.0.0.2").containsEntry("count", 3L)
                .containsEntry("last_seen", "2026-11-23T10:00:00Z");
    }

    @Test
    void isBoundedByDroppingTheLeastRecentlySeen() {
        PlaintextPeers peers = new PlaintextPeers(2, clock);
        peers.record("a", 1);
        peers.record("b", 1);
        peers.record("a", 1);
        peers.record("c", 1);
        assertThat(peers.snapshot()).extracting(PlaintextPeers.Peer::address).containsExactlyInAnyOrder("a", "c");
        assertThatThrownBy(() -> new PlaintextPeers(0, clock)).hasMessageContaining("capacity");
    }
}
