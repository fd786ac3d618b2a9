package dev.keel.agent;

import dev.keel.identity.SpiffeId;
import java.time.Duration;
import java.util.Objects;
import java.util.Set;

/**
 * The agent's copy of a registration entry the CA bound to this node: a workload whose selectors
 * include all of {@link #selectors()} is entitled to {@link #spiffeId()}. The CA is the authority;
 * the agent only ever holds entries the CA delivered to it.
 *
 * @param x509SvidTtl {@link Duration#ZERO} for the CA default
 * @param jwtSvidTtl {@link Duration#ZERO} for the CA default
 * @param hint operator hint for workloads ({@code X509SVID.hint}); empty when none
 */
public record RegistrationEntry(String id, SpiffeId spiffeId, Set<Selector> selectors, Duration x509SvidTtl,
        Duration jwtSvidTtl, String hint) {

    public RegistrationEntry {
        Objects.requireNonNull(id, "id");
        Objects.requireNonNull(spiffeId, "spiffeId");
        selectors = Set.copyOf(selectors);
        Objects.requireNonNull(x509SvidTtl, "x509SvidTtl");
        Objects.requireNonNull(jwtSvidTtl, "jwtSvidTtl");
        Objects.requireNonNull(hint, "hint");
        if (id.isEmpty()) {
            throw new IllegalArgumentException("entry id: empty");
        }
        if (selectors.isEmpty()) {
            // An entry with no selectors would match every process on the node.
            throw new IllegalArgumentException("entry " + id + ": no selectors");
        }
    }

    /** True when the workload's selectors include every selector of this entry. */
    public boolean matches(Set<Selector> workloadSelectors) {
        return workloadSelectors.containsAll(selectors);
    }
}
