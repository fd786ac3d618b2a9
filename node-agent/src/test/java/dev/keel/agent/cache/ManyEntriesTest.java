package dev.keel.agent.cache;

import static org.assertj.core.api.Assertions.assertThat;

import dev.keel.proto.ca.v1.RegistrationEntry;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** A cold agent with 1,000 entries: all issued, concurrently, never more than the bound in flight. */
class ManyEntriesTest extends AgentFixture {

    @Test
    void aThousandEntriesAreIssuedWithBoundedConcurrency() throws Exception {
        List<RegistrationEntry> entries = new ArrayList<>();
        for (int i = 0; i < 1000; i++) {
            entries.add(ca.entry("e" + i, "spiffe://cluster.local/ns/n" + (i % 10) + "/sa/s" + i, "unix:uid:" + (10000 + i)));
        }
        ca.setEntries(entries);
        // Each signing waits until 32 are in flight at once: the agent must reach the bound to get anywhere.
        ca.holdSigningUntilConcurrent(32);

        start(config().maxConcurrentIssuance(32).build());

        assertThat(manager.awaitReady(Duration.ofSeconds(60))).isTrue();
        assertThat(manager.current().svidsByEntryId()).hasSize(1000);
        assertThat(ca.calls("SignWorkloadSVID")).isEqualTo(1000);
        assertThat(ca.maxConcurrentSigning()).isEqualTo(32);
        // Full path validation only until the first chain is remembered (at most one per key generation thread).
        assertThat(manager.fullChainVerifications()).isLessThanOrEqualTo(manager.keygenThreads() + 1);
        assertThat(manager.current().svidsByEntryId().values()).allSatisfy(svid -> assertThat(svid.chain()).hasSize(2));
    }
}
