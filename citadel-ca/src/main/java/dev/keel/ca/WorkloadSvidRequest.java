package dev.keel.ca;

import dev.keel.ca.node.PodReference;
import java.util.Objects;

/**
 * A node agent's request for a workload X.509-SVID ({@code SignWorkloadSVID}), with its fields as
 * received, so that a malformed one is refused and audited like any other refusal.
 *
 * <p>Limits applied by {@link NodeService}: exactly one of {@code entryId} and
 * {@code kubernetesPod}; {@code spiffeId} must be the entry's (or the pod's service account
 * identity); the CSR may ask for that identity or for none; the lifetime is {@code validitySeconds}
 * (0 for the default), capped to the entry's X.509-SVID TTL, then to the CA's maximum and the
 * signing CA's own expiry.
 *
 * @param entryId empty in Kubernetes mode
 * @param kubernetesPod null unless in Kubernetes mode
 */
public record WorkloadSvidRequest(String spiffeId, String entryId, PodReference kubernetesPod, String csrPem,
        long validitySeconds) {

    public WorkloadSvidRequest {
        Objects.requireNonNull(spiffeId, "spiffeId");
        Objects.requireNonNull(entryId, "entryId");
        Objects.requireNonNull(csrPem, "csrPem");
    }
}
