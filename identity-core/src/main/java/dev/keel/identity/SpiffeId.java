package dev.keel.identity;

import static dev.keel.identity.InvalidSpiffeIdException.Rule;

import java.net.URI;
import java.util.Objects;

/**
 * A SPIFFE ID, {@code spiffe://<trust-domain>/<path>}, validated exactly per the SPIFFE ID
 * specification: scheme {@code spiffe}, a trust domain of lower-case letters, digits, dots, dashes
 * and underscores, path segments of letters, digits, dots, dashes and underscores, no empty, dot or
 * percent-encoded segments, no trailing slash, no query or fragment, at most 2048 bytes in all.
 *
 * <p>Immutable and thread-safe; {@link #toString()} is the canonical form and round-trips through
 * {@link #parse(String)}.
 */
public final class SpiffeId {

    /** The specification's maximum length of a SPIFFE ID as a URI, in bytes. */
    public static final int MAX_LENGTH = 2048;

    private static final String SCHEME_PREFIX = "spiffe://";

    private final TrustDomain trustDomain;
    private final String path;
    private final String value;

    private SpiffeId(TrustDomain trustDomain, String path) {
        this.trustDomain = trustDomain;
        this.path = path;
        this.value = SCHEME_PREFIX + trustDomain.name() + path;
    }

    /**
     * Parses a SPIFFE ID.
     *
     * @throws InvalidSpiffeIdException whose message names the rule that failed
     */
    public static SpiffeId parse(String value) {
        Objects.requireNonNull(value, "value");
        if (value.isEmpty()) {
            throw new InvalidSpiffeIdException(Rule.EMPTY, "SPIFFE ID: cannot be empty");
        }
        if (value.length() > MAX_LENGTH) {
            throw new InvalidSpiffeIdException(Rule.TOO_LONG,
                    "SPIFFE ID: " + value.length() + " characters (expected: <= " + MAX_LENGTH + ")");
        }
        if (!value.startsWith(SCHEME_PREFIX)) {
            throw new InvalidSpiffeIdException(Rule.SCHEME,
                    "SPIFFE ID: \"" + abbreviate(value) + "\" does not start with \"spiffe://\" (the scheme must be "
                            + "exactly 'spiffe', lower case)");
        }
        int tdStart = SCHEME_PREFIX.length();
        int tdEnd = value.indexOf('/', tdStart);
        if (tdEnd < 0) {
            tdEnd = value.length();
        }
        String td = value.substring(tdStart, tdEnd);
        checkNoQueryOrFragment(value);
        if (td.isEmpty()) {
            throw new InvalidSpiffeIdException(Rule.TRUST_DOMAIN_MISSING,
                    "SPIFFE ID: \"" + abbreviate(value) + "\" has no trust domain");
        }
        TrustDomain trustDomain = TrustDomain.of(td);
        return new SpiffeId(trustDomain, validatePath(value.substring(tdEnd)));
    }

    /**
     * A SPIFFE ID in {@code trustDomain} with the given path ({@code ""} or starting with '/').
     */
    public static SpiffeId of(TrustDomain trustDomain, String path) {
        Objects.requireNonNull(trustDomain, "trustDomain");
        Objects.requireNonNull(path, "path");
        if (!path.isEmpty() && path.charAt(0) != '/') {
            throw new InvalidSpiffeIdException(Rule.SEGMENT_CHARACTERS,
                    "path: \"" + abbreviate(path) + "\" does not start with '/'");
        }
        checkNoQueryOrFragment(path);
        SpiffeId id = new SpiffeId(trustDomain, validatePath(path));
        if (id.value.length() > MAX_LENGTH) {
            throw new InvalidSpiffeIdException(Rule.TOO_LONG,
                    "SPIFFE ID: " + id.value.length() + " characters (expected: <= " + MAX_LENGTH + ")");
        }
        return id;
    }

    /** A SPIFFE ID built from path segments, each validated on its own. */
    public static SpiffeId fromSegments(TrustDomain trustDomain, String... segments) {
        Objects.requireNonNull(trustDomain, "trustDomain");
        Objects.requireNonNull(segments, "segments");
        StringBuilder path = new StringBuilder();
        for (String segment : segments) {
            Objects.requireNonNull(segment, "segment");
            if (segment.isEmpty()) {
                // Without this an empty last segment would be reported as a trailing slash.
                throw new InvalidSpiffeIdException(Rule.EMPTY_SEGMENT, "path segment: cannot be empty");
            }
            if (segment.indexOf('/') >= 0) {
                throw new InvalidSpiffeIdException(Rule.SEGMENT_CHARACTERS,
                        "path segment: \"" + abbreviate(segment) + "\" contains '/'");
            }
            path.append('/').append(segment);
        }
        return of(trustDomain, path.toString());
    }

    private static void checkNoQueryOrFragment(String value) {
        int q = value.indexOf('?');
        int f = value.indexOf('#');
        if (q >= 0 || f >= 0) {
            throw new InvalidSpiffeIdException(Rule.QUERY_OR_FRAGMENT,
                    "SPIFFE ID: \"" + abbreviate(value) + "\" has a " + (q >= 0 ? "query" : "fragment")
                            + " (not allowed)");
        }
    }

    private static String validatePath(String path) {
        if (path.isEmpty()) {
            return path;
        }
        if (path.equals("/") || path.endsWith("/")) {
            throw new InvalidSpiffeIdException(Rule.TRAILING_SLASH,
                    "path: \"" + abbreviate(path) + "\" has a trailing slash");
        }
        int segmentStart = 1;
        for (int i = 1; i <= path.length(); i++) {
            if (i == path.length() || path.charAt(i) == '/') {
                String segment = path.substring(segmentStart, i);
                if (segment.isEmpty()) {
                    throw new InvalidSpiffeIdException(Rule.EMPTY_SEGMENT,
                            "path: \"" + abbreviate(path) + "\" has an empty segment at index " + segmentStart);
                }
                if (segment.equals(".") || segment.equals("..")) {
                    throw new InvalidSpiffeIdException(Rule.DOT_SEGMENT,
                            "path: \"" + abbreviate(path) + "\" has a dot segment \"" + segment + "\"");
                }
                segmentStart = i + 1;
                continue;
            }
            char c = path.charAt(i);
            if (c == '%') {
                throw new InvalidSpiffeIdException(Rule.PERCENT_ENCODING,
                        "path: \"" + abbreviate(path) + "\" is percent-encoded at index " + i + " (not allowed)");
            }
            if (!SpiffeIdRules.isPathSegmentChar(c)) {
                throw new InvalidSpiffeIdException(Rule.SEGMENT_CHARACTERS,
                        "path: \"" + abbreviate(path) + "\" has character '" + c + "' at index " + i
                                + " (expected: letters, digits, '.', '-', '_')");
            }
        }
        return path;
    }

    private static String abbreviate(String s) {
        return s.length() <= 120 ? s : s.substring(0, 117) + "...";
    }

    public TrustDomain trustDomain() {
        return trustDomain;
    }

    /** The path, {@code ""} for a trust domain's own ID, otherwise starting with '/'. */
    public String path() {
        return path;
    }

    /** True when this ID belongs to {@code domain}. */
    public boolean memberOf(TrustDomain domain) {
        return trustDomain.equals(domain);
    }

    public URI toUri() {
        return URI.create(value);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof SpiffeId && ((SpiffeId) o).value.equals(value);
    }

    @Override
    public int hashCode() {
        return value.hashCode();
    }

    @Override
    public String toString() {
        return value;
    }
}
