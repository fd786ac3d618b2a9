package dev.keel.agent.cache;

import dev.keel.agent.AgentConfig;
import dev.keel.agent.AgentConfig.JoinToken;
import dev.keel.agent.AgentMetrics;
import dev.keel.agent.IdentitySnapshot;
import dev.keel.agent.WorkloadSvid;
import dev.keel.agent.ca.Await;
import dev.keel.agent.ca.FakeCa;
import dev.keel.agent.ca.FakeClockScheduler;
import dev.keel.testing.FakeClock;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.io.TempDir;

/**
 * A node agent's SVID manager against the fake CA over real TLS, with time on a fake clock that the
 * manager's scheduler follows: tests move time, then wait for the effect, never for a duration.
 */
abstract class AgentFixture {

    static final String X = "spiffe://cluster.local/ns/a/sa/x";
    static final String Y = "spiffe://cluster.local/ns/b/sa/y";

    @TempDir
    Path tmp;

    FakeClock clock;
    FakeClockScheduler scheduler;
    FakeCa ca;
    AgentMetrics metrics;
    SvidManager manager;
    final List<IdentitySnapshot> seen = new CopyOnWriteArrayList<>();

    @BeforeEach
    void startCa() throws Exception {
        clock = FakeClock.now();
        scheduler = new FakeClockScheduler(clock);
        ca = FakeCa.start(clock);
        metrics = new AgentMetrics(clock);
    }

    @AfterEach
    void stopAll() {
        if (manager != null) {
            manager.close();
        }
        ca.close();
        scheduler.shutdownNow();
    }

    AgentConfig.Builder config() throws Exception {
        return AgentConfig.builder()
                .trustDomain(ca.trustDomain())
                .caAddress(ca.address())
                .bootstrapBundle(ca.writeBootstrapBundle(tmp.resolve("root.pem")))
                .dataDir(tmp.resolve("agent"))
                .joinToken(JoinToken.of(ca.newJoinToken()));
    }

    SvidManager start(AgentConfig config) throws Exception {
        if (scheduler.isShutdown()) {
            scheduler = new FakeClockScheduler(clock); // the previous manager owned and stopped it
        }
        manager = SvidManager.builder(config, metrics).clock(clock).scheduler(scheduler).start();
        manager.subscribe(seen::add);
        return manager;
    }

    SvidManager startReady(AgentConfig config) throws Exception {
        start(config);
        if (!manager.awaitReady(Duration.ofSeconds(Await.TIMEOUT_SECONDS))) {
            throw new AssertionError("the agent did not get its SVIDs: " + manager.current());
        }
        return manager;
    }

    WorkloadSvid svid(String entryId) {
        return manager.current().svidsByEntryId().get(entryId);
    }

    /** Waits until nothing is under way and everything left waits for the clock. */
    void settle() throws InterruptedException {
        Await.until("the agent settles", () -> !manager.busy() && scheduler.isWaitingForTime() && !manager.busy());
    }

    /** Moves time forward once the agent has settled, so that what it scheduled is in the queue. */
    void advance(Duration duration) throws InterruptedException {
        settle();
        scheduler.advance(duration);
    }

    /** Moves time forward by one sync interval and waits for that sync to finish. */
    void sync() throws InterruptedException {
        advance(AgentConfig.DEFAULT_SYNC_INTERVAL);
        settle();
    }
}
