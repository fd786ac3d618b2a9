package dev.keel.authz;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The rules of one action (and dry-run flag) for one protocol, indexed so that a request is tested
 * only against rules it could match: by exact path (hashed), path prefix (a character trie walked
 * along the path), exact method, exact peer principal; the rest are always tested. Each candidate list
 * is in rule order and scanning stops at the best match so far, so the answer is the first matching
 * rule in policy order, as a linear scan would give, without merging lists. Immutable; {@link
 * #firstMatch} allocates nothing.
 */
final class RuleTable {

    private static final int NONE = Integer.MAX_VALUE;

    private static final class TrieNode {
        char[] keys = new char[0];
        TrieNode[] children = new TrieNode[0];
        int[] ids;

        TrieNode childOrCreate(char c) {
            int at = Arrays.binarySearch(keys, c);
            if (at >= 0) {
                return children[at];
            }
            int insert = -at - 1;
            char[] k = new char[keys.length + 1];
            TrieNode[] ch = new TrieNode[keys.length + 1];
            System.arraycopy(keys, 0, k, 0, insert);
            System.arraycopy(children, 0, ch, 0, insert);
            k[insert] = c;
            ch[insert] = new TrieNode();
            System.arraycopy(keys, insert, k, insert + 1, keys.length - insert);
            System.arraycopy(children, insert, ch, insert + 1, keys.length - insert);
            keys = k;
            children = ch;
            return ch[insert];
        }
    }

    /** A path-compressed trie node: {@code edge} is the text from the parent (its first character is the key). */
    private static final class RadixNode {
        final String edge;
        final int[] ids;
        final char[] keys;
        final RadixNode[] children;

        RadixNode(String edge, int[] ids, char[] keys, RadixNode[] children) {
            this.edge = edge;
            this.ids = ids;
            this.keys = keys;
            this.children = children;
        }

        static RadixNode compress(TrieNode n, String edge) {
            StringBuilder e = new StringBuilder(edge);
            while (n.ids == null && n.keys.length == 1) {
                e.append(n.keys[0]);
                n = n.children[0];
            }
            RadixNode[] children = new RadixNode[n.keys.length];
            for (int i = 0; i < children.length; i++) {
                children[i] = compress(n.children[i], String.valueOf(n.keys[i]));
            }
            return new RadixNode(e.toString(), n.ids, n.keys, children);
        }
    }

    private final CompiledRule[] rules;
    private final int[] unindexed;
    private final Map<String, int[]> byPath;
    private final RadixNode byPathPrefix;
    private final Map<String, int[]> byMethod;
    private final Map<String, int[]> byPrincipal;

    RuleTable(List<CompiledRule> ordered) {
        this.rules = ordered.toArray(new CompiledRule[0]);
        List<Integer> un = new ArrayList<>();
        Map<String, List<Integer>> paths = new HashMap<>();
        Map<String, List<Integer>> methods = new HashMap<>();
        Map<String, List<Integer>> principals = new HashMap<>();
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
            } else {
                un.add(id);
            }
        }
        this.unindexed = ints(un);
        this.byPath = frozen(paths);
        this.byMethod = frozen(methods);
        this.byPrincipal = frozen(principals);
        if (prefixes.isEmpty()) {
            this.byPathPrefix = null;
        } else {
            TrieNode root = new TrieNode();
            prefixes.forEach((prefix, ids) -> {
                TrieNode n = root;
                for (int i = 0; i < prefix.length(); i++) {
                    n = n.childOrCreate(prefix.charAt(i));
                }
                n.ids = ints(ids);
            });
            this.byPathPrefix = RadixNode.compress(root, "");
        }
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
            RadixNode n = byPathPrefix;
            int pos = 0;
            while (n != null) {
                String edge = n.edge;
                if (!path.regionMatches(pos, edge, 0, edge.length())) {
                    break;
                }
                pos += edge.length();
                if (n.ids != null) {
                    best = scan(n.ids, r, best);
                }
                if (pos >= path.length()) {
                    break;
                }
                int at = Arrays.binarySearch(n.keys, path.charAt(pos));
                n = at >= 0 ? n.children[at] : null;
            }
        }
        if (byMethod != null && r.method() != null) {
            best = scan(byMethod.get(r.method()), r, best);
        }
        if (byPrincipal != null && r.sourcePrincipal() != null) {
            best = scan(byPrincipal.get(r.sourcePrincipal()), r, best);
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
