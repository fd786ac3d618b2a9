package dev.keel.ca.auth;

import static dev.keel.ca.auth.ServiceAccountTokens.format;
import static dev.keel.ca.auth.ServiceAccountTokens.hint;
import static dev.keel.ca.auth.ServiceAccountTokens.quote;

import dev.keel.ca.auth.ServiceAccountTokens.ServiceAccount;
import dev.keel.identity.InvalidSpiffeIdException;
import dev.keel.identity.SpiffeId;
import dev.keel.identity.TrustDomain;
import java.io.IOException;
import java.net.URI;
import java.security.Key;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.util.Collection;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import org.jose4j.http.Get;
import org.jose4j.jwa.AlgorithmConstraints;
import org.jose4j.jwa.AlgorithmConstraints.ConstraintType;
import org.jose4j.jwk.EllipticCurveJsonWebKey;
import org.jose4j.jwk.HttpsJwks;
import org.jose4j.jwk.JsonWebKey;
import org.jose4j.jwk.JsonWebKeySet;
import org.jose4j.jwk.PublicJsonWebKey;
import org.jose4j.jwk.RsaJsonWebKey;
import org.jose4j.jws.AlgorithmIdentifiers;
import org.jose4j.jws.JsonWebSignature;
import org.jose4j.jwt.JwtClaims;
import org.jose4j.jwt.MalformedClaimException;
import org.jose4j.jwt.NumericDate;
import org.jose4j.jwt.consumer.ErrorCodes;
import org.jose4j.jwt.consumer.InvalidJwtException;
import org.jose4j.jwt.consumer.JwtConsumer;
import org.jose4j.jwt.consumer.JwtConsumerBuilder;
import org.jose4j.jwx.JsonWebStructure;
import org.jose4j.keys.resolvers.HttpsJwksVerificationKeyResolver;
import org.jose4j.keys.resolvers.JwksVerificationKeyResolver;
import org.jose4j.keys.resolvers.VerificationKeyResolver;
import org.jose4j.lang.InvalidAlgorithmException;
import org.jose4j.lang.JoseException;
import org.jose4j.lang.UnresolvableKeyException;

/**
 * Proves a caller from its Kubernetes service-account JWT by checking it locally against the
 * cluster's issuer and signing keys, for clusters where the CA cannot call TokenReview. Maps
 * {@code sub: system:serviceaccount:<namespace>:<name>} to
 * {@code spiffe://<trust-domain>/ns/<namespace>/sa/<name>}.
 *
 * <p>A token is accepted only when it is signed with RS256, RS384, RS512, ES256, ES384 or PS256 by
 * a key in the JWKS ({@code none} and HMAC are never accepted), {@code iss} equals the configured
 * issuer, {@code aud} contains a configured audience, {@code exp} is present and not passed (within
 * the allowed clock skew), {@code sub} is exactly a service account whose namespace and name are
 * valid SPIFFE path segments, and, when the projected-token claim {@code kubernetes.io} is present,
 * its {@code namespace} and {@code serviceaccount.name} agree with {@code sub}. Tokens without
 * {@code exp} (legacy secret-based tokens) are refused. Tokens over 16 KiB are refused unparsed.
 * Empty is returned only when the call has no bearer token.
 *
 * <p>The JWKS is given inline or fetched over HTTPS and cached (per its {@code Cache-Control},
 * refetched when a token names an unknown key); a failed fetch throws an
 * {@link AuthenticationException} with {@link AuthenticationException#unavailable()} set.
 *
 * <p>Thread-safe. {@link #authenticate} does not block with an inline JWKS; with an HTTPS JWKS it
 * may block on a fetch, bounded by the fetch timeout, so call it off the event loop.
 */
public final class JwtIssuerAuthenticator implements CallerAuthenticator {

    /** Allowed difference between our clock and the issuer's unless configured otherwise. */
    public static final Duration DEFAULT_CLOCK_SKEW = Duration.ofSeconds(60);

    /** How long one JWKS fetch may take unless configured otherwise. */
    public static final Duration DEFAULT_JWKS_FETCH_TIMEOUT = Duration.ofSeconds(5);

    /** The signature algorithms accepted: asymmetric only, as Kubernetes issues. */
    public static final List<String> ALGORITHMS = List.of(
            AlgorithmIdentifiers.RSA_USING_SHA256,
            AlgorithmIdentifiers.RSA_USING_SHA384,
            AlgorithmIdentifiers.RSA_USING_SHA512,
            AlgorithmIdentifiers.ECDSA_USING_P256_CURVE_AND_SHA256,
            AlgorithmIdentifiers.ECDSA_USING_P384_CURVE_AND_SHA384,
            AlgorithmIdentifiers.RSA_PSS_USING_SHA256);

    static final String METHOD = "jwt";

    private static final String CONTEXT = "jwt";
    private static final String KUBERNETES_CLAIM = "kubernetes.io";
    private static final Duration MAX_CLOCK_SKEW = Duration.ofHours(1);
    // Keys stay usable this long after a failed refresh, so a JWKS endpoint outage does not
    // immediately stop issuance to callers whose keys are already known.
    private static final long RETAIN_KEYS_ON_ERROR_SECONDS = 300;
    private static final AlgorithmConstraints SIGNATURE_ALGORITHMS =
            new AlgorithmConstraints(ConstraintType.PERMIT, ALGORITHMS.toArray(String[]::new));
    private static final AlgorithmConstraints NO_ENCRYPTION = new AlgorithmConstraints(ConstraintType.PERMIT);

    private final TrustDomain trustDomain;
    private final String issuer;
    private final String[] audiences;
    private final VerificationKeyResolver keys;
    private final String keySource;
    private final int clockSkewSeconds;
    private final Clock clock;

    private JwtIssuerAuthenticator(Builder builder, VerificationKeyResolver keys, String keySource) {
        this.trustDomain = builder.trustDomain;
        this.issuer = builder.issuer;
        this.audiences = builder.audiences.toArray(String[]::new);
        this.keys = new AllowedAlgorithmsFirst(keys);
        this.keySource = keySource;
        this.clockSkewSeconds = (int) builder.clockSkew.toSeconds();
        this.clock = builder.clock;
    }

    /**
     * A builder that accepts tokens from {@code issuer} (the cluster's service-account issuer, e.g.
     * {@code https://kubernetes.default.svc.cluster.local}) and maps them into {@code trustDomain}.
     * A JWKS must be given with {@link Builder#jwks(String)} or {@link Builder#jwksUri(URI)}.
     */
    public static Builder builder(TrustDomain trustDomain, String issuer) {
        return new Builder(trustDomain, issuer);
    }

    @Override
    public Optional<Caller> authenticate(CallerCredentials credentials) throws AuthenticationException {
        Objects.requireNonNull(credentials, "credentials");
        Optional<String> token = ServiceAccountTokens.token(credentials, CONTEXT);
        if (token.isEmpty()) {
            return Optional.empty();
        }
        String hint = hint(token.get());
        JwtClaims claims;
        try {
            claims = consumer().processToClaims(token.get());
        } catch (InvalidJwtException e) {
            throw refusal(e, hint);
        }
        String subject;
        try {
            subject = claims.getSubject();
        } catch (MalformedClaimException e) {
            throw new AuthenticationException(CONTEXT + ": sub is not a string (" + hint + ")");
        }
        ServiceAccount account = ServiceAccountTokens.parseUsername(subject).orElseThrow(
                () -> new AuthenticationException(CONTEXT + ": sub " + quote(subject)
                        + " is not a service account (expected: " + ServiceAccountTokens.USERNAME_PREFIX
                        + "<namespace>:<name>) (" + hint + ")"));
        checkKubernetesClaim(claims.getClaimValue(KUBERNETES_CLAIM), account, hint);
        SpiffeId identity;
        try {
            identity = trustDomain.workload(account.namespace(), account.name());
        } catch (InvalidSpiffeIdException e) {
            throw new AuthenticationException(CONTEXT + ": service account " + quote(subject)
                    + " does not map to a SPIFFE ID: " + e.getMessage() + " (" + hint + ")");
        }
        return Optional.of(new Caller(identity, METHOD, account.username()));
    }

    // Built per call because jose4j fixes the evaluation time in the consumer; what is costly (the
    // keys, the HTTPS cache) is shared.
    private JwtConsumer consumer() {
        return new JwtConsumerBuilder()
                .setExpectedIssuer(true, issuer)
                .setExpectedAudience(true, audiences)
                .setRequireExpirationTime()
                .setRequireSubject()
                .setAllowedClockSkewInSeconds(clockSkewSeconds)
                // iat stays optional, but one from the future means the issuer's clock is off.
                .setIssuedAtRestrictions(clockSkewSeconds, Integer.MAX_VALUE)
                .setEvaluationTime(NumericDate.fromMilliseconds(clock.millis()))
                .setJwsAlgorithmConstraints(SIGNATURE_ALGORITHMS)
                // Signed tokens only: an encrypted (JWE) wrapper is refused whatever its algorithm.
                .setJweAlgorithmConstraints(NO_ENCRYPTION)
                .setVerificationKeyResolver(keys)
                .build();
    }

    private static void checkKubernetesClaim(Object claim, ServiceAccount account, String hint)
            throws AuthenticationException {
        if (claim == null) {
            return;
        }
        Object namespace = null;
        Object name = null;
        if (claim instanceof Map<?, ?> kubernetes) {
            namespace = kubernetes.get("namespace");
            if (kubernetes.get("serviceaccount") instanceof Map<?, ?> serviceAccount) {
                name = serviceAccount.get("name");
            }
        }
        if (!account.namespace().equals(namespace) || !account.name().equals(name)) {
            throw new AuthenticationException(CONTEXT + ": claim " + KUBERNETES_CLAIM + " (namespace "
                    + quote(String.valueOf(namespace)) + ", serviceaccount.name " + quote(String.valueOf(name))
                    + ") does not agree with sub " + quote(account.username()) + " (" + hint + ")");
        }
    }

    /**
     * Turns jose4j's verdict into our message. jose4j's own messages quote the token's header and
     * claims, so they are never passed on, neither as message nor as cause.
     */
    private AuthenticationException refusal(InvalidJwtException e, String hint) {
        IOException io = cause(e, IOException.class);
        if (io != null) {
            return new AuthenticationException(CONTEXT + ": JWKS unavailable from " + keySource + " (" + hint + ")",
                    true, io);
        }
        String reason;
        if (e.hasErrorCode(ErrorCodes.EXPIRATION_MISSING)) {
            reason = "no exp claim (expected: a token that expires)";
        } else if (e.hasExpired()) {
            reason = "expired (allowed clock skew " + clockSkewSeconds + "s)";
        } else if (e.hasErrorCode(ErrorCodes.NOT_YET_VALID) || e.hasErrorCode(ErrorCodes.ISSUED_AT_INVALID_FUTURE)) {
            reason = "not yet valid (allowed clock skew " + clockSkewSeconds + "s)";
        } else if (e.hasErrorCode(ErrorCodes.ISSUER_MISSING) || e.hasErrorCode(ErrorCodes.ISSUER_INVALID)) {
            reason = "wrong issuer (expected: " + quote(issuer) + ")";
        } else if (e.hasErrorCode(ErrorCodes.AUDIENCE_MISSING) || e.hasErrorCode(ErrorCodes.AUDIENCE_INVALID)) {
            reason = "wrong audience (expected one of: " + List.of(audiences) + ")";
        } else if (e.hasErrorCode(ErrorCodes.SUBJECT_MISSING)) {
            reason = "no sub claim";
        } else if (e.hasErrorCode(ErrorCodes.SIGNATURE_INVALID)) {
            reason = "signature does not verify";
        } else if (e.hasErrorCode(ErrorCodes.SIGNATURE_MISSING)) {
            reason = "not signed";
        } else if (cause(e, DisallowedAlgorithm.class) != null || cause(e, InvalidAlgorithmException.class) != null) {
            reason = "signature algorithm not allowed (expected one of: " + ALGORITHMS + ")";
        } else if (cause(e, UnresolvableKeyException.class) != null) {
            reason = "no key in the JWKS from " + keySource + " matches the token's kid and algorithm";
        } else if (e.hasErrorCode(ErrorCodes.MALFORMED_CLAIM) || e.hasErrorCode(ErrorCodes.JSON_INVALID)) {
            reason = "malformed claims";
        } else {
            reason = "not a valid signed JWT";
        }
        return new AuthenticationException(CONTEXT + ": " + reason + " (" + hint + ")");
    }

    /**
     * Checks the token's algorithm before any key is looked up. jose4j would refuse {@code none} or
     * HMAC later anyway, but only after a key lookup, which for an HTTPS JWKS means a refetch
     * that any caller could trigger with a made-up {@code kid}.
     */
    private static final class AllowedAlgorithmsFirst implements VerificationKeyResolver {

        private final VerificationKeyResolver keys;

        AllowedAlgorithmsFirst(VerificationKeyResolver keys) {
            this.keys = keys;
        }

        @Override
        public Key resolveKey(JsonWebSignature jws, List<JsonWebStructure> nestingContext)
                throws UnresolvableKeyException {
            if (!ALGORITHMS.contains(jws.getAlgorithmHeaderValue())) {
                throw new DisallowedAlgorithm();
            }
            return keys.resolveKey(jws, nestingContext);
        }
    }

    private static final class DisallowedAlgorithm extends UnresolvableKeyException {

        private static final long serialVersionUID = 1L;

        DisallowedAlgorithm() {
            super("signature algorithm not allowed");
        }
    }

    private static <T extends Throwable> T cause(Throwable t, Class<T> type) {
        for (Throwable c = t.getCause(); c != null; c = c.getCause()) {
            if (type.isInstance(c)) {
                return type.cast(c);
            }
        }
        return null;
    }

    /** Configures a {@link JwtIssuerAuthenticator}. Not thread-safe; build once. */
    public static final class Builder {

        private final TrustDomain trustDomain;
        private final String issuer;
        private List<String> audiences = List.of(KubernetesTokenReviewAuthenticator.ISTIO_CA_AUDIENCE);
        private String jwksJson;
        private URI jwksUri;
        private List<X509Certificate> jwksTrustedCertificates = List.of();
        private Duration jwksFetchTimeout = DEFAULT_JWKS_FETCH_TIMEOUT;
        private Duration clockSkew = DEFAULT_CLOCK_SKEW;
        private Clock clock = Clock.systemUTC();

        Builder(TrustDomain trustDomain, String issuer) {
            this.trustDomain = Objects.requireNonNull(trustDomain, "trustDomain");
            this.issuer = Objects.requireNonNull(issuer, "issuer");
            if (issuer.isEmpty()) {
                throw new IllegalArgumentException("issuer: \"\" (expected: non-empty)");
            }
        }

        /**
         * The audiences a token must name at least one of; {@code istio-ca} unless configured. Never
         * empty: a token minted for another audience (the API server's own) must not get a
         * certificate.
         */
        public Builder audiences(Collection<String> audiences) {
            Objects.requireNonNull(audiences, "audiences");
            if (audiences.isEmpty()) {
                throw new IllegalArgumentException("audiences: [] (expected: at least one)");
            }
            this.audiences = ServiceAccountTokens.checkedAudiences(audiences);
            return this;
        }

        /** See {@link #audiences(Collection)}. */
        public Builder audiences(String... audiences) {
            return audiences(Arrays.asList(Objects.requireNonNull(audiences, "audiences")));
        }

        /** The issuer's public keys as a JSON Web Key Set, e.g. from {@code /openid/v1/jwks}. */
        public Builder jwks(String json) {
            this.jwksJson = Objects.requireNonNull(json, "json");
            return this;
        }

        /** Where to fetch the issuer's JSON Web Key Set; {@code https} only. */
        public Builder jwksUri(URI uri) {
            Objects.requireNonNull(uri, "uri");
            if (!"https".equalsIgnoreCase(uri.getScheme()) || uri.getHost() == null) {
                throw new IllegalArgumentException("jwksUri: " + uri + " (expected: https://<host>/...)");
            }
            this.jwksUri = uri;
            return this;
        }

        /**
         * The certificates to trust for {@link #jwksUri(URI)}, e.g. the cluster CA; the JVM's trust
         * store when empty, the default.
         */
        public Builder jwksTrustedCertificates(Collection<X509Certificate> certificates) {
            Objects.requireNonNull(certificates, "certificates");
            certificates.forEach(c -> Objects.requireNonNull(c, "certificate"));
            this.jwksTrustedCertificates = List.copyOf(certificates);
            return this;
        }

        /** The longest one JWKS fetch may take to connect and again to read. */
        public Builder jwksFetchTimeout(Duration timeout) {
            Objects.requireNonNull(timeout, "timeout");
            if (timeout.isNegative() || timeout.toMillis() < 1 || timeout.toMillis() > Integer.MAX_VALUE) {
                throw new IllegalArgumentException("jwksFetchTimeout: " + format(timeout)
                        + " (expected: > 0 and <= " + Integer.MAX_VALUE + "ms)");
            }
            this.jwksFetchTimeout = timeout;
            return this;
        }

        /** How far {@code exp}, {@code nbf} and {@code iat} may be off; whole seconds, 60 s by default. */
        public Builder clockSkew(Duration clockSkew) {
            Objects.requireNonNull(clockSkew, "clockSkew");
            if (clockSkew.isNegative() || clockSkew.compareTo(MAX_CLOCK_SKEW) > 0) {
                throw new IllegalArgumentException("clockSkew: " + format(clockSkew)
                        + " (expected: >= 0s and <= " + format(MAX_CLOCK_SKEW) + ")");
            }
            this.clockSkew = clockSkew;
            return this;
        }

        /** The clock tokens are checked against; the system clock by default. */
        public Builder clock(Clock clock) {
            this.clock = Objects.requireNonNull(clock, "clock");
            return this;
        }

        /**
         * @throws IllegalArgumentException when no JWKS or both kinds are given, or the inline JWKS
         *     is not a set of public keys
         */
        public JwtIssuerAuthenticator build() {
            if (jwksJson != null && jwksUri != null) {
                throw new IllegalArgumentException("jwks and jwksUri: both set (expected: one)");
            }
            if (jwksJson != null) {
                return new JwtIssuerAuthenticator(this, new JwksVerificationKeyResolver(parse(jwksJson)), "inline JWKS");
            }
            if (jwksUri != null) {
                Get get = new Get();
                get.setConnectTimeout((int) jwksFetchTimeout.toMillis());
                get.setReadTimeout((int) jwksFetchTimeout.toMillis());
                // The caller retries its request; retrying here would hold it past the timeout.
                get.setRetries(0);
                if (!jwksTrustedCertificates.isEmpty()) {
                    get.setTrustedCertificates(jwksTrustedCertificates);
                }
                HttpsJwks httpsJwks = new HttpsJwks(jwksUri.toString());
                httpsJwks.setSimpleHttpGet(get);
                httpsJwks.setRetainCacheOnErrorDuration(RETAIN_KEYS_ON_ERROR_SECONDS);
                return new JwtIssuerAuthenticator(this, new HttpsJwksVerificationKeyResolver(httpsJwks),
                        jwksUri.toString());
            }
            throw new IllegalArgumentException("jwks: not set (expected: jwks(json) or jwksUri(uri))");
        }

        private static List<JsonWebKey> parse(String json) {
            List<JsonWebKey> keys;
            try {
                keys = new JsonWebKeySet(json).getJsonWebKeys();
            } catch (JoseException e) {
                throw new IllegalArgumentException("jwks: not a JSON Web Key Set: " + e.getMessage(), e);
            }
            if (keys.isEmpty()) {
                throw new IllegalArgumentException("jwks: no keys (expected: at least one)");
            }
            for (JsonWebKey key : keys) {
                // A symmetric key would let anyone who can read the configuration mint tokens, and a
                // private key means the signing key has leaked into it.
                if (!(key instanceof RsaJsonWebKey) && !(key instanceof EllipticCurveJsonWebKey)) {
                    throw new IllegalArgumentException("jwks: key " + quote(key.getKeyId()) + " has type "
                            + key.getKeyType() + " (expected: RSA or EC public keys)");
                }
                if (((PublicJsonWebKey) key).getPrivateKey() != null) {
                    throw new IllegalArgumentException("jwks: key " + quote(key.getKeyId())
                            + " contains private key material (expected: public keys only)");
                }
            }
            return keys;
        }
    }
}
