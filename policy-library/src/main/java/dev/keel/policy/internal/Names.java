package dev.keel.policy.internal;

/** Kubernetes' name rules (apimachinery {@code validation.IsDNS1123Subdomain} and friends). */
public final class Names {

    private Names() {
    }

    /** A lower-case RFC 1123 label: at most 63 of [a-z0-9-], starting and ending alphanumeric. */
    public static boolean isDns1123Label(String s) {
        if (s.isEmpty() || s.length() > 63 || !isLowerAlnum(s.charAt(0)) || !isLowerAlnum(s.charAt(s.length() - 1))) {
            return false;
        }
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (!isLowerAlnum(c) && c != '-') {
                return false;
            }
        }
        return true;
    }

    /** A lower-case RFC 1123 subdomain: at most 253 characters, dot-separated labels. */
    static boolean isDns1123Subdomain(String s) {
        if (s.isEmpty() || s.length() > 253) {
            return false;
        }
        for (String label : s.split("\\.", -1)) {
            if (label.isEmpty() || !isLowerAlnum(label.charAt(0)) || !isLowerAlnum(label.charAt(label.length() - 1))) {
                return false;
            }
            for (int i = 0; i < label.length(); i++) {
                char c = label.charAt(i);
                if (!isLowerAlnum(c) && c != '-') {
                    return false;
                }
            }
        }
        return true;
    }

    /** A label key (qualified name): {@code [prefix/]name}, prefix a DNS subdomain, name at most 63. */
    static boolean isLabelKey(String s) {
        int slash = s.indexOf('/');
        if (slash >= 0) {
            return isDns1123Subdomain(s.substring(0, slash)) && isQualifiedNamePart(s.substring(slash + 1));
        }
        return isQualifiedNamePart(s);
    }

    /** A label value: empty, or at most 63 of [A-Za-z0-9-_.] starting and ending alphanumeric. */
    static boolean isLabelValue(String s) {
        return s.isEmpty() || isQualifiedNamePart(s);
    }

    private static boolean isQualifiedNamePart(String s) {
        if (s.isEmpty() || s.length() > 63 || !isAlnum(s.charAt(0)) || !isAlnum(s.charAt(s.length() - 1))) {
            return false;
        }
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (!isAlnum(c) && c != '-' && c != '_' && c != '.') {
                return false;
            }
        }
        return true;
    }

    private static boolean isLowerAlnum(char c) {
        return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
    }

    private static boolean isAlnum(char c) {
        return isLowerAlnum(c) || (c >= 'A' && c <= 'Z');
    }
}
