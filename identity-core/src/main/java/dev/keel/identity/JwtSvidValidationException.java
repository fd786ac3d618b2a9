package dev.keel.identity;

import java.util.Objects;

/**
 * A JWT-SVID that {@link JwtSvidVerifier} rejected. {@link #rule()} names the rule of the JWT-SVID
 * specification (or of Keel's key policy) that failed; the message says the same in words. The
 * message never contains the token.
 */
public final class JwtSvidValidationException extends Exception {

    private static final long serialVersionUID = 1L;

    /** The rule that failed. */
    public enum Rule {
        /** Longer than {@link JwtSvidVerifier#MAX_TOKEN_LENGTH}. */
        TOO_LONG,
        /** Not a JWS compact serialization of three base64url segments with a JSON object header and payload (section 5.1). */
        MALFORMED,
        /** A header other than {@code alg}, {@code kid} and {@code typ} (section 2). */
        HEADER,
        /**
         * {@code alg} missing or not one of RS256/384/512, ES256/384/512, PS256/384/512 (section 2.1), or
         * not fit for the JWT authority's key (an RSA algorithm with an EC key, ES384 with a P-256 key).
         */
        ALGORITHM,
        /** {@code typ} present but neither {@code JWT} nor {@code JOSE} (section 2.3). */
        TYPE,
        /** {@code kid} missing or empty: Keel's bundles hold JWT authorities by key ID, so a token without one cannot be matched. */
        KEY_ID,
        /** {@code sub} missing or not a valid SPIFFE ID (section 3.1). */
        SUBJECT,
        /** No bundle for the trust domain of {@code sub}. */
        NO_BUNDLE,
        /** The bundle of {@code sub}'s trust domain has no JWT authority with the token's {@code kid}. */
        UNKNOWN_KEY,
        /** The JWT authority is a key Keel refuses ({@link KeyType}: RSA under 2048 bits, curves other than P-256 and P-384). */
        WEAK_KEY,
        /** The signature does not verify (RFC 7515 section 5.2). */
        SIGNATURE,
        /** {@code aud} missing, empty, malformed, or without the expected audience (section 3.2). */
        AUDIENCE,
        /** {@code exp} missing or not a number (section 3.3). */
        EXPIRY,
        /** {@code exp} is not in the future (section 3.3). */
        EXPIRED,
        /** {@code nbf} is present and in the future (RFC 7519 section 4.1.5). */
        NOT_YET_VALID
    }

    private final Rule rule;

    JwtSvidValidationException(Rule rule, String message) {
        super("JWT-SVID rejected [" + rule + "]: " + message);
        this.rule = Objects.requireNonNull(rule, "rule");
    }

    public Rule rule() {
        return rule;
    }
}
