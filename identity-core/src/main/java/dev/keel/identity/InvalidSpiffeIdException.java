package dev.keel.identity;

/**
 * A SPIFFE ID or trust domain that breaks a rule of the SPIFFE ID specification. The message says
 * which rule failed and where; {@link #rule()} lets callers and tests branch on it.
 */
public final class InvalidSpiffeIdException extends IllegalArgumentException {

    private static final long serialVersionUID = 1L;

    /** The rule of the SPIFFE ID specification that was broken. */
    public enum Rule {
        EMPTY,
        TOO_LONG,
        SCHEME,
        TRUST_DOMAIN_MISSING,
        TRUST_DOMAIN_CHARACTERS,
        TRUST_DOMAIN_TOO_LONG,
        TRUST_DOMAIN_HAS_PATH,
        PORT_OR_USERINFO,
        EMPTY_SEGMENT,
        DOT_SEGMENT,
        TRAILING_SLASH,
        SEGMENT_CHARACTERS,
        PERCENT_ENCODING,
        QUERY_OR_FRAGMENT
    }

    private final Rule rule;

    InvalidSpiffeIdException(Rule rule, String message) {
        super(message);
        this.rule = rule;
    }

    public Rule rule() {
        return rule;
    }
}
