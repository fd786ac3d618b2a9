package dev.keel.ca;

import dev.keel.ca.node.PodReference;
import java.util.List;
import java.util.Objects;

/**
 * A node agent's request for a workload JWT-SVID ({@code MintJWTSVID} with {@code entry_id} or
 * {@code kubernetes_pod}), with its fields as received.
 *
 * <p>Limits applied by {@link NodeService}: as {@link WorkloadSvidRequest}; the lifetime is
 * {@code ttlSeconds} (0 for the default), capped to the entry's JWT-SVID TTL, then to
 * {@link CitadelCa#JWT_MAX_TTL}; 1 to 16 audiences.
 *
 * @param entryId empty in Kubernetes mode
 * @param kubernetesPod null unless in Kubernetes mode
 */
public record WorkloadJwtRequest(String spiffeId, String entryId, PodReference kubernetesPod, List<String> audience,
        long ttlSeconds) {

    public WorkloadJwtRequest {
        Objects.requireNonNull(spiffeId, "spiffeId");
        Objects.requireNonNull(entryId, "entryId");
        audience = List.copyOf(audience);
    }
}
