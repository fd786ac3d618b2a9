package dev.keel.identity;

import dev.keel.identity.InvalidSpiffeIdException.Rule;

/** The character and length rules of the SPIFFE ID specification, shared by the parsers. */
final class SpiffeIdRules {

    private SpiffeIdRules() {
    }

    static boolean isTrustDomainChar(char c) {
        return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '-' || c == '_';
    }

    static boolean isPathSegmentChar(char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
                || c == '.' || c == '-' || c == '_';
    }

    /**
     * The first rule a bare trust domain name breaks, or null. Rule and message come from the same
     * check, so they always agree (they used to be computed separately and could name different rules).
     */
    static InvalidSpiffeIdException trustDomainError(String name) {
        if (name.isEmpty()) {
            return new InvalidSpiffeIdException(Rule.TRUST_DOMAIN_MISSING, "trust domain: cannot be empty");
        }
        if (name.length() > TrustDomain.MAX_LENGTH) {
            return new InvalidSpiffeIdException(Rule.TRUST_DOMAIN_TOO_LONG, "trust domain: " + name.length()
                    + " characters (expected: <= " + TrustDomain.MAX_LENGTH + ")");
        }
        for (int i = 0; i < name.length(); i++) {
            char c = name.charAt(i);
            if (c == ':' || c == '@') {
                return new InvalidSpiffeIdException(Rule.PORT_OR_USERINFO, "trust domain: \"" + abbreviate(name)
                        + "\" contains '" + c + "' (a port or userinfo is not allowed in a trust domain)");
            }
            if (!isTrustDomainChar(c)) {
                return new InvalidSpiffeIdException(Rule.TRUST_DOMAIN_CHARACTERS, "trust domain: \"" + abbreviate(name)
                        + "\" has character '" + c + "' at index " + i
                        + " (expected: lower-case letters, digits, '.', '-', '_')");
            }
        }
        return null;
    }

    static String abbreviate(String s) {
        return s.length() <= 120 ? s : s.substring(0, 117) + "...";
    }
}
