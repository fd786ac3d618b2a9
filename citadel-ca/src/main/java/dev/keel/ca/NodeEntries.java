package dev.keel.ca;

import dev.keel.ca.node.RegistrationEntry;
import java.util.List;

/**
 * What a node agent gets from {@code FetchEntries}: the entries bound to it or to every node.
 *
 * @param revision the store revision this answer reflects
 * @param entries empty when {@code notModified}
 * @param notModified the agent already holds this revision
 */
public record NodeEntries(long revision, List<RegistrationEntry> entries, boolean notModified) {

    public NodeEntries {
        entries = List.copyOf(entries);
    }
}
