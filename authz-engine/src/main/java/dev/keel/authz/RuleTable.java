package dev.keel.authz;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The rules of one action (and dry-run flag) for one protocol, indexed so that a request is tested
 * only against rules it could match: by exact path (hashed), path prefix (hashed, the request path's
 * prefix hashes computed in one pass), exact method, exact peer principal, exact peer namespace; the
 * rest are always tested. Each candidate list is in rule order and scanning stops at the best match so
 * far, so the answer is the first matching rule in policy order, as a linear scan would give, without
 * merging lists. Immutable; {@link #firstMatch} allocates nothing.
 */
final class RuleTable {

    private static final int NONE = Integer.MAX_VALUE;

    /**
     * Path prefixes in an open-addressed table keyed by {@link String#hashCode}. A request path's
     * prefixes share one running hash ({@code h = 31 * h + c}, as {@code String.hashCode} computes it),
     * so each prefix length that some rule uses costs one probe and no substring.
     */
    private static final class PrefixTable {
        final boolean[] lengthUsed;
        final String[] keys;
        final int[] hashes;
        final int[][] ids;
        final int mask;

        PrefixTable(Map<String, List<Integer>> prefixes) {
            int max = 0;
            for (String p : prefixes.keySet()) {
                max = Math.max(max, p.length());
            }
            lengthUsed = new boolean[max + 1];
            int capacity = Integer.highestOneBit(Math.max(2, prefixes.size()) * 2) * 2;
            keys = new String[capacity];
            hashes = new int[capacity];
            ids = new int[capacity][];
            mask = capacity - 1;
            prefixes.forEach((prefix, list) -> {
                lengthUsed[prefix.length()] = true;
                int h = prefix.hashCode();
                int at = spread(h) & mask;
                while (ids[at] != null) {
                    at = (at + 1) & mask;
                }
                keys[at] = prefix;
                hashes[at] = h;
                ids[at] = ints(list);
            });
        }

        static int spread(int h) {
            return (h ^ (h >>> 16)) * 0x9E3779B9;
        }

        /** The rules whose prefix is {@code path}'s first {@code length} characters (hashing to {@code h}). */
        int[] get(String path, int length, int h) {
            int at = spread(h) & mask;
            int[] found;
            while ((found = ids[at]) != null) {
                if (hashes[at] == h) {
                    String k = keys[at];
                    if (k.length() == length && path.startsWith(k)) {
                        return found;
                    }
                }
                at = (at + 1) & mask;
            }
            return null;
        }
    }

    private final CompiledRule[] rules;
    private final int[] unindexed;
    private final Map<String, int[]> byPath;
    private final PrefixTable byPathPrefix;
    private final Map<String, int[]> byMethod;
    private final Map<String, int[]> byPrincipal;
    private final Map<String, int[]> byNamespace;

    RuleTable(List<CompiledRule> ordered) {
        this.rules = ordered.toArray(new CompiledRule[0]);
        List<Integer> un = new ArrayList<>();
        Map<String, List<Integer>> paths = new HashMap<>();
        Map<String, List<Integer>> methods = new HashMap<>();
        Map<String, List<Integer>> principals = new HashMap<>();
        Map<String, List<Integer>> namespaces = new HashMap<>();
        Map<String, List<Integer>> prefixes = new HashMap<>();
        for (int id = 0; id < rules.length; id++) {
            CompiledRule r = rules[id];
            if (r.skipped != null) {
                continue;
            }
            if (r.exactPaths != null) {
                for (String p : r.exactPaths) {
                    paths.computeIfAbsent(p, k -> new ArrayList<>()).add(id);
                }
                for (String p : r.pathPrefixes) {
                    prefixes.computeIfAbsent(p, k -> new ArrayList<>()).add(id);
                }
            } else if (r.exactMethods != null) {
                for (String m : r.exactMethods) {
                    methods.computeIfAbsent(m, k -> new ArrayList<>()).add(id);
                }
            } else if (r.exactPrincipals != null) {
                for (String p : r.exactPrincipals) {
                    principals.computeIfAbsent(p, k -> new ArrayList<>()).add(id);
                }
            } else if (r.exactNamespaces != null) {
                for (String n : r.exactNamespaces) {
                    namespaces.computeIfAbsent(n, k -> new ArrayList<>()).add(id);
                }
            } else {
                un.add(id);
            }
        }
        this.unindexed = ints(un);
        this.byPath = frozen(paths);
        this.byMethod = frozen(methods);
        this.byPrincipal = frozen(principals);
        this.byNamespace = frozen(namespaces);
        this.byPathPrefix = prefixes.isEmpty() ? null : new PrefixTable(prefixes);
    }

    private static int[] ints(List<Integer> ids) {
        return ids.stream().mapToInt(Integer::intValue).distinct().sorted().toArray();
    }

    private static Map<String, int[]> frozen(Map<String, List<Integer>> m) {
        if (m.isEmpty()) {
            return null;
        }
        Map<String, int[]> out = new HashMap<>(m.size() * 2);
        m.forEach((k, v) -> out.put(k, ints(v)));
        return out;
    }

    boolean isEmpty() {
        return rules.length == 0;
    }

    int size() {
        return rules.length;
    }

    /** The first rule in policy order that matches, or null. */
    CompiledRule firstMatch(AuthzRequest r) {
        if (rules.length == 0) {
            return null;
        }
        int best = scan(unindexed, r, NONE);
        String path = r.path();
        if (path != null) {
            if (byPath != null) {
                best = scan(byPath.get(path), r, best);
            }
            PrefixTable prefixes = byPathPrefix;
            if (prefixes != null) {
                boolean[] used = prefixes.lengthUsed;
                int end = Math.min(path.length(), used.length - 1);
                int h = 0;
                for (int i = 0; i < end; i++) {
                    h = 31 * h + path.charAt(i);
                    if (used[i + 1]) {
                        best = scan(prefixes.get(path, i + 1, h), r, best);
                    }
                }
            }
        }
        if (byMethod != null && r.method() != null) {
            best = scan(byMethod.get(r.method()), r, best);
        }
        if (byPrincipal != null && r.sourcePrincipal() != null) {
            best = scan(byPrincipal.get(r.sourcePrincipal()), r, best);
        }
        if (byNamespace != null && r.sourceNamespace() != null) {
            best = scan(byNamespace.get(r.sourceNamespace()), r, best);
        }
        return best == NONE ? null : rules[best];
    }

    private int scan(int[] ids, AuthzRequest r, int best) {
        if (ids == null) {
            return best;
        }
        for (int id : ids) {
            if (id >= best) {
                return best;
            }
            if (rules[id].matches(r)) {
                return id;
            }
        }
        return best;
    }
}
