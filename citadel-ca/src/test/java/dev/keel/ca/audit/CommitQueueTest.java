package dev.keel.ca.audit;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;

class CommitQueueTest {

    private static PendingLine line(int bytes) {
        return new PendingLine(new byte[bytes], new CompletableFuture<>());
    }

    @Test
    void batchesAreCutByLineCountAndByBytesButNeverEmpty() throws Exception {
        CommitQueue queue = new CommitQueue();
        for (int i = 0; i < 5; i++) {
            assertThat(queue.offer(line(10))).isNull();
        }
        assertThat(queue.takeBatch(3, 1000)).hasSize(3);
        assertThat(queue.takeBatch(3, 15)).hasSize(1);
        assertThat(queue.offer(line(5000))).isNull();
        assertThat(queue.takeBatch(3, 1000)).hasSize(1);
        assertThat(queue.takeBatch(3, 1000)).hasSize(1);
    }

    @Test
    void closedQueueDrainsThenReturnsEmptyAndRefusesNewLines() throws Exception {
        CommitQueue queue = new CommitQueue();
        queue.offer(line(1));
        queue.close();

        assertThat(queue.offer(line(1))).hasMessage("audit log is closed");
        assertThat(queue.takeBatch(10, 1000)).hasSize(1);
        assertThat(queue.takeBatch(10, 1000)).isEmpty();
    }

    @Test
    void failedQueueHandsBackWhatWasQueuedAndRefusesForever() throws Exception {
        CommitQueue queue = new CommitQueue();
        queue.offer(line(1));
        queue.offer(line(1));
        AuditLogException cause = new AuditLogException("disk on fire");

        assertThat(queue.fail(cause)).hasSize(2);
        assertThat(queue.offer(line(1))).hasMessageContaining("disk on fire").hasCause(cause);
        assertThat(queue.takeBatch(10, 1000)).isEmpty();
    }
}
