package dev.keel.proxy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.keel.identity.TrustDomain;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/** The {@code identity} (files instead of the Workload API) and {@code workerThreads} settings. */
class ProxyConfigIdentityTest {

    static final String APP = "app: {port: 8080}\n";

    @Test
    void identityFromFiles() {
        ProxyConfig c = ProxyConfig.parse(APP + """
                identity:
                  certificateChain: /etc/keel/svid.pem
                  privateKey: /etc/keel/svid.key
                  trustBundle: /etc/keel/bundle.pem
                  trustDomain: cluster.local
                  refreshInterval: 30s
                workerThreads: 1
                """);
        ProxyConfig.FileIdentity id = c.identity().orElseThrow();
        assertThat(id.certificateChain()).isEqualTo(Path.of("/etc/keel/svid.pem"));
        assertThat(id.privateKey()).isEqualTo(Path.of("/etc/keel/svid.key"));
        assertThat(id.trustBundle()).isEqualTo(Path.of("/etc/keel/bundle.pem"));
        assertThat(id.trustDomain()).contains(TrustDomain.parse("cluster.local"));
        assertThat(id.refreshInterval()).isEqualTo(Duration.ofSeconds(30));
        assertThat(c.workerThreads()).isEqualTo(1);
    }

    @Test
    void defaultsAreTheAgentAndNettysThreadCount() {
        ProxyConfig c = ProxyConfig.parse(APP);
        assertThat(c.identity()).isEmpty();
        assertThat(c.workerThreads()).isZero();
        ProxyConfig files = ProxyConfig.parse(APP + "identity: {certificateChain: a, privateKey: b, trustBundle: c}\n");
        assertThat(files.identity().orElseThrow().trustDomain()).isEmpty();
        assertThat(files.identity().orElseThrow().refreshInterval())
                .isEqualTo(ProxyConfig.FileIdentity.DEFAULT_REFRESH_INTERVAL);
    }

    @Test
    void errorsNameTheField() {
        assertThatThrownBy(() -> ProxyConfig.parse(APP + "identity: {certificateChain: a, trustBundle: c}\n"))
                .hasMessage("identity.privateKey: missing (expected: a file path)");
        assertThatThrownBy(() -> ProxyConfig.parse(APP + "identity: {certificateChain: a, privateKey: b, trustBundle: c, "
                + "key: d}\n"))
                .hasMessageStartingWith("identity.key: unknown field");
        assertThatThrownBy(() -> ProxyConfig.parse(APP + "identity: {certificateChain: a, privateKey: b, trustBundle: c, "
                + "trustDomain: 'Not A Domain!'}\n"))
                .hasMessageStartingWith("identity.trustDomain: \"Not A Domain!\"");
        assertThatThrownBy(() -> ProxyConfig.parse(APP + "identity: {certificateChain: a, privateKey: b, trustBundle: c, "
                + "refreshInterval: 0s}\n"))
                .hasMessage("identity.refreshInterval: 0ms (expected: > 0)");
        assertThatThrownBy(() -> ProxyConfig.parse(APP + "identity: [a]\n"))
                .hasMessage("identity: (expected: a mapping)");
        assertThatThrownBy(() -> ProxyConfig.parse(APP + "workerThreads: -1\n"))
                .hasMessageStartingWith("workerThreads: -1 (expected: 0-1024");
    }

    @Test
    void filesAndTheAgentTogetherAreRefused() {
        assertThatThrownBy(() -> ProxyConfig.parse(APP + "workloadApiSocket: unix:///tmp/a.sock\n"
                + "identity: {certificateChain: a, privateKey: b, trustBundle: c}\n"))
                .hasMessageStartingWith("identity: set together with workloadApiSocket");
    }
}
