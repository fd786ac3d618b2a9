package dev.keel.agent.cache;

import dev.keel.agent.AgentConfig;
import dev.keel.agent.AgentMetrics;
import dev.keel.agent.IdentitySnapshot;
import dev.keel.agent.JwtSvidToken;
import dev.keel.agent.KubernetesPod;
import dev.keel.agent.RegistrationEntry;
import dev.keel.agent.Selector;
import dev.keel.agent.WorkloadIdentities;
import dev.keel.agent.WorkloadIdentityException;
import dev.keel.agent.WorkloadSvid;
import dev.keel.agent.ca.CaClient;
import dev.keel.agent.ca.NodeIdentity;
import dev.keel.agent.ca.NodeIdentityStore;
import dev.keel.agent.ca.internal.BundleFiles;
import dev.keel.agent.ca.internal.Csrs;
import dev.keel.agent.ca.internal.Schedules;
import dev.keel.identity.Bundle;
import dev.keel.identity.BundleJson;
import dev.keel.identity.Pem;
import dev.keel.identity.SpiffeId;
import dev.keel.identity.X509SvidValidationException;
import dev.keel.proto.ca.v1.FetchBundleResponse;
import dev.keel.proto.ca.v1.FetchEntriesResponse;
import dev.keel.proto.ca.v1.MintJWTSVIDRequest;
import dev.keel.proto.ca.v1.SignWorkloadSVIDRequest;
import dev.keel.proto.ca.v1.SignWorkloadSVIDResponse;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The agent's SVID cache: the registration entries the CA bound to this node, an X.509-SVID for each
 * (key generated here, signed by the CA), the trust bundle, and JWT-SVIDs on demand. What the Workload
 * API serves from.
 *
 * <p>What it does, on its own threads:
 * <ul>
 *   <li>every {@code syncInterval} (5 s) fetches the entries ({@code FetchEntries} with the revision
 *       it holds, so an unchanged answer is empty) and the bundle ({@code FetchBundle}, taken when its
 *       sequence is newer, and saved in the data directory);</li>
 *   <li>issues an SVID for each new entry, re-issues when an entry's SPIFFE ID or TTL changes (a
 *       changed SPIFFE ID drops the old SVID at once), drops the SVIDs of deleted entries; at most
 *       {@code maxConcurrentIssuance} requests are in flight;</li>
 *   <li>renews each SVID at {@code rotationFraction} of its lifetime, ±10% at random; retries failures
 *       with capped exponential backoff and full jitter (1 s doubling to 60 s, always before the SVID
 *       expires);</li>
 *   <li>while the CA is unreachable keeps serving the SVIDs that are still valid, logs the outage once
 *       with its reason, and drops each SVID when it expires: an expired SVID is never in a snapshot;</li>
 *   <li>publishes a new {@link IdentitySnapshot} (version + 1) after every change, to every subscriber,
 *       in order, on one notifier thread (bursts are coalesced; a failing listener is logged and does
 *       not affect the others).</li>
 * </ul>
 *
 * <p>Start with {@link #builder(AgentConfig, AgentMetrics)}{@code .start()}, which attests the node
 * first (blocking: see {@link NodeIdentity}); stop with {@link #close()}. Thread-safe.
 */
public final class SvidManager implements WorkloadIdentities, AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(SvidManager.class);

    /** The prefix of the entry ids Kubernetes mode makes up for pods. */
    public static final String POD_ENTRY_PREFIX = "k8s:";

    private final AgentConfig config;
    private final Clock clock;
    private final CaClient ca;
    private final NodeIdentityStore store;
    private final NodeIdentity node;
    private final ScheduledExecutorService scheduler;
    private final ExecutorService workers;
    private final int keygenThreads;
    private final ExecutorService notifier;
    private final JwtSvidCache jwts;
    private final IssuedSvidVerifier verifier;
    private final List<Consumer<IdentitySnapshot>> listeners = new CopyOnWriteArrayList<>();
    private volatile IdentitySnapshot current = IdentitySnapshot.EMPTY;

    private final Object lock = new Object();
    // Everything below is guarded by lock.
    private final LinkedHashMap<String, Slot> slots = new LinkedHashMap<>();
    private final LinkedHashSet<String> pending = new LinkedHashSet<>();
    private int inFlight;
    private long knownRevision;
    private boolean synced;
    /** A snapshot built after the first entry sync has been published. */
    private boolean syncPublished;
    private boolean syncing;
    private Bundle bundle;
    private long bundleSequence;
    private long version;
    private boolean dirty;
    private boolean publishQueued;
    private boolean delivering;
    private Instant outageSince;
    private ScheduledFuture<?> syncTimer;
    private boolean closed;

    /** One entry and what the agent holds or does for it. */
    private static final class Slot {
        final String id;
        final KubernetesPod pod;
        RegistrationEntry entry;
        long generation;
        WorkloadSvid svid;
        ScheduledFuture<?> timer;
        ScheduledFuture<?> expiry;
        int failures;
        boolean queued;
        boolean inFlight;
        Instant lastUsed;

        Slot(RegistrationEntry entry, KubernetesPod pod, Instant now) {
            this.id = entry.id();
            this.entry = entry;
            this.pod = pod;
            this.lastUsed = now;
        }
    }

    private SvidManager(Builder builder, CaClient ca, NodeIdentityStore store, NodeIdentity node,
            ScheduledExecutorService scheduler) {
        this.config = builder.config;
        this.clock = builder.clock;
        this.ca = ca;
        this.store = store;
        this.node = node;
        this.scheduler = scheduler;
        this.keygenThreads = Math.max(1, Math.min(Runtime.getRuntime().availableProcessors(),
                config.maxConcurrentIssuance()));
        this.workers = Executors.newFixedThreadPool(keygenThreads, threads("keel-agent-keygen"));
        this.notifier = Executors.newSingleThreadExecutor(threads("keel-agent-notify"));
        this.jwts = new JwtSvidCache(clock, builder.jwtCacheSize);
        this.verifier = new IssuedSvidVerifier(config.trustDomain(), ca::trustBundle, clock);
        this.bundle = ca.trustBundle();
        this.bundleSequence = bundle.sequenceNumber().orElse(-1);
    }

    /** A builder for a manager configured by {@code config}, reporting to {@code metrics}. */
    public static Builder builder(AgentConfig config, AgentMetrics metrics) {
        return new Builder(config, metrics);
    }

    @Override
    public IdentitySnapshot current() {
        return current;
    }

    /**
     * Calls {@code listener} with each snapshot published from now on (not with the current one: read
     * {@link #current()} after subscribing and compare versions), on the notifier thread, in order.
     */
    @Override
    public AutoCloseable subscribe(Consumer<IdentitySnapshot> listener) {
        Objects.requireNonNull(listener, "listener");
        listeners.add(listener);
        return () -> listeners.remove(listener);
    }

    /** The node's SPIFFE ID. */
    public SpiffeId nodeId() {
        return node.spiffeId();
    }

    @Override
    public CompletableFuture<JwtSvidToken> fetchJwtSvid(RegistrationEntry entry, List<String> audience) {
        Objects.requireNonNull(entry, "entry");
        Objects.requireNonNull(audience, "audience");
        List<String> audienceSet = new ArrayList<>(new TreeSet<>(audience));
        if (audienceSet.isEmpty() || audienceSet.stream().anyMatch(String::isBlank)) {
            return CompletableFuture.failedFuture(new WorkloadIdentityException(
                    "JWT-SVID audience: " + audience + " (expected: at least one non-empty value)", false, null));
        }
        RegistrationEntry held;
        KubernetesPod pod;
        synchronized (lock) {
            Slot slot = slots.get(entry.id());
            if (closed || slot == null || !slot.entry.spiffeId().equals(entry.spiffeId())) {
                return CompletableFuture.failedFuture(new WorkloadIdentityException("no registration entry "
                        + entry.id() + " for " + entry.spiffeId() + " on this node", false, null));
            }
            slot.lastUsed = clock.instant();
            held = slot.entry;
            pod = slot.pod;
        }
        JwtSvidCache.Key key = new JwtSvidCache.Key(held.id(), held.spiffeId(), List.copyOf(audienceSet));
        return jwts.get(key, () -> mint(held, pod, key.audience()));
    }

    /**
     * Kubernetes mode: see {@link WorkloadIdentities#admitPod}. Each call also counts as a use of the
     * pod's identity: a pod not admitted (or asking for a JWT-SVID) for {@code podIdleTimeout} loses it,
     * so the Workload API should call this whenever it serves the pod, including on each update it
     * pushes to the pod's open stream.
     */
    @Override
    public RegistrationEntry admitPod(KubernetesPod pod) {
        Objects.requireNonNull(pod, "pod");
        if (!config.kubernetesMode()) {
            throw new UnsupportedOperationException("this agent does not run in Kubernetes mode");
        }
        String id = POD_ENTRY_PREFIX + pod.uid();
        synchronized (lock) {
            Slot slot = slots.get(id);
            Instant now = clock.instant();
            if (slot != null) {
                slot.lastUsed = now;
                return slot.entry;
            }
            RegistrationEntry entry = new RegistrationEntry(id,
                    config.trustDomain().workload(pod.namespace(), pod.serviceAccount()),
                    Set.of(Selector.of("k8s", "pod-uid:" + pod.uid())), config.workloadSvidTtl(), Duration.ZERO, "");
            if (closed) {
                return entry;
            }
            slot = new Slot(entry, pod, now);
            slots.put(id, slot);
            log.info("admitted pod {}/{} ({}) as {}", pod.namespace(), pod.name(), pod.uid(), entry.spiffeId());
            requestIssuance(slot);
            publishLater();
            return entry;
        }
    }

    /** Kubernetes mode: the pod with {@code podUid} is gone; its identity is dropped. */
    public void forgetPod(String podUid) {
        Objects.requireNonNull(podUid, "podUid");
        synchronized (lock) {
            Slot slot = slots.get(POD_ENTRY_PREFIX + podUid);
            if (slot != null && slot.pod != null) {
                remove(slot);
                publishLater();
            }
        }
    }

    /**
     * Waits until the entries have been fetched once and every entry has a valid SVID.
     *
     * @return false if that did not happen within {@code timeout}
     */
    public boolean awaitReady(Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        synchronized (lock) {
            while (!closed && !isReady()) {
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    return false;
                }
                TimeUnit.NANOSECONDS.timedWait(lock, left);
            }
            return !closed;
        }
    }

    /**
     * Waits until {@link #current()} reflects the registration entries fetched from the CA at least
     * once. Until then a workload matching an entry the agent has not heard of yet would be told it
     * has no identity, so the Workload API opens only after this.
     *
     * @return false if that did not happen within {@code timeout}
     */
    public boolean awaitFirstSync(Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        synchronized (lock) {
            while (!closed && !(syncPublished || synced && !dirty && !publishQueued)) {
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    return false;
                }
                TimeUnit.NANOSECONDS.timedWait(lock, left);
            }
            return !closed;
        }
    }

    /** Stops syncing and renewing, cancels CA calls in flight, and stops the manager's threads. */
    @Override
    public void close() {
        synchronized (lock) {
            if (closed) {
                return;
            }
            closed = true;
            if (syncTimer != null) {
                syncTimer.cancel(false);
            }
            for (Slot slot : slots.values()) {
                cancelTimers(slot);
            }
            lock.notifyAll();
        }
        node.close();
        scheduler.shutdownNow();
        ca.close();
        workers.shutdownNow();
        notifier.shutdown();
        try {
            scheduler.awaitTermination(2, TimeUnit.SECONDS);
            workers.awaitTermination(2, TimeUnit.SECONDS);
            notifier.awaitTermination(2, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    // ---- test hooks ----

    /** Whether a sync, an issuance or a publication (listeners included) is under way. */
    boolean busy() {
        synchronized (lock) {
            return syncing || inFlight > 0 || !pending.isEmpty() || publishQueued || delivering;
        }
    }

    CaClient caClient() {
        return ca;
    }

    int jwtCacheSize() {
        return jwts.size();
    }

    int fullChainVerifications() {
        return verifier.fullVerifications();
    }

    int keygenThreads() {
        return keygenThreads;
    }

    // ---- sync ----

    private void begin() {
        synchronized (lock) {
            publishLater();
        }
        run(this::sync);
    }

    private void sync() {
        long revision;
        synchronized (lock) {
            if (closed) {
                return;
            }
            expireIdlePods(clock.instant());
            revision = knownRevision;
            syncing = true;
        }
        CompletableFuture<Void> entries = ca.fetchEntries(revision).handle((response, error) -> {
            if (error != null) {
                caFailed(CaClient.FETCH_ENTRIES, CaClient.failure(error));
            } else {
                applyEntries(response);
            }
            return null;
        });
        CompletableFuture<Void> bundles = ca.fetchBundle().handle((response, error) -> {
            if (error != null) {
                caFailed(CaClient.FETCH_BUNDLE, CaClient.failure(error));
            } else {
                applyBundle(response);
            }
            return null;
        });
        CompletableFuture.allOf(entries, bundles).whenComplete((ignored, error) -> {
            if (error != null) {
                log.error("registration entry sync failed", error);
            }
            synchronized (lock) {
                syncing = false;
                if (!closed) {
                    syncTimer = schedule(this::sync, config.syncInterval());
                }
            }
        });
    }

    private void applyEntries(FetchEntriesResponse response) {
        caSucceeded();
        if (response.getNotModified()) {
            synchronized (lock) {
                if (!synced) {
                    synced = true;
                    lock.notifyAll();
                }
            }
            return;
        }
        SpiffeId nodeId = node.spiffeId();
        Map<String, RegistrationEntry> incoming = new LinkedHashMap<>();
        for (dev.keel.proto.ca.v1.RegistrationEntry proto : response.getEntriesList()) {
            try {
                RegistrationEntry entry = toEntry(proto, nodeId);
                if (incoming.putIfAbsent(entry.id(), entry) != null) {
                    log.warn("registration entry {} appears twice in revision {}; the first is used", entry.id(),
                            response.getRevision());
                }
            } catch (IllegalArgumentException e) {
                log.warn("ignoring registration entry {} of revision {}: {}", proto.getId(), response.getRevision(),
                        e.getMessage());
            }
        }
        int added = 0;
        int changed = 0;
        int removed = 0;
        synchronized (lock) {
            if (closed) {
                return;
            }
            knownRevision = response.getRevision();
            LinkedHashMap<String, Slot> next = new LinkedHashMap<>();
            List<Slot> fresh = new ArrayList<>();
            Instant now = clock.instant();
            for (RegistrationEntry entry : incoming.values()) {
                Slot slot = slots.get(entry.id());
                if (slot == null) {
                    slot = new Slot(entry, null, now);
                    fresh.add(slot);
                    added++;
                } else if (update(slot, entry)) {
                    changed++;
                }
                next.put(entry.id(), slot);
            }
            // A copy: remove() takes the slot out of the map being walked.
            for (Slot slot : List.copyOf(slots.values())) {
                if (slot.pod != null) {
                    next.put(slot.id, slot);
                } else if (!next.containsKey(slot.id)) {
                    remove(slot);
                    removed++;
                }
            }
            slots.clear();
            slots.putAll(next);
            for (Slot slot : fresh) {
                requestIssuance(slot);
            }
            synced = true;
            if (added + changed + removed > 0) {
                publishLater();
            }
            lock.notifyAll();
        }
        log.info("registration entries at revision {}: {} bound to this node ({} new, {} changed, {} removed)",
                response.getRevision(), incoming.size(), added, changed, removed);
    }

    private RegistrationEntry toEntry(dev.keel.proto.ca.v1.RegistrationEntry proto, SpiffeId nodeId) {
        if (proto.getId().startsWith(POD_ENTRY_PREFIX)) {
            throw new IllegalArgumentException("entry ids starting with " + POD_ENTRY_PREFIX + " are reserved for pods");
        }
        if (!proto.getParentId().isEmpty() && !proto.getParentId().equals("*")
                && !proto.getParentId().equals(nodeId.toString())) {
            throw new IllegalArgumentException("bound to " + proto.getParentId() + ", not to this node " + nodeId);
        }
        SpiffeId id = SpiffeId.parse(proto.getSpiffeId());
        if (!id.memberOf(config.trustDomain())) {
            throw new IllegalArgumentException(id + " is not in trust domain " + config.trustDomain());
        }
        Set<Selector> selectors = new LinkedHashSet<>();
        for (String selector : proto.getSelectorsList()) {
            selectors.add(Selector.parse(selector));
        }
        if (proto.getX509SvidTtlSeconds() < 0 || proto.getJwtSvidTtlSeconds() < 0) {
            throw new IllegalArgumentException("negative TTL");
        }
        return new RegistrationEntry(proto.getId(), id, selectors, Duration.ofSeconds(proto.getX509SvidTtlSeconds()),
                Duration.ofSeconds(proto.getJwtSvidTtlSeconds()), proto.getHint());
    }

    /** Applies a changed entry to its slot; true if anything changed. */
    private boolean update(Slot slot, RegistrationEntry entry) {
        RegistrationEntry old = slot.entry;
        if (old.equals(entry)) {
            return false;
        }
        slot.entry = entry;
        if (!old.spiffeId().equals(entry.spiffeId())) {
            // The old SVID names an identity the entry no longer grants: never serve it again.
            slot.generation++;
            slot.svid = null;
            cancelTimers(slot);
            jwts.invalidate(slot.id);
            requestIssuance(slot);
        } else {
            if (slot.svid != null) {
                slot.svid = new WorkloadSvid(entry, slot.svid.chain(), slot.svid.privateKey());
            }
            if (!old.x509SvidTtl().equals(entry.x509SvidTtl())) {
                slot.generation++;
                requestIssuance(slot);
            }
        }
        return true;
    }

    private void remove(Slot slot) {
        cancelTimers(slot);
        slots.remove(slot.id);
        pending.remove(slot.id);
        slot.queued = false;
        slot.svid = null;
        jwts.invalidate(slot.id);
    }

    private void expireIdlePods(Instant now) {
        List<Slot> idle = new ArrayList<>();
        for (Slot slot : slots.values()) {
            if (slot.pod != null && !now.isBefore(slot.lastUsed.plus(config.podIdleTimeout()))) {
                idle.add(slot);
            }
        }
        for (Slot slot : idle) {
            log.info("dropping the identity of pod {}/{} ({}): not used since {}", slot.pod.namespace(),
                    slot.pod.name(), slot.pod.uid(), slot.lastUsed);
            remove(slot);
        }
        if (!idle.isEmpty()) {
            publishLater();
        }
    }

    private void applyBundle(FetchBundleResponse response) {
        caSucceeded();
        synchronized (lock) {
            if (closed || response.getSequence() <= bundleSequence) {
                return;
            }
        }
        Bundle fetched;
        try {
            fetched = BundleJson.parse(config.trustDomain(), response.getBundle().toString(StandardCharsets.UTF_8));
            if (fetched.x509Authorities().isEmpty()) {
                throw new IllegalArgumentException("no X.509 authority");
            }
        } catch (IllegalArgumentException e) {
            log.warn("ignoring the bundle of sequence {} from the CA: {}", response.getSequence(), e.getMessage());
            return;
        }
        try {
            store.saveBundle(fetched);
        } catch (IOException e) {
            log.warn("cannot save the new bundle in {}: {}", store.directory(), e.getMessage());
        }
        synchronized (lock) {
            if (closed || response.getSequence() <= bundleSequence) {
                return;
            }
            ca.updateTrustBundle(fetched);
            bundle = fetched;
            bundleSequence = response.getSequence();
            publishLater();
        }
        log.info("trust bundle of {} updated to sequence {} ({} X.509 and {} JWT authorities)", config.trustDomain(),
                response.getSequence(), fetched.x509Authorities().size(), fetched.jwtAuthorities().size());
    }

    // ---- issuance ----

    /** Queues an issuance for {@code slot} unless one is queued or in flight. Called with the lock held. */
    private void requestIssuance(Slot slot) {
        if (slot.timer != null) {
            slot.timer.cancel(false);
            slot.timer = null;
        }
        if (slot.queued || slot.inFlight || closed) {
            return;
        }
        slot.queued = true;
        pending.add(slot.id);
        drain();
    }

    /** Starts queued issuances while fewer than the maximum are in flight. Called with the lock held. */
    private void drain() {
        Iterator<String> it = pending.iterator();
        while (inFlight < config.maxConcurrentIssuance() && it.hasNext()) {
            String id = it.next();
            it.remove();
            Slot slot = slots.get(id);
            if (slot == null) {
                continue;
            }
            slot.queued = false;
            slot.inFlight = true;
            inFlight++;
            issue(slot, slot.entry, slot.pod, slot.generation);
        }
    }

    private void issue(Slot slot, RegistrationEntry entry, KubernetesPod pod, long generation) {
        try {
            CompletableFuture.supplyAsync(() -> Csrs.generate(config.keyType()), workers)
                    .thenCompose(key -> ca.signWorkloadSvid(signRequest(entry, pod, key.csrPem()))
                            .thenApplyAsync(response -> verified(entry, key, response), workers))
                    .whenComplete((svid, error) -> issued(slot, generation, svid, error));
        } catch (RejectedExecutionException e) {
            issued(slot, generation, null, e);
        }
    }

    private SignWorkloadSVIDRequest signRequest(RegistrationEntry entry, KubernetesPod pod, String csrPem) {
        Duration ttl = entry.x509SvidTtl().isZero() ? config.workloadSvidTtl() : entry.x509SvidTtl();
        SignWorkloadSVIDRequest.Builder request = SignWorkloadSVIDRequest.newBuilder()
                .setSpiffeId(entry.spiffeId().toString())
                .setCsr(csrPem)
                .setValiditySeconds(ttl.getSeconds());
        if (pod != null) {
            request.setKubernetesPod(toProto(pod));
        } else {
            request.setEntryId(entry.id());
        }
        return request.build();
    }

    /** What the CA returned, checked: a chain for the key just generated, valid under the bundle, for the entry's ID. */
    private WorkloadSvid verified(RegistrationEntry entry, Csrs.KeyAndCsr key, SignWorkloadSVIDResponse response) {
        try {
            List<X509Certificate> chain = new ArrayList<>();
            for (String pem : response.getCertChainList()) {
                chain.addAll(Pem.decodeCertificates(pem));
            }
            if (chain.isEmpty()) {
                throw new WorkloadIdentityException("the CA returned no certificate for " + entry.spiffeId(), true, null);
            }
            if (!Arrays.equals(chain.get(0).getPublicKey().getEncoded(), key.keyPair().getPublic().getEncoded())) {
                throw new WorkloadIdentityException("the CA returned a certificate for another key for "
                        + entry.spiffeId(), true, null);
            }
            return new WorkloadSvid(entry, verifier.verify(chain, entry.spiffeId()), key.keyPair().getPrivate());
        } catch (X509SvidValidationException e) {
            throw new CompletionException(new WorkloadIdentityException("the SVID from the CA for " + entry.spiffeId()
                    + " does not verify: " + e.getMessage(), true, e));
        } catch (IllegalArgumentException e) {
            throw new CompletionException(new WorkloadIdentityException("unusable answer from the CA for "
                    + entry.spiffeId() + ": " + e.getMessage(), true, e));
        } catch (WorkloadIdentityException e) {
            throw new CompletionException(e);
        }
    }

    private void issued(Slot slot, long generation, WorkloadSvid svid, Throwable error) {
        WorkloadIdentityException failure = error == null ? null : CaClient.failure(error);
        if (failure == null) {
            caSucceeded();
        } else {
            caFailed(CaClient.SIGN_WORKLOAD_SVID, failure);
        }
        synchronized (lock) {
            inFlight--;
            slot.inFlight = false;
            if (closed) {
                return;
            }
            if (slots.get(slot.id) != slot) {
                drain();
                return;
            }
            if (slot.generation != generation) {
                requestIssuance(slot);
                drain();
                return;
            }
            Instant now = clock.instant();
            if (failure != null) {
                slot.failures++;
                if (slot.failures == 1 && !failure.isTransient()) {
                    log.warn("the CA refused the X.509-SVID of entry {} ({}): {}", slot.id, slot.entry.spiffeId(),
                            failure.getMessage());
                }
                Instant notAfter = slot.svid == null ? null : slot.svid.notAfter();
                Duration delay = Schedules.retryDelay(slot.failures, now, notAfter, ThreadLocalRandom.current());
                slot.timer = schedule(() -> renew(slot), delay);
            } else {
                slot.failures = 0;
                slot.svid = new WorkloadSvid(slot.entry, svid.chain(), svid.privateKey());
                Instant at = Schedules.renewAt(svid.notBefore(), svid.notAfter(), now, config.rotationFraction(),
                        ThreadLocalRandom.current());
                slot.timer = schedule(() -> renew(slot), Duration.between(now, at));
                scheduleExpiry(slot, slot.svid, now);
                log.debug("issued {} for entry {} (valid until {}, renewal at {})", svid.entry().spiffeId(), slot.id,
                        svid.notAfter(), at);
                publishLater();
            }
            drain();
        }
    }

    private void renew(Slot slot) {
        synchronized (lock) {
            slot.timer = null;
            if (!closed && slots.get(slot.id) == slot) {
                requestIssuance(slot);
            }
        }
    }

    private void scheduleExpiry(Slot slot, WorkloadSvid svid, Instant now) {
        if (slot.expiry != null) {
            slot.expiry.cancel(false);
        }
        slot.expiry = schedule(() -> expire(slot, svid), Duration.between(now, svid.notAfter()));
    }

    private void expire(Slot slot, WorkloadSvid svid) {
        synchronized (lock) {
            if (closed || slot.svid == null || slot.svid.leaf() != svid.leaf()) {
                return;
            }
            Instant now = clock.instant();
            if (now.isBefore(svid.notAfter())) {
                scheduleExpiry(slot, slot.svid, now);
                return;
            }
            slot.svid = null;
            slot.expiry = null;
            log.warn("the X.509-SVID of {} (entry {}) expired at {} and is no longer served{}", slot.entry.spiffeId(),
                    slot.id, svid.notAfter(), outageSince == null ? "" : "; the CA is unreachable since " + outageSince);
            publishLater();
        }
    }

    private CompletableFuture<JwtSvidToken> mint(RegistrationEntry entry, KubernetesPod pod, List<String> audience) {
        MintJWTSVIDRequest.Builder request = MintJWTSVIDRequest.newBuilder()
                .setSpiffeId(entry.spiffeId().toString())
                .addAllAudience(audience)
                .setTtlSeconds(entry.jwtSvidTtl().getSeconds());
        if (pod != null) {
            request.setKubernetesPod(toProto(pod));
        } else {
            request.setEntryId(entry.id());
        }
        return ca.mintJwtSvid(request.build()).handle((response, error) -> {
            if (error != null) {
                WorkloadIdentityException failure = CaClient.failure(error);
                caFailed(CaClient.MINT_JWT_SVID, failure);
                throw new CompletionException(failure);
            }
            caSucceeded();
            Instant expiresAt = Instant.ofEpochSecond(response.getExpiresAt());
            if (response.getToken().isEmpty() || !expiresAt.isAfter(clock.instant())) {
                throw new CompletionException(new WorkloadIdentityException("the CA returned an empty or expired JWT-SVID "
                        + "for " + entry.spiffeId() + " (exp " + expiresAt + ")", true, null));
            }
            return new JwtSvidToken(entry.spiffeId(), audience, response.getToken(), expiresAt, entry.hint());
        });
    }

    // ---- CA reachability ----

    private void caFailed(String method, WorkloadIdentityException failure) {
        if (!failure.isTransient()) {
            log.debug("CA {} refused: {}", method, failure.getMessage());
            return;
        }
        int valid;
        synchronized (lock) {
            if (closed || outageSince != null) {
                log.debug("CA still unreachable: {}", failure.getMessage());
                return;
            }
            outageSince = clock.instant();
            valid = (int) slots.values().stream().filter(s -> s.svid != null).count();
        }
        log.warn("the CA is unreachable ({}); serving the {} SVIDs that are still valid and retrying", failure.getMessage(),
                valid);
    }

    private void caSucceeded() {
        Instant since;
        synchronized (lock) {
            since = outageSince;
            outageSince = null;
            if (since != null && !closed) {
                retryFailedNow();
            }
        }
        if (since != null) {
            log.info("the CA is reachable again (unreachable since {})", since);
        }
    }

    /**
     * The CA answered after an outage: SVIDs waiting out a backoff (which may have grown to a minute)
     * are requested now, so workloads left without a valid SVID recover as soon as the CA does.
     * Called with the lock held.
     */
    private void retryFailedNow() {
        // Collected first: requesting may complete an issuance synchronously, which touches the slots.
        List<Slot> waiting = new ArrayList<>();
        for (Slot slot : slots.values()) {
            if (slot.failures > 0 && !slot.inFlight && !slot.queued && slot.timer != null) {
                waiting.add(slot);
            }
        }
        for (Slot slot : waiting) {
            if (slots.get(slot.id) == slot) {
                requestIssuance(slot);
            }
        }
    }

    // ---- snapshots ----

    /** Marks the state changed and makes sure a snapshot will be published. Called with the lock held. */
    private void publishLater() {
        dirty = true;
        if (!publishQueued && !closed) {
            publishQueued = true;
            try {
                notifier.execute(this::publish);
            } catch (RejectedExecutionException e) {
                publishQueued = false;
            }
        }
    }

    private void publish() {
        IdentitySnapshot snapshot;
        synchronized (lock) {
            publishQueued = false;
            if (!dirty || closed) {
                return;
            }
            dirty = false;
            Instant now = clock.instant();
            List<RegistrationEntry> entries = new ArrayList<>(slots.size());
            Map<String, WorkloadSvid> svids = new HashMap<>();
            for (Slot slot : slots.values()) {
                entries.add(slot.entry);
                if (slot.svid != null && now.isBefore(slot.svid.notAfter())) {
                    svids.put(slot.id, slot.svid);
                }
            }
            if (entries.equals(current.entries())) {
                // The same list instance when unchanged, so readers can skip re-matching selectors.
                entries = current.entries();
            }
            snapshot = new IdentitySnapshot(++version, entries, svids, Optional.of(bundle));
            current = snapshot;
            syncPublished |= synced;
            delivering = true;
            lock.notifyAll();
        }
        try {
            for (Consumer<IdentitySnapshot> listener : listeners) {
                try {
                    listener.accept(snapshot);
                } catch (RuntimeException e) {
                    log.warn("a snapshot listener failed on version {}", snapshot.version(), e);
                }
            }
        } finally {
            synchronized (lock) {
                delivering = false;
            }
        }
    }

    private boolean isReady() {
        if (!synced) {
            return false;
        }
        Instant now = clock.instant();
        IdentitySnapshot snapshot = current;
        for (Slot slot : slots.values()) {
            WorkloadSvid svid = snapshot.svidsByEntryId().get(slot.id);
            if (svid == null || !svid.isValidAt(now)) {
                return false;
            }
        }
        return true;
    }

    // ---- helpers ----

    private static dev.keel.proto.ca.v1.KubernetesPod toProto(KubernetesPod pod) {
        return dev.keel.proto.ca.v1.KubernetesPod.newBuilder()
                .setNamespace(pod.namespace())
                .setName(pod.name())
                .setUid(pod.uid())
                .build();
    }

    private void cancelTimers(Slot slot) {
        if (slot.timer != null) {
            slot.timer.cancel(false);
            slot.timer = null;
        }
        if (slot.expiry != null) {
            slot.expiry.cancel(false);
            slot.expiry = null;
        }
    }

    private ScheduledFuture<?> schedule(Runnable task, Duration delay) {
        try {
            return scheduler.schedule(guarded(task), Math.max(0, delay.toMillis()), TimeUnit.MILLISECONDS);
        } catch (RejectedExecutionException e) {
            return null;
        }
    }

    private void run(Runnable task) {
        try {
            scheduler.execute(guarded(task));
        } catch (RejectedExecutionException e) {
            log.debug("not run: the scheduler is shut down");
        }
    }

    /** A scheduled task's exception would vanish into its future: log it (the next sync or timer carries on). */
    private static Runnable guarded(Runnable task) {
        return () -> {
            try {
                task.run();
            } catch (RuntimeException e) {
                log.error("agent task failed", e);
            }
        };
    }

    private static ThreadFactory threads(String prefix) {
        AtomicInteger n = new AtomicInteger();
        return runnable -> {
            Thread t = new Thread(runnable, prefix + "-" + n.incrementAndGet());
            t.setDaemon(true);
            return t;
        };
    }

    /**
     * Configures and starts an {@link SvidManager}. Not thread-safe.
     */
    public static final class Builder {

        private final AgentConfig config;
        private final AgentMetrics metrics;
        private Clock clock = Clock.systemUTC();
        private ScheduledExecutorService scheduler;
        private int jwtCacheSize = JwtSvidCache.DEFAULT_MAX_SIZE;

        Builder(AgentConfig config, AgentMetrics metrics) {
            this.config = Objects.requireNonNull(config, "config");
            this.metrics = Objects.requireNonNull(metrics, "metrics");
        }

        /** The clock for certificate validity, rotation and expiry (default: the system clock). */
        public Builder clock(Clock clock) {
            this.clock = Objects.requireNonNull(clock, "clock");
            return this;
        }

        /** Tests: the scheduler to own instead of a new one (it is shut down by {@link SvidManager#close()}). */
        Builder scheduler(ScheduledExecutorService scheduler) {
            this.scheduler = Objects.requireNonNull(scheduler, "scheduler");
            return this;
        }

        /** How many JWT-SVIDs are cached at most (default 4096). */
        public Builder jwtCacheSize(int size) {
            if (size < 1) {
                throw new IllegalArgumentException("jwtCacheSize: " + size + " (expected: >= 1)");
            }
            this.jwtCacheSize = size;
            return this;
        }

        /**
         * Opens the data directory, connects to the CA, loads or obtains the node SVID (blocking while
         * attesting), then starts syncing entries and issuing SVIDs in the background.
         *
         * @throws WorkloadIdentityException when the node has no usable SVID and no join token, or
         *     attestation fails
         * @throws IOException when the data directory or bundle files cannot be read or written
         * @throws IllegalArgumentException when the bundle file is malformed
         */
        public SvidManager start() throws WorkloadIdentityException, IOException, InterruptedException {
            NodeIdentityStore store = NodeIdentityStore.open(config.dataDir());
            Bundle trust = initialTrust(store);
            ScheduledExecutorService timers = scheduler;
            if (timers == null) {
                ScheduledThreadPoolExecutor executor = new ScheduledThreadPoolExecutor(1, threads("keel-agent-timer"));
                executor.setRemoveOnCancelPolicy(true);
                timers = executor;
            }
            CaClient ca = CaClient.create(config, trust, metrics, clock);
            NodeIdentity node;
            try {
                node = NodeIdentity.start(ca, store, config.joinToken(), config.rotationFraction(), clock, timers);
            } catch (WorkloadIdentityException | IOException | InterruptedException | RuntimeException e) {
                ca.close();
                timers.shutdownNow();
                throw e;
            }
            SvidManager manager = new SvidManager(this, ca, store, node, timers);
            metrics.bindSnapshots(manager::current);
            metrics.bindNodeSvidExpiry(node::notAfter);
            manager.begin();
            return manager;
        }

        /** The CA's bundle saved by an earlier run, else the bootstrap bundle file. */
        private Bundle initialTrust(NodeIdentityStore store) throws IOException {
            try {
                Optional<Bundle> stored = store.loadBundle(config.trustDomain());
                if (stored.isPresent() && !stored.get().x509Authorities().isEmpty()) {
                    return stored.get();
                }
            } catch (IOException e) {
                if (config.bootstrapBundle().isEmpty()) {
                    throw e;
                }
                log.warn("ignoring the stored bundle: {}; using the bootstrap bundle", e.getMessage());
            }
            if (config.bootstrapBundle().isEmpty()) {
                throw new IOException("no trust bundle: " + store.directory().resolve(NodeIdentityStore.BUNDLE)
                        + " does not exist and no bootstrap bundle was given (the CA's root certificate, or its "
                        + "SPIFFE bundle)");
            }
            return BundleFiles.read(config.bootstrapBundle().get(), config.trustDomain());
        }
    }
}
