package dev.keel.policy.internal;

import dev.keel.identity.InvalidSpiffeIdException;
import dev.keel.identity.SpiffeId;

/**
 * Peer principals as Istio writes them: a SPIFFE ID without {@code spiffe://}
 * ({@code cluster.local/ns/default/sa/sleep}), Istio adding the scheme when it builds the matcher; or
 * {@code *} (any authenticated peer), a prefix ({@code cluster.local/ns/foo/*}) or a suffix
 * ({@code * /ns/foo/sa/bar}, any trust domain) pattern. Istio itself only refuses empty values; Keel also
 * refuses values that can never match a SPIFFE ID (identity-core's {@link SpiffeId} rules), since a
 * {@code notPrincipals} entry that never matches silently widens a policy.
 */
final class Principals {

    private static final String SCHEME = "spiffe://";

    private Principals() {
    }

    /** Null when {@code value} can match a SPIFFE ID, else the message. */
    static String check(String value) {
        if (value.isEmpty() || value.equals("*")) {
            return null;
        }
        String quoted = Paths.quote(value);
        if (value.startsWith(SCHEME)) {
            return quoted + " is not a valid principal: write it without \"spiffe://\" (Istio adds it), as "
                    + Paths.quote(value.substring(SCHEME.length()));
        }
        // Istio's StringMatcherWithPrefix: a leading '*' makes a suffix match, else a trailing one a prefix
        // match; any other '*' (including a trailing one after a leading one) is matched literally.
        boolean suffixPattern = value.startsWith("*");
        boolean prefixPattern = !suffixPattern && value.endsWith("*");
        String fixed = value.substring(suffixPattern ? 1 : 0, prefixPattern ? value.length() - 1 : value.length());
        if (fixed.indexOf('*') >= 0) {
            return quoted + " is not a valid principal: '*' is a wildcard only as the first or the last character, not"
                    + " both (Istio matches any other '*' literally)";
        }
        if (!suffixPattern && !prefixPattern) {
            try {
                SpiffeId.parse(SCHEME + value);
                return null;
            } catch (InvalidSpiffeIdException e) {
                return quoted + " is not a valid principal: " + e.getMessage();
            }
        }
        // A pattern: its fixed part must be able to occur in a SPIFFE ID.
        int firstSlash = fixed.indexOf('/');
        for (int i = 0; i < fixed.length(); i++) {
            char c = fixed.charAt(i);
            // Only a prefix pattern says where the trust domain is: it starts the fixed part.
            boolean inTrustDomain = !suffixPattern && (firstSlash < 0 || i < firstSlash);
            boolean ok = inTrustDomain
                    ? (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '-' || c == '_'
                    : (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.'
                            || c == '-' || c == '_' || c == '/';
            if (!ok) {
                return quoted + " is not a valid principal: character '" + c + "' at index " + (i + (suffixPattern ? 1 : 0))
                        + " cannot occur in a SPIFFE ID" + (inTrustDomain ? " trust domain" : "");
            }
        }
        if (fixed.contains("//")) {
            return quoted + " is not a valid principal: a SPIFFE ID has no empty path segments (\"//\")";
        }
        if (!suffixPattern && fixed.startsWith("/")) {
            return quoted + " is not a valid principal: it must start with the trust domain";
        }
        return null;
    }
}
