package dev.keel.policy.lint;

import java.util.List;
import java.util.Locale;

/**
 * Istio's value matching, as far as the checks need it: exact, prefix ({@code abc*}), suffix
 * ({@code *abc}) and presence ({@code *}). Every answer errs towards "don't know" (false), so that a
 * finding built on it is certain.
 */
enum Match {
    /** Exact, prefix, suffix and presence. */
    PATTERN,
    /** Like {@link #PATTERN}, ignoring case (hosts). */
    PATTERN_IGNORE_CASE,
    /** Like {@link #PATTERN}; a value with Istio's {@code {*}} or {@code {**}} templates is not exact. */
    PATH,
    /** A port number: exact, compared as a number ({@code 080} is {@code 80}). */
    PORT,
    /**
     * Compared as text, but a value may match more than itself (an IP block, a claim whose matching is not
     * a plain string match): only equality is inferred.
     */
    OPAQUE;

    /** True when every string {@code inner} matches is matched by {@code outer}. */
    boolean covers(String outer, String inner) {
        if (this == PATTERN_IGNORE_CASE) {
            outer = outer.toLowerCase(Locale.ROOT);
            inner = inner.toLowerCase(Locale.ROOT);
        }
        if (this == PORT) {
            return port(outer) >= 0 && port(outer) == port(inner);
        }
        if (outer.equals(inner)) {
            return true;
        }
        if (this == OPAQUE) {
            return false;
        }
        if (outer.equals("*")) {
            // Presence: anything but empty, and no value Istio accepts matches only the empty string.
            return true;
        }
        boolean innerTemplate = this == PATH && isTemplate(inner);
        if (outer.endsWith("*") && !outer.startsWith("*")) {
            String prefix = outer.substring(0, outer.length() - 1);
            if (innerTemplate) {
                return literalPrefix(inner).startsWith(prefix);
            }
            if (isExact(inner)) {
                return inner.startsWith(prefix);
            }
            return isPrefixPattern(inner) && inner.substring(0, inner.length() - 1).startsWith(prefix);
        }
        if (outer.startsWith("*") && !outer.endsWith("*")) {
            String suffix = outer.substring(1);
            if (innerTemplate) {
                return false;
            }
            if (isExact(inner)) {
                return inner.endsWith(suffix);
            }
            return isSuffixPattern(inner) && inner.substring(1).endsWith(suffix);
        }
        return false;
    }

    /** True when some value of {@code outers} covers {@code inner}. */
    boolean coveredByAny(List<String> outers, String inner) {
        for (String outer : outers) {
            if (covers(outer, inner)) {
                return true;
            }
        }
        return false;
    }

    /** True when {@code value} matches exactly one string. */
    boolean isExactValue(String value) {
        if (this == OPAQUE) {
            return false;
        }
        return this == PORT || isExact(value) && !(this == PATH && isTemplate(value));
    }

    /** The port a value names, or -1. */
    static long port(String value) {
        if (value.isEmpty() || value.length() > 10 || !value.chars().allMatch(c -> c >= '0' && c <= '9')) {
            return -1;
        }
        return Long.parseLong(value);
    }

    static boolean isExact(String value) {
        return !value.startsWith("*") && !value.endsWith("*");
    }

    private static boolean isPrefixPattern(String value) {
        return value.endsWith("*") && !value.startsWith("*");
    }

    private static boolean isSuffixPattern(String value) {
        return value.startsWith("*") && !value.endsWith("*");
    }

    private static boolean isTemplate(String path) {
        return path.contains("{*}") || path.contains("{**}");
    }

    private static String literalPrefix(String template) {
        return template.substring(0, template.indexOf('{'));
    }
}
