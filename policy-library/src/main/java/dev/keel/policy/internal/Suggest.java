package dev.keel.policy.internal;

import java.util.Collection;
import java.util.Locale;

/** "Did you mean" for misspelled field names, enum values and condition keys. */
final class Suggest {

    private Suggest() {
    }

    /**
     * The candidate closest to {@code word}: equal ignoring case and underscores ({@code ip_blocks} for
     * {@code ipBlocks}), or within an edit distance of about a third of its length; null if none is close.
     */
    static String closest(String word, Collection<String> candidates) {
        if (word.length() > 100) {
            return null;
        }
        String normalized = normalize(word);
        String best = null;
        int bestDistance = Integer.MAX_VALUE;
        for (String candidate : candidates) {
            if (normalize(candidate).equals(normalized)) {
                return candidate;
            }
            int d = distance(word.toLowerCase(Locale.ROOT), candidate.toLowerCase(Locale.ROOT));
            if (d < bestDistance) {
                bestDistance = d;
                best = candidate;
            }
        }
        int allowed = Math.max(1, Math.min(word.length(), best == null ? 0 : best.length()) / 3);
        return bestDistance <= allowed ? best : null;
    }

    /** {@code (did you mean "x"?)} or {@code (expected one of: a, b, c)}. */
    static String hint(String word, Collection<String> candidates) {
        String closest = closest(word, candidates);
        return closest != null
                ? "(did you mean \"" + closest + "\"?)"
                : "(expected one of: " + String.join(", ", candidates) + ")";
    }

    private static String normalize(String s) {
        return s.replace("_", "").replace("-", "").toLowerCase(Locale.ROOT);
    }

    /** Edit distance counting a swap of neighbours as one edit (optimal string alignment). */
    static int distance(String a, String b) {
        int[][] d = new int[a.length() + 1][b.length() + 1];
        for (int i = 0; i <= a.length(); i++) {
            d[i][0] = i;
        }
        for (int j = 0; j <= b.length(); j++) {
            d[0][j] = j;
        }
        for (int i = 1; i <= a.length(); i++) {
            for (int j = 1; j <= b.length(); j++) {
                int cost = a.charAt(i - 1) == b.charAt(j - 1) ? 0 : 1;
                d[i][j] = Math.min(Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1), d[i - 1][j - 1] + cost);
                if (i > 1 && j > 1 && a.charAt(i - 1) == b.charAt(j - 2) && a.charAt(i - 2) == b.charAt(j - 1)) {
                    d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
                }
            }
        }
        return d[a.length()][b.length()];
    }
}
