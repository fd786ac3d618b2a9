package dev.keel.agent.workloadapi;

import dev.keel.agent.IdentitySnapshot;
import dev.keel.agent.KubernetesPod;
import dev.keel.agent.RegistrationEntry;
import dev.keel.agent.Selector;
import dev.keel.agent.WorkloadProcess;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * An attested caller of one Workload API call: its process, the union of its attestors' selectors
 * and, in Kubernetes mode, the entry its pod was admitted as.
 *
 * <p>The admitted entry counts as entitled even before the agent's snapshot holds it (the agent may
 * still be adding it), so a stream waits for its SVID instead of failing; once a snapshot has shown
 * it, it is judged by the snapshots like any other entry, so deleting it ends the stream. Used by one
 * call at a time.
 */
final class Caller {

    private final WorkloadProcess process;
    private final Set<Selector> selectors;
    private final RegistrationEntry admitted;
    private final KubernetesPod pod;
    private volatile Matched matched;
    private boolean admittedSeen;

    /** The entries this caller matched in one entry list (compared by identity). */
    private record Matched(List<RegistrationEntry> entries, List<RegistrationEntry> result) {
    }

    /**
     * @param pod Kubernetes mode: the caller's pod, admitted as {@code admitted}; otherwise null
     */
    Caller(WorkloadProcess process, Set<Selector> selectors, RegistrationEntry admitted, KubernetesPod pod) {
        this.process = process;
        this.selectors = Set.copyOf(selectors);
        this.admitted = admitted;
        this.pod = pod;
    }

    WorkloadProcess process() {
        return process;
    }

    /** Kubernetes mode: the pod whose identity this caller holds, kept admitted while it streams. */
    Optional<KubernetesPod> pod() {
        return Optional.ofNullable(pod);
    }

    Set<Selector> selectors() {
        return selectors;
    }

    /** The entries of {@code snapshot} this caller is entitled to, in entry order (the first is the default identity). */
    List<RegistrationEntry> entitled(IdentitySnapshot snapshot) {
        if (admitted == null) {
            // Most snapshots only renew SVIDs and carry the very same entry list: with a thousand
            // open streams and a thousand entries, matching again on each would be a billion checks
            // during a cold start.
            Matched last = matched;
            if (last != null && last.entries() == snapshot.entries()) {
                return last.result();
            }
            List<RegistrationEntry> result = List.copyOf(snapshot.entriesFor(selectors));
            matched = new Matched(snapshot.entries(), result);
            return result;
        }
        List<RegistrationEntry> entries = new ArrayList<>();
        boolean admittedPresent = false;
        for (RegistrationEntry entry : snapshot.entries()) {
            boolean isAdmitted = entry.id().equals(admitted.id());
            admittedPresent |= isAdmitted;
            if (isAdmitted || entry.matches(selectors)) {
                entries.add(entry);
            }
        }
        if (admittedPresent) {
            admittedSeen = true;
        } else if (!admittedSeen) {
            entries.add(admitted);
        }
        return entries;
    }

    /** For logs: the process, never the selectors' values (labels may be sensitive). */
    @Override
    public String toString() {
        return "pid " + process.pid() + " uid " + process.uid() + " gid " + process.gid();
    }
}
