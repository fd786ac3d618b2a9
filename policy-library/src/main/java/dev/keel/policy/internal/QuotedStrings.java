package dev.keel.policy.internal;

/**
 * The inside of a double-quoted string, valid in both JSON and YAML (JSON's escapes are a subset of
 * YAML's): quotes, backslashes and control characters escaped. Error messages and generated
 * policies both use it, so a hostile value can neither break a message nor add a field.
 */
public final class QuotedStrings {

    private QuotedStrings() {
    }

    public static String escape(String value) {
        StringBuilder b = new StringBuilder(value.length());
        for (int i = 0; i < value.length(); i++) {
            char c = value.charAt(i);
            if (c == '"' || c == '\\') {
                b.append('\\').append(c);
            } else if (c < 0x20 || c == 0x7f) {
                b.append(String.format("\\u%04x", (int) c));
            } else {
                b.append(c);
            }
        }
        return b.toString();
    }
}
