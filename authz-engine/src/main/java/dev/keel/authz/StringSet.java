package dev.keel.authz;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * The values of one policy field compiled for matching: exact values hashed, prefixes ({@code abc*}),
 * suffixes ({@code *abc}), presence ({@code *}) and path templates ({@code {*}}, {@code {**}}) in
 * arrays. A value matches when any entry does. Immutable; {@link #matches} allocates nothing.
 */
final class StringSet {

    private final List<String> source;
    private final boolean presence;
    private final Set<String> exact;
    private final String[] prefixes;
    private final String[] suffixes;
    private final PathTemplate[] templates;
    private final boolean lowerCase;
    /** The value when the set is one exact value (the common case): one equals, no hashing. */
    private final String single;
    /** Up to {@link #SMALL} exact values with their hashes, compared without a hash table; else null. */
    private final String[] small;
    private final int[] smallHashes;
    private final boolean patterns;

    private static final int SMALL = 8;

    private StringSet(List<String> source, boolean presence, Set<String> exact, String[] prefixes, String[] suffixes,
            PathTemplate[] templates, boolean lowerCase) {
        this.source = source;
        this.presence = presence;
        this.exact = exact;
        this.prefixes = prefixes;
        this.suffixes = suffixes;
        this.templates = templates;
        this.lowerCase = lowerCase;
        this.single = !presence && exact.size() == 1 && prefixes.length == 0 && suffixes.length == 0
                && templates.length == 0 ? exact.iterator().next() : null;
        if (exact.size() <= SMALL) {
            this.small = exact.toArray(new String[0]);
            this.smallHashes = new int[small.length];
            for (int i = 0; i < small.length; i++) {
                smallHashes[i] = small[i].hashCode();
            }
        } else {
            this.small = null;
            this.smallHashes = null;
        }
        this.patterns = prefixes.length > 0 || suffixes.length > 0 || templates.length > 0;
    }

    /**
     * @param lowerCase compare case-insensitively (hosts); the request side is lower-cased already
     * @param paths     recognise Istio's path templates
     */
    static StringSet of(List<String> values, boolean lowerCase, boolean paths) {
        boolean presence = false;
        Set<String> exact = new HashSet<>();
        List<String> prefixes = new ArrayList<>();
        List<String> suffixes = new ArrayList<>();
        List<PathTemplate> templates = new ArrayList<>();
        for (String raw : values) {
            String v = lowerCase ? raw.toLowerCase(Locale.ROOT) : raw;
            if (paths && PathTemplate.isTemplate(v)) {
                templates.add(PathTemplate.compile(v));
            } else if (v.equals("*")) {
                presence = true;
            } else if (v.startsWith("*")) {
                suffixes.add(v.substring(1));
            } else if (v.endsWith("*")) {
                prefixes.add(v.substring(0, v.length() - 1));
            } else {
                exact.add(v);
            }
        }
        return new StringSet(List.copyOf(values), presence, exact, prefixes.toArray(new String[0]),
                suffixes.toArray(new String[0]), templates.toArray(new PathTemplate[0]), lowerCase);
    }

    boolean matches(String value) {
        if (value == null) {
            return false;
        }
        if (single != null) {
            return single.equals(value);
        }
        if (presence) {
            return true;
        }
        if (small != null) {
            int h = value.hashCode();
            for (int i = 0; i < small.length; i++) {
                if (smallHashes[i] == h && small[i].equals(value)) {
                    return true;
                }
            }
        } else if (exact.contains(value)) {
            return true;
        }
        if (!patterns) {
            return false;
        }
        for (String p : prefixes) {
            if (value.startsWith(p)) {
                return true;
            }
        }
        for (String s : suffixes) {
            if (value.endsWith(s)) {
                return true;
            }
        }
        for (PathTemplate t : templates) {
            if (t.matches(value)) {
                return true;
            }
        }
        return false;
    }

    boolean lowerCase() {
        return lowerCase;
    }

    List<String> values() {
        return source;
    }

    /** The exact values, when every value is exact (an index can use them); else null. */
    Set<String> onlyExact() {
        return presence || prefixes.length > 0 || suffixes.length > 0 || templates.length > 0 ? null : exact;
    }

    @Override
    public String toString() {
        return source.toString();
    }
}
