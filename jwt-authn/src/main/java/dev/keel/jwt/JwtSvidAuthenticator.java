package dev.keel.jwt;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import dev.keel.identity.Bundle;
import dev.keel.identity.BundleSource;
import dev.keel.identity.JwtSvid;
import dev.keel.identity.JwtSvidValidationException;
import dev.keel.identity.JwtSvidVerifier;
import dev.keel.identity.TrustDomain;
import dev.keel.jwt.internal.TokenDigest;
import dev.keel.jwt.internal.TokenLocation;
import dev.keel.policy.JWTHeader;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;

/**
 * Authenticates requests carrying a JWT-SVID: identity-core's {@link JwtSvidVerifier} validates it per the
 * JWT-SVID specification (signature under a JWT authority of the bundle of {@code sub}'s trust domain,
 * audience required and containing {@code audience}, {@code exp} required, no leeway); this class finds the
 * token in the request, accepts only subjects of the configured trust domains, and caches verified tokens
 * by their SHA-256 until {@code exp}, re-verifying as soon as the trust domain's bundle changes.
 *
 * <p>Results are those of {@link JwtAuthenticator}: {@link JwtResult.Missing} without a token,
 * {@link JwtResult.Invalid} (401) for a bad one, {@link JwtResult.Ok} whose principal is the SPIFFE ID.
 *
 * <p>Immutable and thread-safe; never blocks (bundles come from the {@link BundleSource}, which must not).
 */
public final class JwtSvidAuthenticator {

    private record Entry(VerifiedJwt jwt, Bundle bundle, TrustDomain trustDomain, long exp) {
    }

    private final JwtSvidVerifier verifier;
    private final BundleSource bundles;
    private final Set<TrustDomain> trustDomains;
    private final String audience;
    private final List<TokenLocation> locations;
    private final boolean forward;
    private final Clock clock;
    private final Cache<TokenDigest, Entry> cache;

    private JwtSvidAuthenticator(Builder builder) {
        this.trustDomains = Set.copyOf(builder.trustDomains);
        this.bundles = trustDomain -> trustDomains.contains(trustDomain) ? builder.bundles.bundleFor(trustDomain)
                : Optional.empty();
        this.verifier = JwtSvidVerifier.create(bundles, builder.clock);
        this.audience = builder.audience;
        this.locations = builder.headers.isEmpty()
                ? List.of(new TokenLocation(TokenLocation.Kind.HEADER, "authorization", "Bearer "))
                : builder.headers.stream().map(h -> new TokenLocation(TokenLocation.Kind.HEADER,
                        h.name().toLowerCase(Locale.ROOT), h.prefix())).toList();
        this.forward = builder.forward;
        this.clock = builder.clock;
        // exp and the bundle are checked on every hit; the write expiry only bounds how long entries stay.
        this.cache = builder.cacheSize == 0 ? null : Caffeine.newBuilder().maximumSize(builder.cacheSize)
                .expireAfterWrite(builder.maxCacheTtl).build();
    }

    /**
     * A builder accepting JWT-SVIDs of {@code trustDomain} for {@code audience} (the SPIFFE ID or name this
     * workload identifies as), bundles from {@code bundles}.
     */
    public static Builder builder(BundleSource bundles, TrustDomain trustDomain, String audience) {
        return new Builder(bundles, trustDomain, audience);
    }

    /** Authenticates one request: every JWT-SVID found must verify; the first one is the result's. */
    public JwtResult authenticate(JwtRequest request) {
        Objects.requireNonNull(request, "request");
        JwtResult first = null;
        List<String> strip = new ArrayList<>(1);
        for (TokenLocation location : locations) {
            for (String token : location.tokens(request)) {
                JwtResult result = verify(token);
                if (result instanceof JwtResult.Invalid) {
                    return result;
                }
                first = first == null ? result : first;
                if (!forward && !strip.contains(location.name())) {
                    strip.add(location.name());
                }
            }
        }
        if (first == null) {
            return new JwtResult.Missing(HeaderMutations.NONE);
        }
        return new JwtResult.Ok(((JwtResult.Ok) first).jwt(), strip.isEmpty() ? HeaderMutations.NONE
                : new HeaderMutations(strip, java.util.Map.of(), List.of(), List.of()));
    }

    /** Verifies one JWT-SVID, from the cache when it was verified before under the current bundle. */
    public JwtResult verify(String token) {
        Objects.requireNonNull(token, "token");
        TokenDigest digest = TokenDigest.of(token);
        if (cache != null) {
            Entry hit = cache.getIfPresent(digest);
            if (hit != null && clock.instant().getEpochSecond() < hit.exp()
                    && bundles.bundleFor(hit.trustDomain()).orElse(null) == hit.bundle()) {
                return new JwtResult.Ok(hit.jwt(), HeaderMutations.NONE);
            }
        }
        JwtSvid svid;
        try {
            svid = verifier.verify(token, audience);
        } catch (JwtSvidValidationException e) {
            return new JwtResult.Invalid(reason(e.rule()), e.getMessage());
        } catch (RuntimeException e) {
            return new JwtResult.Invalid(JwtResult.Reason.MALFORMED, "JWT-SVID rejected: " + e.getClass().getSimpleName());
        }
        TrustDomain trustDomain = svid.spiffeId().trustDomain();
        Object iss = svid.claims().get("iss");
        Object azp = svid.claims().get("azp");
        VerifiedJwt jwt = new VerifiedJwt(svid.spiffeId().toString(), iss instanceof String ? (String) iss : "",
                svid.spiffeId().toString(), svid.audience(), azp instanceof String ? Optional.of((String) azp) : Optional.empty(),
                svid.claims(), Optional.of(svid.expiry()), digest.shortHex(), Set.of("scope", "permission"));
        if (cache != null) {
            Bundle bundle = bundles.bundleFor(trustDomain).orElse(null);
            if (bundle != null) {
                cache.put(digest, new Entry(jwt, bundle, trustDomain, svid.expiry().getEpochSecond()));
            }
        }
        return new JwtResult.Ok(jwt, HeaderMutations.NONE);
    }

    private static JwtResult.Reason reason(JwtSvidValidationException.Rule rule) {
        switch (rule) {
            case TOO_LONG:
                return JwtResult.Reason.TOO_LARGE;
            case ALGORITHM:
                return JwtResult.Reason.UNSUPPORTED_ALGORITHM;
            case NO_BUNDLE:
                return JwtResult.Reason.UNKNOWN_ISSUER;
            case UNKNOWN_KEY:
                return JwtResult.Reason.UNKNOWN_KEY;
            case WEAK_KEY:
                return JwtResult.Reason.KEY_MISMATCH;
            case SIGNATURE:
                return JwtResult.Reason.BAD_SIGNATURE;
            case AUDIENCE:
                return JwtResult.Reason.AUDIENCE_MISMATCH;
            case EXPIRED:
                return JwtResult.Reason.EXPIRED;
            case NOT_YET_VALID:
                return JwtResult.Reason.NOT_YET_VALID;
            default:
                return JwtResult.Reason.MALFORMED;
        }
    }

    /** Builds a {@link JwtSvidAuthenticator}. Not thread-safe. */
    public static final class Builder {

        private final BundleSource bundles;
        private final Set<TrustDomain> trustDomains = new LinkedHashSet<>();
        private final String audience;
        private final List<JWTHeader> headers = new ArrayList<>();
        private boolean forward = true;
        private Clock clock = Clock.systemUTC();
        private long cacheSize = VerifiedTokenCacheLimits.DEFAULT_SIZE;
        private Duration maxCacheTtl = VerifiedTokenCacheLimits.DEFAULT_MAX_TTL;

        Builder(BundleSource bundles, TrustDomain trustDomain, String audience) {
            this.bundles = Objects.requireNonNull(bundles, "bundles");
            trustDomains.add(Objects.requireNonNull(trustDomain, "trustDomain"));
            this.audience = Objects.requireNonNull(audience, "audience");
            if (audience.isEmpty()) {
                throw new IllegalArgumentException("audience: empty (expected: the audience this workload identifies as)");
            }
        }

        /** Also accepts subjects of {@code trustDomain} (federation), with its bundle from the same source. */
        public Builder federatedWith(TrustDomain trustDomain) {
            trustDomains.add(Objects.requireNonNull(trustDomain, "trustDomain"));
            return this;
        }

        /** Reads the token from this header instead of {@code Authorization: Bearer}; repeatable. */
        public Builder fromHeader(JWTHeader header) {
            headers.add(Objects.requireNonNull(header, "header"));
            return this;
        }

        /** Whether the token stays in the request passed on (default true; false strips its header). */
        public Builder forwardOriginalToken(boolean forward) {
            this.forward = forward;
            return this;
        }

        public Builder clock(Clock clock) {
            this.clock = Objects.requireNonNull(clock, "clock");
            return this;
        }

        /** How many verified tokens to remember; 0 disables the cache. 10,000 unless set. */
        public Builder verifiedTokenCacheSize(long cacheSize) {
            this.cacheSize = VerifiedTokenCacheLimits.checkSize(cacheSize);
            return this;
        }

        /** How long a verified token is remembered at most, even before its {@code exp}: 5 minutes unless set. */
        public Builder maxCacheTtl(Duration maxCacheTtl) {
            this.maxCacheTtl = VerifiedTokenCacheLimits.checkMaxTtl(maxCacheTtl);
            return this;
        }

        public JwtSvidAuthenticator build() {
            return new JwtSvidAuthenticator(this);
        }
    }

    @Override
    public String toString() {
        return "JwtSvidAuthenticator{trustDomains=" + trustDomains + ", audience=" + audience + "}";
    }
}
