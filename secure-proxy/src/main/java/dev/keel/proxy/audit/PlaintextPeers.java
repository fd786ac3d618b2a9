package dev.keel.proxy.audit;

import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The peers that reached this proxy without mutual TLS (plaintext, or TLS without a client
 * certificate on a PERMISSIVE port), by address: what an auditor needs to find the callers that still
 * have to move to mTLS. Bounded: past {@link #capacity} addresses the least recently seen is dropped,
 * so a scan from many addresses cannot grow it. Recorded once per connection, not per request.
 * Thread-safe.
 */
public final class PlaintextPeers {

    /** One address: how many connections it opened without mTLS, on which ports, and when last. */
    public record Peer(String address, long connections, List<Integer> ports, Instant firstSeen, Instant lastSeen) {}

    private static final class Entry {
        long connections;
        final List<Integer> ports = new ArrayList<>(2);
        final Instant firstSeen;
        Instant lastSeen;

        Entry(Instant now) {
            firstSeen = now;
        }
    }

    private final int capacity;
    private final Clock clock;
    private final LinkedHashMap<String, Entry> peers;

    public PlaintextPeers(int capacity, Clock clock) {
        if (capacity < 1) {
            throw new IllegalArgumentException("capacity: " + capacity + " (expected at least 1)");
        }
        this.capacity = capacity;
        this.clock = clock;
        this.peers = new LinkedHashMap<>(16, 0.75f, true) {
            @Override
            protected boolean removeEldestEntry(Map.Entry<String, Entry> eldest) {
                return size() > PlaintextPeers.this.capacity;
            }
        };
    }

    /** Keeps the last 1,024 addresses. */
    public static PlaintextPeers create() {
        return new PlaintextPeers(1024, Clock.systemUTC());
    }

    /** A connection from {@code address} to app port {@code port} that is not mutual TLS. */
    public synchronized void record(String address, int port) {
        Instant now = clock.instant();
        Entry entry = peers.computeIfAbsent(address, a -> new Entry(now));
        entry.connections++;
        entry.lastSeen = now;
        if (!entry.ports.contains(port) && entry.ports.size() < 16) {
            entry.ports.add(port);
        }
    }

    /** The peers, most connections first. */
    public synchronized List<Peer> snapshot() {
        List<Peer> out = new ArrayList<>(peers.size());
        peers.forEach((address, e) -> out.add(new Peer(address, e.connections, List.copyOf(e.ports), e.firstSeen, e.lastSeen)));
        out.sort(Comparator.comparingLong(Peer::connections).reversed().thenComparing(Peer::address));
        return out;
    }

    /** {@code {"plaintext": [{"address", "count", "ports", "first_seen", "last_seen"}]}}, for the admin port. */
    public Map<String, Object> toJson() {
        List<Map<String, Object>> list = new ArrayList<>();
        for (Peer p : snapshot()) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("address", p.address());
            m.put("count", p.connections());
            m.put("ports", p.ports());
            m.put("first_seen", p.firstSeen().toString());
            m.put("last_seen", p.lastSeen().toString());
            list.add(m);
        }
        return Map.of("plaintext", list);
    }
}
