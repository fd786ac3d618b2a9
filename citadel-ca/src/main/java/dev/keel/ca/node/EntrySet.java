package dev.keel.ca.node;

import dev.keel.identity.SpiffeId;
import java.util.List;
import java.util.Optional;

/**
 * The registration entries at one revision of the store. Immutable.
 *
 * @param revision grows by one with every change to the store; 0 for a store never written
 * @param entries oldest first
 */
public record EntrySet(long revision, List<RegistrationEntry> entries) {

    public static final EntrySet EMPTY = new EntrySet(0, List.of());

    public EntrySet {
        entries = List.copyOf(entries);
    }

    public Optional<RegistrationEntry> find(String id) {
        return entries.stream().filter(e -> e.id().equals(id)).findFirst();
    }

    /** The entries a node may serve: bound to it or to every node. */
    public List<RegistrationEntry> boundTo(SpiffeId node) {
        return entries.stream().filter(e -> e.boundTo(node)).toList();
    }
}
