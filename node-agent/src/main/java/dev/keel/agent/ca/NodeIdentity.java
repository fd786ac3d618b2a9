package dev.keel.agent.ca;

import dev.keel.agent.AgentConfig.JoinToken;
import dev.keel.agent.WorkloadIdentityException;
import dev.keel.agent.ca.internal.Csrs;
import dev.keel.agent.ca.internal.Schedules;
import dev.keel.identity.Bundle;
import dev.keel.identity.BundleJson;
import dev.keel.identity.BundleSource;
import dev.keel.identity.KeyType;
import dev.keel.identity.Pem;
import dev.keel.identity.SpiffeId;
import dev.keel.identity.X509Svid;
import dev.keel.identity.X509SvidValidationException;
import dev.keel.identity.X509SvidVerifier;
import dev.keel.proto.ca.v1.AttestNodeResponse;
import dev.keel.proto.istio.v1.auth.IstioCertificateResponse;
import java.io.IOException;
import java.net.ConnectException;
import java.net.NoRouteToHostException;
import java.net.UnknownHostException;
import java.nio.charset.StandardCharsets;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The node's own identity: obtained once with a join token, kept on disk, renewed before it expires.
 *
 * <p>{@link #start} uses the node SVID stored in the data directory when it is still valid under the
 * trust bundle; otherwise it needs a join token and trades it, with the CSR of a fresh P-256 key, for
 * a node SVID ({@code AttestNode}, server-authenticated TLS). A join token is single use and the CA
 * consumes it whether or not signing succeeds, so {@code AttestNode} is retried only when the request
 * never reached the CA (the connection could not be opened), never after any answer.
 *
 * <p>Renewal happens at {@code rotationFraction} of the lifetime (with jitter) through
 * {@code IstioCertificateService/CreateCertificate} over mTLS with the current node SVID and the CSR of
 * a new key. The new key and SVID are persisted before the CA client switches to them. Failures are
 * retried with capped exponential backoff; the current SVID keeps being used while it is valid.
 *
 * <p>Thread-safe. Renewal runs on the scheduler given to {@link #start}, which the caller owns.
 */
public final class NodeIdentity implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(NodeIdentity.class);

    /** Attempts to reach the CA for {@code AttestNode} when the connection cannot even be opened. */
    static final int ATTEST_CONNECT_ATTEMPTS = 5;

    private final CaClient ca;
    private final NodeIdentityStore store;
    private final double rotationFraction;
    private final Clock clock;
    private final ScheduledExecutorService scheduler;
    private final Object lock = new Object();
    private volatile NodeSvid current;
    private ScheduledFuture<?> timer;
    private int failures;
    private boolean expiryReported;
    private boolean closed;

    private NodeIdentity(CaClient ca, NodeIdentityStore store, double rotationFraction, Clock clock,
            ScheduledExecutorService scheduler) {
        this.ca = ca;
        this.store = store;
        this.rotationFraction = rotationFraction;
        this.clock = clock;
        this.scheduler = scheduler;
    }

    /**
     * Loads or obtains the node SVID, makes {@code ca} present it, and schedules its renewal. Blocks
     * while attesting.
     *
     * @throws WorkloadIdentityException when there is no usable node SVID and no join token (the message
     *     says which, and whether the stored SVID expired), or the CA refused attestation
     * @throws IOException when the data directory cannot be read or written
     */
    public static NodeIdentity start(CaClient ca, NodeIdentityStore store, Optional<JoinToken> joinToken,
            double rotationFraction, Clock clock, ScheduledExecutorService scheduler)
            throws WorkloadIdentityException, IOException, InterruptedException {
        Objects.requireNonNull(ca, "ca");
        Objects.requireNonNull(store, "store");
        Objects.requireNonNull(joinToken, "joinToken");
        Objects.requireNonNull(clock, "clock");
        Objects.requireNonNull(scheduler, "scheduler");
        NodeIdentity identity = new NodeIdentity(ca, store, rotationFraction, clock, scheduler);
        identity.begin(joinToken);
        return identity;
    }

    private void begin(Optional<JoinToken> joinToken) throws WorkloadIdentityException, IOException, InterruptedException {
        String unusable;
        Optional<NodeSvid> stored;
        try {
            stored = store.loadNodeSvid();
        } catch (IOException e) {
            if (joinToken.isEmpty()) {
                throw new IOException("cannot use the node SVID stored in " + store.directory() + ": " + e.getMessage()
                        + "; remove the node-* files and attest again with a new join token", e);
            }
            log.warn("ignoring the unreadable node SVID in {}: {}", store.directory(), e.getMessage());
            stored = Optional.empty();
        }
        if (stored.isPresent()) {
            NodeSvid svid = stored.get();
            try {
                X509SvidVerifier.create(trustOf(ca.trustBundle()), clock).verify(svid.chain());
                current = svid;
                ca.useClientIdentity(svid.privateKey(), svid.chain());
                log.info("node identity {} from {} (valid until {}){}", svid.spiffeId(), store.directory(),
                        svid.notAfter(), joinToken.isPresent() ? "; the join token was not needed and is not used" : "");
                scheduleRenewal(Schedules.renewAt(svid.notBefore(), svid.notAfter(), svid.notBefore(), rotationFraction,
                        ThreadLocalRandom.current()));
                return;
            } catch (X509SvidValidationException e) {
                unusable = e.rule() == X509SvidValidationException.Rule.EXPIRED && !clock.instant().isBefore(svid.notAfter())
                        ? "the node SVID stored in " + store.directory() + " (" + svid.spiffeId() + ") expired at "
                                + svid.notAfter()
                        : "the node SVID stored in " + store.directory() + " is not usable: " + e.getMessage();
            }
        } else {
            unusable = "there is no node SVID in " + store.directory();
        }
        if (joinToken.isEmpty()) {
            throw new WorkloadIdentityException(unusable + " and no join token was given: create one with "
                    + "`keel ca token create` and start the agent with it", false, null);
        }
        log.info("{}; attesting the node with the join token", unusable);
        attest(joinToken.get());
    }

    private void attest(JoinToken token) throws WorkloadIdentityException, IOException, InterruptedException {
        Csrs.KeyAndCsr key = Csrs.generate(KeyType.EC_P256);
        AttestNodeResponse response = null;
        for (int attempt = 1; response == null; attempt++) {
            try {
                response = ca.attestNode(token, key.csrPem()).get();
            } catch (ExecutionException e) {
                WorkloadIdentityException failure = CaClient.failure(e);
                if (!neverReachedCa(failure) || attempt >= ATTEST_CONNECT_ATTEMPTS) {
                    throw new WorkloadIdentityException("node attestation failed: " + failure.getMessage()
                            + (neverReachedCa(failure) ? "" : "; the CA consumes a join token on any answer, create a new one"),
                            false, failure);
                }
                Duration wait = Schedules.backoff(attempt, ThreadLocalRandom.current());
                log.warn("cannot reach the CA for node attestation ({}); retrying in {} ms", failure.getMessage(),
                        wait.toMillis());
                Thread.sleep(wait.toMillis());
            }
        }
        Bundle bundle = ca.trustBundle();
        if (!response.getBundle().isEmpty()) {
            try {
                bundle = BundleJson.parse(bundle.trustDomain(), response.getBundle().toString(StandardCharsets.UTF_8));
            } catch (IllegalArgumentException e) {
                throw new WorkloadIdentityException("node attestation: the CA's bundle is invalid: " + e.getMessage(),
                        false, e);
            }
            if (bundle.x509Authorities().isEmpty()) {
                throw new WorkloadIdentityException("node attestation: the CA's bundle has no X.509 authority", false, null);
            }
        }
        NodeSvid svid = accept(response.getCertChainList(), key, bundle, null);
        store.saveNodeSvid(svid);
        store.saveBundle(bundle);
        ca.updateTrustBundle(bundle);
        ca.useClientIdentity(svid.privateKey(), svid.chain());
        current = svid;
        log.info("node attested as {} (valid until {})", svid.spiffeId(), svid.notAfter());
        scheduleRenewal(Schedules.renewAt(svid.notBefore(), svid.notAfter(), clock.instant(), rotationFraction,
                ThreadLocalRandom.current()));
    }

    /** True when the failure is a connection that could not be opened: the CA cannot have seen the request. */
    static boolean neverReachedCa(Throwable failure) {
        for (Throwable c = failure; c != null && c.getCause() != c; c = c.getCause()) {
            if (c instanceof ConnectException || c instanceof NoRouteToHostException || c instanceof UnknownHostException) {
                return true;
            }
        }
        return false;
    }

    /** The node SVID in use. */
    public NodeSvid current() {
        return current;
    }

    public SpiffeId spiffeId() {
        return current.spiffeId();
    }

    /** When the node SVID in use expires (for the metrics gauge). */
    public Instant notAfter() {
        return current.notAfter();
    }

    /** Stops renewing. The CA client is the caller's to close. */
    @Override
    public void close() {
        synchronized (lock) {
            closed = true;
            if (timer != null) {
                timer.cancel(false);
            }
        }
    }

    private void scheduleRenewal(Instant at) {
        synchronized (lock) {
            if (closed) {
                return;
            }
            long delay = Math.max(0, Duration.between(clock.instant(), at).toMillis());
            try {
                timer = scheduler.schedule(this::renew, delay, TimeUnit.MILLISECONDS);
            } catch (RejectedExecutionException e) {
                log.debug("node SVID renewal not scheduled: the scheduler is shut down");
            }
        }
    }

    private void renew() {
        synchronized (lock) {
            if (closed) {
                return;
            }
        }
        NodeSvid old = current;
        Csrs.KeyAndCsr key = Csrs.generate(KeyType.EC_P256);
        ca.createCertificate(key.csrPem()).whenComplete((response, error) -> {
            try {
                scheduler.execute(() -> renewed(old, key, response, error));
            } catch (RejectedExecutionException e) {
                log.debug("node SVID renewal answer dropped: the scheduler is shut down");
            }
        });
    }

    private void renewed(NodeSvid old, Csrs.KeyAndCsr key, IstioCertificateResponse response, Throwable error) {
        NodeSvid svid = null;
        String problem;
        if (error != null) {
            problem = CaClient.failure(error).getMessage();
        } else {
            try {
                svid = accept(response.getCertChainList(), key, ca.trustBundle(), old.spiffeId());
                store.saveNodeSvid(svid);
                problem = null;
            } catch (WorkloadIdentityException | IOException e) {
                problem = e.getMessage();
                svid = null;
            }
        }
        Instant now = clock.instant();
        if (svid == null) {
            int failed;
            boolean reportExpiry;
            synchronized (lock) {
                failed = ++failures;
                reportExpiry = !now.isBefore(old.notAfter()) && !expiryReported;
                expiryReported |= reportExpiry;
            }
            if (reportExpiry) {
                log.error("the node SVID {} expired at {} and could not be renewed ({}); the CA will refuse it: restart "
                        + "the agent with a new join token", old.spiffeId(), old.notAfter(), problem);
            } else if (failed == 1) {
                log.warn("cannot renew the node SVID {} (valid until {}): {}; retrying", old.spiffeId(), old.notAfter(),
                        problem);
            } else {
                log.debug("node SVID renewal attempt {} failed: {}", failed, problem);
            }
            scheduleRenewal(now.plus(Schedules.retryDelay(failed, now, old.notAfter(), ThreadLocalRandom.current())));
            return;
        }
        ca.useClientIdentity(svid.privateKey(), svid.chain());
        current = svid;
        synchronized (lock) {
            failures = 0;
            expiryReported = false;
        }
        log.info("renewed the node SVID {} (valid until {})", svid.spiffeId(), svid.notAfter());
        scheduleRenewal(Schedules.renewAt(svid.notBefore(), svid.notAfter(), now, rotationFraction,
                ThreadLocalRandom.current()));
    }

    /**
     * Checks what the CA returned: a chain that verifies under {@code bundle}, for {@code expectedId} when
     * given, certifying the key just generated.
     */
    private NodeSvid accept(List<String> pems, Csrs.KeyAndCsr key, Bundle bundle, SpiffeId expectedId)
            throws WorkloadIdentityException {
        try {
            List<X509Certificate> chain = new ArrayList<>();
            for (String pem : pems) {
                chain.addAll(Pem.decodeCertificates(pem));
            }
            if (chain.isEmpty()) {
                throw new WorkloadIdentityException("the CA returned no node certificate", true, null);
            }
            if (!Arrays.equals(chain.get(0).getPublicKey().getEncoded(), key.keyPair().getPublic().getEncoded())) {
                throw new WorkloadIdentityException("the CA returned a node certificate for another key", true, null);
            }
            X509Svid svid = X509SvidVerifier.create(trustOf(bundle), clock).verify(chain);
            if (expectedId != null && !svid.spiffeId().equals(expectedId)) {
                throw new WorkloadIdentityException("the CA renewed the node SVID as " + svid.spiffeId() + " (expected: "
                        + expectedId + ")", true, null);
            }
            if (!svid.spiffeId().memberOf(bundle.trustDomain())) {
                throw new WorkloadIdentityException("the node SVID " + svid.spiffeId() + " is not in trust domain "
                        + bundle.trustDomain(), false, null);
            }
            return new NodeSvid(svid.spiffeId(), svid.chain(), key.keyPair().getPrivate());
        } catch (X509SvidValidationException e) {
            throw new WorkloadIdentityException("the node SVID from the CA does not verify: " + e.getMessage(), true, e);
        } catch (IllegalArgumentException e) {
            throw new WorkloadIdentityException("the CA returned a malformed node certificate chain: " + e.getMessage(),
                    true, e);
        }
    }

    private static BundleSource trustOf(Bundle bundle) {
        return BundleSource.of(bundle);
    }
}
