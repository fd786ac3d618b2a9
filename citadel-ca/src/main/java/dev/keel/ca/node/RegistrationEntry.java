package dev.keel.ca.node;

import dev.keel.identity.SpiffeId;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Objects;

/**
 * A registration entry: a workload on {@link #parentId()} whose selectors include all of
 * {@link #selectors()} is entitled to {@link #spiffeId()}. The CA is the authority on entries; a
 * node agent holds only those bound to it. Values are checked by {@link RegistrationEntries}
 * before an entry is stored or loaded.
 *
 * @param id a random UUID assigned by the CA
 * @param parentId a node ID {@code spiffe://<td>/keel/node/<name>}, or {@value #ALL_NODES} for every node
 * @param selectors {@code type:value}, sorted, no duplicates, at least one
 * @param x509SvidTtl {@link Duration#ZERO} for the CA default; otherwise the longest X.509-SVID issued for it
 * @param jwtSvidTtl {@link Duration#ZERO} for the CA default; otherwise the longest JWT-SVID minted for it
 * @param hint operator hint passed to workloads; empty when none
 */
public record RegistrationEntry(String id, SpiffeId spiffeId, String parentId, List<String> selectors,
        Duration x509SvidTtl, Duration jwtSvidTtl, String hint, Instant createdAt) {

    /** The parent ID that binds an entry to every node. */
    public static final String ALL_NODES = "*";

    public RegistrationEntry {
        Objects.requireNonNull(id, "id");
        Objects.requireNonNull(spiffeId, "spiffeId");
        Objects.requireNonNull(parentId, "parentId");
        selectors = List.copyOf(selectors);
        Objects.requireNonNull(x509SvidTtl, "x509SvidTtl");
        Objects.requireNonNull(jwtSvidTtl, "jwtSvidTtl");
        Objects.requireNonNull(hint, "hint");
        Objects.requireNonNull(createdAt, "createdAt");
    }

    /** True when a node with ID {@code node} may serve this entry. */
    public boolean boundTo(SpiffeId node) {
        return parentId.equals(ALL_NODES) || parentId.equals(node.toString());
    }

    /** Same SPIFFE ID, parent and selector set: the store refuses a second such entry. */
    boolean duplicates(RegistrationEntry other) {
        return spiffeId.equals(other.spiffeId) && parentId.equals(other.parentId) && selectors.equals(other.selectors);
    }
}
