package dev.keel.policy.internal;

/**
 * Field paths as in messages: {@code spec.rules[0].from[1].source.ipBlocks[2]}; a map key that is not a
 * plain identifier is quoted, {@code metadata.annotations["istio.io/dry-run"]}.
 */
final class Paths {

    private Paths() {
    }

    static String field(String parent, String key) {
        if (key.length() <= 100 && isIdentifier(key)) {
            return parent.isEmpty() ? key : parent + "." + key;
        }
        return parent + "[" + quote(key) + "]";
    }

    static String index(String parent, int index) {
        return parent + "[" + index + "]";
    }

    /** True when {@code path} is {@code ancestor} or lies under it. */
    static boolean within(String path, String ancestor) {
        if (ancestor.isEmpty() || path.equals(ancestor)) {
            return true;
        }
        if (!path.startsWith(ancestor)) {
            return false;
        }
        char next = path.charAt(ancestor.length());
        return next == '.' || next == '[';
    }

    /** A string in double quotes, with quotes, backslashes and control characters escaped. */
    static String quote(String s) {
        int limit = Math.min(s.length(), 100);
        return "\"" + QuotedStrings.escape(s.substring(0, limit)) + (limit < s.length() ? "..." : "") + "\"";
    }

    private static boolean isIdentifier(String key) {
        if (key.isEmpty() || !(Character.isLetter(key.charAt(0)) && key.charAt(0) < 0x80 || key.charAt(0) == '_')) {
            return false;
        }
        for (int i = 1; i < key.length(); i++) {
            char c = key.charAt(i);
            boolean ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
            if (!ok) {
                return false;
            }
        }
        return true;
    }
}
