package dev.keel.agent.ca;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.keel.agent.AgentConfig;
import dev.keel.agent.AgentConfig.JoinToken;
import dev.keel.identity.KeyType;
import dev.keel.identity.TrustDomain;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;

class AgentConfigTest {

    @Test
    void defaults() {
        AgentConfig config = AgentConfig.builder().build();

        assertThat(config.trustDomain()).isEqualTo(TrustDomain.CLUSTER_LOCAL);
        assertThat(config.caHost()).isEqualTo("localhost");
        assertThat(config.caPort()).isEqualTo(15012);
        assertThat(config.rotationFraction()).isEqualTo(0.5);
        assertThat(config.syncInterval()).isEqualTo(Duration.ofSeconds(5));
        assertThat(config.keyType()).isEqualTo(KeyType.EC_P256);
        assertThat(config.workloadSvidTtl()).isEqualTo(Duration.ZERO);
        assertThat(config.caCallDeadline()).isEqualTo(Duration.ofSeconds(10));
        assertThat(config.maxConcurrentIssuance()).isEqualTo(32);
        assertThat(config.kubernetesMode()).isFalse();
        assertThat(config.joinToken()).isEmpty();
        assertThat(config.bootstrapBundle()).isEmpty();
        assertThat(config.socketPath()).isEqualTo(Path.of("/tmp/keel/agent.sock"));
    }

    @Test
    void theJoinTokenIsNeverPrinted() {
        AgentConfig config = AgentConfig.builder().joinToken(JoinToken.of("s3cr3t-token\n".toCharArray())).build();

        assertThat(config.joinToken().orElseThrow().reveal()).isEqualTo("s3cr3t-token");
        assertThat(config.toString()).doesNotContain("s3cr3t").contains("joinToken=(set)");
        assertThat(config.joinToken().orElseThrow().toString()).doesNotContain("s3cr3t");
        assertThat(config.toBuilder().build()).isEqualTo(config);
        assertThatThrownBy(() -> JoinToken.of("  ")).hasMessage("join token: empty");
    }

    @Test
    void caAddresses() {
        assertThat(AgentConfig.builder().caAddress("ca.keel.svc:9000").build().caPort()).isEqualTo(9000);
        AgentConfig v6 = AgentConfig.builder().caAddress("[::1]:15012").build();
        assertThat(v6.caHost()).isEqualTo("::1");
        assertThat(v6.caPort()).isEqualTo(15012);
        assertThat(AgentConfig.builder().caAddress("ca").build().caPort()).isEqualTo(15012);
        for (String bad : new String[] {"", ":1", "ca:0", "ca:x", "ca:1:2", "[::1", "ca/x:1", "ca:70000"}) {
            assertThatThrownBy(() -> AgentConfig.builder().caAddress(bad).build()).as(bad)
                    .isInstanceOf(IllegalArgumentException.class).hasMessageStartingWith("caAddress:");
        }
    }

    @Test
    void invalidSettingsAreRefusedWithTheirName() {
        assertThatThrownBy(() -> AgentConfig.builder().rotationFraction(1).build()).hasMessageStartingWith("rotationFraction: 1.0");
        assertThatThrownBy(() -> AgentConfig.builder().syncInterval(Duration.ZERO).build()).hasMessage("syncInterval: PT0S (expected: > 0)");
        assertThatThrownBy(() -> AgentConfig.builder().maxConcurrentIssuance(0).build()).hasMessageStartingWith("maxConcurrentIssuance: 0");
        assertThatThrownBy(() -> AgentConfig.builder().workloadSvidTtl(Duration.ofMillis(1500)).build())
                .hasMessageStartingWith("workloadSvidTtl:");
    }
}
