package dev.keel.agent;

import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.function.Consumer;

/**
 * What the Workload API serves from: the agent's entries, SVIDs and bundle, and JWT-SVIDs on
 * demand. Implemented by the SVID cache; read by the Workload API server. Thread-safe.
 */
public interface WorkloadIdentities {

    IdentitySnapshot current();

    /**
     * Calls {@code listener} with every new snapshot, on an agent thread, until the returned handle
     * is closed. Listeners must not block.
     */
    AutoCloseable subscribe(Consumer<IdentitySnapshot> listener);

    /**
     * A JWT-SVID for {@code entry} with exactly this audience: from the cache while it is far from
     * expiry, otherwise minted by the CA. Fails with a {@link WorkloadIdentityException}.
     */
    CompletableFuture<JwtSvidToken> fetchJwtSvid(RegistrationEntry entry, List<String> audience);

    /**
     * Kubernetes mode: makes the pod's own identity an entry of this agent (id {@code k8s:<pod uid>},
     * one selector {@code k8s:pod-uid:<uid>}, SPIFFE ID {@code ns/<ns>/sa/<sa>}) and starts issuing
     * for it; the CA checks the pod runs on this node. Idempotent. Returns the entry.
     *
     * @throws UnsupportedOperationException when the agent does not run in Kubernetes mode
     */
    default RegistrationEntry admitPod(KubernetesPod pod) {
        throw new UnsupportedOperationException("this agent does not run in Kubernetes mode");
    }
}
