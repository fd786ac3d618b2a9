package dev.keel.jwt;

import java.util.Objects;

/**
 * The outcome of request authentication, as a value. Istio's semantics: {@link Ok} and
 * {@link Missing} let the request continue to authorization (after applying their
 * {@link HeaderMutations}); {@link Invalid} rejects it with 401 and {@code WWW-Authenticate},
 * whether or not any AuthorizationPolicy exists.
 */
public sealed interface JwtResult permits JwtResult.Ok, JwtResult.Missing, JwtResult.Invalid {

    /** Every token found was valid; {@code jwt} is the first one, the one authorization sees. */
    record Ok(VerifiedJwt jwt, HeaderMutations mutations) implements JwtResult {
        public Ok {
            Objects.requireNonNull(jwt, "jwt");
            Objects.requireNonNull(mutations, "mutations");
        }
    }

    /** No token in any configured location: the request passes without a request principal. */
    record Missing(HeaderMutations mutations) implements JwtResult {
        public Missing {
            Objects.requireNonNull(mutations, "mutations");
        }
    }

    /**
     * A token was found and refused. {@code detail} is safe to log and to return in the body: it never
     * holds the token, only what was wrong with it.
     */
    record Invalid(Reason reason, String detail) implements JwtResult {
        public Invalid {
            Objects.requireNonNull(reason, "reason");
            Objects.requireNonNull(detail, "detail");
        }

        /** The HTTP status to answer with: 401. */
        public int httpStatus() {
            return 401;
        }

        /** The {@code WWW-Authenticate} header value (RFC 6750 section 3), without a realm. */
        public String wwwAuthenticate() {
            return "Bearer error=\"invalid_token\"";
        }

        /** The {@code WWW-Authenticate} header value with {@code realm} (quotes and backslashes dropped). */
        public String wwwAuthenticate(String realm) {
            String safe = HeaderMutations.sanitize(Objects.requireNonNull(realm, "realm")).replace("\"", "").replace("\\", "");
            return "Bearer realm=\"" + safe + "\", error=\"invalid_token\"";
        }
    }

    /** Why a token was refused. */
    enum Reason {
        /** Not three base64url segments of JSON objects, or a claim of the wrong type. */
        MALFORMED,
        /** Longer than the configured limit. */
        TOO_LARGE,
        /** {@code none}, HMAC, or an algorithm not supported. */
        UNSUPPORTED_ALGORITHM,
        /** A {@code crit} header parameter: none is understood here (RFC 7515 section 4.1.11). */
        CRITICAL_HEADER,
        /** {@code iss} matches no rule for the location the token was found in. */
        UNKNOWN_ISSUER,
        /** No key with the token's {@code kid}, even after refreshing the key set. */
        UNKNOWN_KEY,
        /** The key's type, curve, {@code use}, {@code alg} or {@code key_ops} does not fit the token's {@code alg}. */
        KEY_MISMATCH,
        /** The signature does not verify. */
        BAD_SIGNATURE,
        /** {@code exp} passed, beyond the clock skew. */
        EXPIRED,
        /** {@code nbf} in the future, beyond the clock skew. */
        NOT_YET_VALID,
        /** No {@code aud} value is one of the rule's audiences. */
        AUDIENCE_MISMATCH,
        /** The key set could not be fetched, or is older than the staleness bound. */
        JWKS_UNAVAILABLE,
        /** Verification failed unexpectedly (a bug): refused, fail closed. */
        INTERNAL_ERROR
    }
}
