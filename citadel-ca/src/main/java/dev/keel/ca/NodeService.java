package dev.keel.ca;

import dev.keel.ca.auth.Caller;
import dev.keel.ca.auth.CallerCredentials;
import dev.keel.ca.auth.X509SvidAuthenticator;
import dev.keel.ca.node.EntrySet;
import dev.keel.ca.node.JoinTokens;
import dev.keel.ca.node.NodeIds;
import dev.keel.ca.node.PodReference;
import dev.keel.ca.node.PodVerifier;
import dev.keel.ca.node.RegistrationEntries;
import dev.keel.ca.node.RegistrationEntry;
import dev.keel.ca.node.VerifiedPod;
import dev.keel.identity.InvalidSpiffeIdException;
import dev.keel.identity.SpiffeId;
import dev.keel.identity.TrustDomain;
import java.time.Duration;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;

/**
 * The CA's side of node attestation: a node agent trades a one-time join token for a node SVID
 * ({@link #attestNode}), then, authenticated by that SVID over mTLS, fetches the registration
 * entries bound to it ({@link #fetchEntries}) and obtains X.509- and JWT-SVIDs for the workloads
 * those entries (or, in Kubernetes mode, the pods the Kubernetes API places on its node) entitle it
 * to ({@link #signWorkloadSvid}, {@link #mintWorkloadJwtSvid}).
 *
 * <p>A node gets only what is bound to it: an entry bound to another node, or a pod scheduled on
 * another node, is refused with PERMISSION_DENIED, so a compromised node cannot mint identities
 * that do not run on it. Issuance, refusal and audit go through {@link CaService}'s one path: every
 * issuance and every refusal is audited, and futures complete after the audit line is durable.
 * Successful {@link #fetchEntries} reads are not audited.
 *
 * <p>Thread-safe. Methods block on the stores' file I/O and may call the Kubernetes API; call them
 * off the event loop.
 */
public final class NodeService {

    private final CaService ca;
    private final JoinTokens tokens;
    private final RegistrationEntries entries;
    private final PodVerifier pods;
    private final TrustDomain trustDomain;

    /**
     * @param pods {@link PodVerifier#none()} when the CA does not serve Kubernetes mode
     */
    public NodeService(CaService ca, JoinTokens tokens, RegistrationEntries entries, PodVerifier pods) {
        this.ca = Objects.requireNonNull(ca, "ca");
        this.tokens = Objects.requireNonNull(tokens, "tokens");
        this.entries = Objects.requireNonNull(entries, "entries");
        this.pods = Objects.requireNonNull(pods, "pods");
        this.trustDomain = ca.issuer().signingCa().trustDomain();
    }

    /** What a node is entitled to for one request, and how the audit line names the grant. */
    private record Entitlement(SpiffeId spiffeId, Duration x509SvidTtl, Duration jwtSvidTtl) {
    }

    /**
     * {@code AttestNode}: consumes the join token, then issues the node SVID
     * {@code spiffe://<td>/keel/node/<name>} for the CSR's key. The token is consumed whether or not
     * the CSR is then acceptable (authentication comes first, as for every call; a caller that cannot
     * authenticate learns nothing about its CSR). Audited as {@code join_token:<token id>}.
     *
     * @param validitySeconds 0 for the CA default
     */
    public CompletableFuture<IssuedX509Svid> attestNode(String joinToken, String csrPem, long validitySeconds) {
        Objects.requireNonNull(joinToken, "joinToken");
        Objects.requireNonNull(csrPem, "csrPem");
        String caller = "join_token:" + JoinTokens.tokenId(joinToken);
        SpiffeId node = null;
        try {
            node = tokens.consume(joinToken);
            SpiffeId entitled = node;
            return ca.issueFor(caller, csr -> CaService.entitledTo(entitled, "node " + entitled, csr), csrPem,
                    ttl("validity_seconds", validitySeconds));
        } catch (CaException e) {
            return ca.refuse(caller, node, null, e);
        } catch (RuntimeException e) {
            return ca.refuse(caller, node, null, CaService.internal(e));
        }
    }

    /**
     * {@code FetchEntries}: the entries bound to the calling node or to every node. The caller must
     * present a node X.509-SVID; anything else is PERMISSION_DENIED (audited).
     *
     * @param knownRevision the revision the agent holds; equal to the current one gives {@code notModified}
     */
    public CompletableFuture<NodeEntries> fetchEntries(CallerCredentials credentials, long knownRevision) {
        Objects.requireNonNull(credentials, "credentials");
        Caller caller;
        try {
            caller = ca.authenticate(credentials);
        } catch (CaException e) {
            return ca.refuse("unauthenticated", null, null, e);
        }
        SpiffeId node;
        try {
            node = requireNode(caller);
        } catch (CaException e) {
            return ca.refuse(caller.describe(), caller.identity(), null, e);
        }
        EntrySet set = entries.current();
        if (set.revision() == knownRevision) {
            return CompletableFuture.completedFuture(new NodeEntries(set.revision(), java.util.List.of(), true));
        }
        return CompletableFuture.completedFuture(new NodeEntries(set.revision(), set.boundTo(node), false));
    }

    /**
     * {@code SignWorkloadSVID}: issues an X.509-SVID for a workload on the calling node, entitled by
     * a registration entry bound to that node or by a pod the Kubernetes API places on it. Audited
     * as {@code node:<node id> entry:<entry id>} (or {@code pod:<ns>/<name>}).
     */
    public CompletableFuture<IssuedX509Svid> signWorkloadSvid(CallerCredentials credentials, WorkloadSvidRequest request) {
        Objects.requireNonNull(credentials, "credentials");
        Objects.requireNonNull(request, "request");
        return forWorkload(credentials, request.spiffeId(), request.entryId(), request.kubernetesPod(),
                "validity_seconds", request.validitySeconds(), (who, node, entitlement, ttl) -> {
                    String label = "node " + node;
                    return ca.issueFor(who, csr -> CaService.entitledTo(entitlement.spiffeId(), label, csr),
                            request.csrPem(), bounded(ttl, entitlement.x509SvidTtl()));
                });
    }

    /**
     * {@code MintJWTSVID} with {@code entry_id} or {@code kubernetes_pod}: mints a JWT-SVID for a
     * workload on the calling node, authorized as {@link #signWorkloadSvid}.
     */
    public CompletableFuture<MintedJwtSvid> mintWorkloadJwtSvid(CallerCredentials credentials, WorkloadJwtRequest request) {
        Objects.requireNonNull(credentials, "credentials");
        Objects.requireNonNull(request, "request");
        return forWorkload(credentials, request.spiffeId(), request.entryId(), request.kubernetesPod(),
                "ttl_seconds", request.ttlSeconds(), (who, node, entitlement, ttl) ->
                        ca.mintFor(who, entitlement.spiffeId(), request.audience(), bounded(ttl, entitlement.jwtSvidTtl())));
    }

    /** Issues or mints for a workload once its node and entitlement are established; audits under {@code who}. */
    @FunctionalInterface
    private interface WorkloadGrant<T> {
        CompletableFuture<T> grant(String who, SpiffeId node, Entitlement entitlement, Duration requestedTtl);
    }

    /**
     * What both workload calls do around {@code grant}: authenticate the node, check the requested
     * TTL and work out the entitlement, in that order; any refusal is audited under the caller (as
     * {@code node:<node id> entry:<entry id>} once it is known to be a node).
     */
    private <T> CompletableFuture<T> forWorkload(CallerCredentials credentials, String spiffeId, String entryId,
            PodReference pod, String ttlField, long ttlSeconds, WorkloadGrant<T> grant) {
        Caller caller;
        try {
            caller = ca.authenticate(credentials);
        } catch (CaException e) {
            return ca.refuse("unauthenticated", null, null, e);
        }
        String who = caller.describe();
        SpiffeId requested = parsedOrNull(spiffeId);
        try {
            SpiffeId node = requireNode(caller);
            who = "node:" + node + " " + via(entryId, pod);
            Duration ttl = ttl(ttlField, ttlSeconds);
            Entitlement entitlement = entitle(node, spiffeId, entryId, pod);
            return grant.grant(who, node, entitlement, ttl);
        } catch (CaException e) {
            return ca.refuse(who, requested, null, e);
        } catch (RuntimeException e) {
            return ca.refuse(who, requested, null, CaService.internal(e));
        }
    }

    /** Only a node SVID, proven over mTLS, speaks for a node. */
    private SpiffeId requireNode(Caller caller) throws CaException {
        if (!caller.method().equals(X509SvidAuthenticator.METHOD)
                || NodeIds.nodeName(caller.identity(), trustDomain).isEmpty()) {
            throw new CaException(CaException.Code.PERMISSION_DENIED, "caller " + caller.identity()
                    + " is not a node agent (expected: a node X.509-SVID " + trustDomain.spiffeId()
                    + "/keel/node/<name> from AttestNode, presented as the TLS client certificate)");
        }
        return caller.identity();
    }

    private Entitlement entitle(SpiffeId node, String spiffeId, String entryId, PodReference pod) throws CaException {
        if (!entryId.isEmpty() && pod != null) {
            throw invalid("entry_id and kubernetes_pod: both set (expected: one of them)");
        }
        if (entryId.isEmpty() && pod == null) {
            throw invalid("entry_id: empty (expected: the registration entry that entitles this node to spiffe_id, "
                    + "or kubernetes_pod in Kubernetes mode)");
        }
        if (spiffeId.isEmpty()) {
            throw invalid("spiffe_id: empty (expected: the workload's SPIFFE ID)");
        }
        SpiffeId requested;
        try {
            requested = SpiffeId.parse(spiffeId);
        } catch (InvalidSpiffeIdException e) {
            throw invalid("spiffe_id: " + e.getMessage());
        }
        return pod == null ? byEntry(node, requested, entryId) : byPod(node, requested, pod);
    }

    private Entitlement byEntry(SpiffeId node, SpiffeId requested, String entryId) throws CaException {
        RegistrationEntry entry = entries.current().find(entryId).filter(e -> e.boundTo(node)).orElseThrow(() ->
                // One answer for "no such entry" and "bound elsewhere": a node learns nothing about others' entries.
                new CaException(CaException.Code.PERMISSION_DENIED, "entry_id: no entry " + CaService.abbreviate(entryId)
                        + " is bound to " + node + " (a node obtains only identities of entries bound to it)"));
        if (!entry.spiffeId().equals(requested)) {
            throw new CaException(CaException.Code.PERMISSION_DENIED, "spiffe_id: " + requested
                    + " is not the SPIFFE ID of entry " + entry.id() + " (" + entry.spiffeId() + ")");
        }
        return new Entitlement(entry.spiffeId(), entry.x509SvidTtl(), entry.jwtSvidTtl());
    }

    private Entitlement byPod(SpiffeId node, SpiffeId requested, PodReference pod) throws CaException {
        try {
            pod.check();
        } catch (IllegalArgumentException e) {
            throw invalid(e.getMessage());
        }
        String nodeName = NodeIds.nodeName(node, trustDomain).orElseThrow();
        VerifiedPod verified = pods.verify(pod, nodeName);
        SpiffeId expected;
        try {
            expected = trustDomain.workload(pod.namespace(), verified.serviceAccount());
        } catch (InvalidSpiffeIdException e) {
            throw new CaException(CaException.Code.PERMISSION_DENIED, "kubernetes_pod: service account of pod "
                    + pod.namespace() + "/" + pod.name() + " is not a SPIFFE path segment: " + e.getMessage());
        }
        if (!expected.equals(requested)) {
            throw new CaException(CaException.Code.PERMISSION_DENIED, "spiffe_id: " + requested + " is not the identity of pod "
                    + pod.namespace() + "/" + pod.name() + " (" + expected + ", from its service account)");
        }
        return new Entitlement(expected, Duration.ZERO, Duration.ZERO);
    }

    private static String via(String entryId, PodReference pod) {
        if (pod != null) {
            return "pod:" + CaService.abbreviate(pod.namespace()) + "/" + CaService.abbreviate(pod.name());
        }
        return "entry:" + (entryId.isEmpty() ? "none" : CaService.abbreviate(entryId));
    }

    private static Duration ttl(String field, long seconds) throws CaException {
        if (seconds < 0) {
            throw invalid(field + ": " + seconds + " (expected: >= 0, 0 for the CA default)");
        }
        Duration ttl = Duration.ofSeconds(seconds);
        CaService.checkTtl(ttl);
        return ttl;
    }

    /** The entry's TTL, when set, is both the default and the maximum. */
    private static Duration bounded(Duration requested, Duration entryTtl) {
        if (entryTtl.isZero()) {
            return requested;
        }
        return requested.isZero() || requested.compareTo(entryTtl) > 0 ? entryTtl : requested;
    }

    private static SpiffeId parsedOrNull(String spiffeId) {
        try {
            return spiffeId.isEmpty() ? null : SpiffeId.parse(spiffeId);
        } catch (InvalidSpiffeIdException e) {
            return null;
        }
    }

    private static CaException invalid(String message) {
        return new CaException(CaException.Code.INVALID_ARGUMENT, message);
    }
}
