package dev.keel.agent;

import dev.keel.identity.Bundle;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;

/**
 * What the agent holds at one moment: the entries bound to this node, the current SVID of each
 * (absent until first issued), and the trust bundle (absent before the node is attested).
 * Immutable; a new snapshot with a higher {@link #version()} replaces it on every change.
 */
public record IdentitySnapshot(long version, List<RegistrationEntry> entries, Map<String, WorkloadSvid> svidsByEntryId,
        Optional<Bundle> bundle) {

    public static final IdentitySnapshot EMPTY = new IdentitySnapshot(0, List.of(), Map.of(), Optional.empty());

    public IdentitySnapshot {
        entries = List.copyOf(entries);
        svidsByEntryId = Map.copyOf(svidsByEntryId);
        Objects.requireNonNull(bundle, "bundle");
    }

    /** Entries whose selectors the workload's selectors satisfy, in entry order. */
    public List<RegistrationEntry> entriesFor(Set<Selector> workloadSelectors) {
        List<RegistrationEntry> matched = new ArrayList<>();
        for (RegistrationEntry entry : entries) {
            if (entry.matches(workloadSelectors)) {
                matched.add(entry);
            }
        }
        return matched;
    }

    /** The SVIDs of those entries that are valid at {@code now}; never an expired one. */
    public List<WorkloadSvid> validSvidsFor(List<RegistrationEntry> entitled, Instant now) {
        List<WorkloadSvid> svids = new ArrayList<>();
        for (RegistrationEntry entry : entitled) {
            WorkloadSvid svid = svidsByEntryId.get(entry.id());
            if (svid != null && svid.isValidAt(now)) {
                svids.add(svid);
            }
        }
        return svids;
    }
}
