package dev.keel.authz;

import java.util.List;

/**
 * IP blocks ({@code 10.0.0.0/8}, {@code 2001:db8::/32}, or single addresses) in a binary prefix trie per
 * address family: a lookup walks at most 32 or 128 nodes whatever the number of blocks, and allocates
 * nothing. Immutable after construction.
 */
final class CidrSet {

    private static final class Node {
        Node zero;
        Node one;
        boolean terminal;
    }

    private final Node v4 = new Node();
    private final Node v6 = new Node();
    private final List<String> source;

    private CidrSet(List<String> source) {
        this.source = List.copyOf(source);
    }

    /** @throws IllegalArgumentException for a value that is not an address or CIDR */
    static CidrSet of(List<String> blocks) {
        CidrSet set = new CidrSet(blocks);
        for (String block : blocks) {
            int slash = block.indexOf('/');
            byte[] addr = AuthzRequest.parseIp(slash < 0 ? block : block.substring(0, slash));
            if (addr == null) {
                throw new IllegalArgumentException("ipBlocks: \"" + block + "\" (expected: an IP address or CIDR)");
            }
            int max = addr.length * 8;
            int bits = slash < 0 ? max : Integer.parseInt(block.substring(slash + 1));
            if (bits < 0 || bits > max) {
                throw new IllegalArgumentException("ipBlocks: \"" + block + "\" (expected: prefix length 0-" + max + ")");
            }
            Node n = addr.length == 4 ? set.v4 : set.v6;
            for (int i = 0; i < bits; i++) {
                boolean one = bit(addr, i);
                if (one) {
                    if (n.one == null) {
                        n.one = new Node();
                    }
                    n = n.one;
                } else {
                    if (n.zero == null) {
                        n.zero = new Node();
                    }
                    n = n.zero;
                }
            }
            n.terminal = true;
        }
        return set;
    }

    private static boolean bit(byte[] addr, int i) {
        return ((addr[i >>> 3] >>> (7 - (i & 7))) & 1) == 1;
    }

    boolean contains(byte[] addr) {
        if (addr == null) {
            return false;
        }
        Node n = addr.length == 4 ? v4 : v6;
        int max = addr.length * 8;
        for (int i = 0; ; i++) {
            if (n.terminal) {
                return true;
            }
            if (i == max) {
                return false;
            }
            n = bit(addr, i) ? n.one : n.zero;
            if (n == null) {
                return false;
            }
        }
    }

    @Override
    public String toString() {
        return source.toString();
    }
}
