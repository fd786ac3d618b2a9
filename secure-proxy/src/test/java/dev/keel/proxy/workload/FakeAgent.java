package dev.keel.proxy.workload;

import com.sun.security.auth.module.UnixSystem;
import dev.keel.agent.AgentMetrics;
import dev.keel.agent.IdentitySnapshot;
import dev.keel.agent.JwtSvidToken;
import dev.keel.agent.RegistrationEntry;
import dev.keel.agent.Selector;
import dev.keel.agent.WorkloadIdentities;
import dev.keel.agent.WorkloadSvid;
import dev.keel.agent.attestor.UnixWorkloadAttestor;
import dev.keel.agent.workloadapi.WorkloadApiServer;
import dev.keel.identity.Bundle;
import dev.keel.identity.SpiffeId;
import dev.keel.testing.TestLeaf;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;

/**
 * A real node-agent Workload API server on a short socket path, serving snapshots the test
 * publishes (the fake {@link WorkloadIdentities} pattern of node-agent's own tests), attested by uid.
 */
final class FakeAgent implements WorkloadIdentities, AutoCloseable {

    static final Selector MY_UID = Selector.of("unix", "uid:" + new UnixSystem().getUid());

    final Path dir;
    final Path socket;
    private final AtomicLong versions = new AtomicLong();
    private final AtomicReference<IdentitySnapshot> current = new AtomicReference<>(IdentitySnapshot.EMPTY);
    private final Set<Consumer<IdentitySnapshot>> listeners = ConcurrentHashMap.newKeySet();
    private WorkloadApiServer server;

    FakeAgent() throws IOException {
        dir = Files.createTempDirectory(Path.of("/tmp"), "kpw");
        socket = dir.resolve("a.sock");
    }

    static RegistrationEntry entry(String id, SpiffeId spiffeId) {
        return new RegistrationEntry(id, spiffeId, Set.of(MY_UID), Duration.ZERO, Duration.ZERO, "");
    }

    synchronized FakeAgent start() throws IOException {
        server = WorkloadApiServer.builder().socketPath(socket).identities(this)
                .attestors(List.of(UnixWorkloadAttestor.builder().build()))
                .metrics(new AgentMetrics(Clock.systemUTC())).build();
        server.start();
        return this;
    }

    synchronized void stop() {
        if (server != null) {
            server.close();
            server = null;
        }
    }

    /** Publishes SVIDs (leaf, entry) in order, the first being the default, with {@code bundle}. */
    void publish(Bundle bundle, Map<RegistrationEntry, TestLeaf> svids) {
        Map<String, WorkloadSvid> byEntry = new LinkedHashMap<>();
        svids.forEach((entry, leaf) -> byEntry.put(entry.id(), new WorkloadSvid(entry, leaf.chain(), leaf.privateKey())));
        IdentitySnapshot snapshot = new IdentitySnapshot(versions.incrementAndGet(), List.copyOf(svids.keySet()),
                byEntry, Optional.of(bundle));
        current.set(snapshot);
        listeners.forEach(l -> l.accept(snapshot));
    }

    @Override
    public IdentitySnapshot current() {
        return current.get();
    }

    @Override
    public AutoCloseable subscribe(Consumer<IdentitySnapshot> listener) {
        Consumer<IdentitySnapshot> handle = listener::accept;
        listeners.add(handle);
        return () -> listeners.remove(handle);
    }

    @Override
    public CompletableFuture<JwtSvidToken> fetchJwtSvid(RegistrationEntry entry, List<String> audience) {
        return CompletableFuture.failedFuture(new UnsupportedOperationException("not in these tests"));
    }

    @Override
    public void close() throws IOException {
        stop();
        Files.deleteIfExists(socket);
        Files.deleteIfExists(dir);
    }
}
