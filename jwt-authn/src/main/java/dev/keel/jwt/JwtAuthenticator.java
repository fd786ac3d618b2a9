package dev.keel.jwt;

import dev.keel.jwt.internal.CompiledRule;
import dev.keel.jwt.internal.KeySet;
import dev.keel.jwt.internal.KeySource;
import dev.keel.jwt.internal.TokenLocation;
import dev.keel.jwt.internal.TokenVerifier;
import dev.keel.policy.ClaimToHeader;
import dev.keel.policy.JWTRule;
import dev.keel.policy.RequestAuthentication;
import java.net.URI;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Istio {@code RequestAuthentication} for one workload: the {@code jwtRules} of every policy that selects it,
 * compiled once; {@link #authenticate} then handles one request.
 *
 * <ul>
 *   <li>Tokens are read from every location a rule names (default {@code Authorization: Bearer} and
 *       {@code access_token}); none found gives {@link JwtResult.Missing}, left to authorization.
 *   <li>A token is checked against the rule of its {@code iss} among the rules reading that location (the
 *       claim is only a hint until the signature verifies); an issuer no rule names is invalid.
 *   <li>Any token invalid gives {@link JwtResult.Invalid} (401); otherwise {@link JwtResult.Ok} with the first
 *       token's claims, and the header changes the rules ask for.
 * </ul>
 *
 * <p>Configuration that cannot work (a broken inline JWKS, a {@code jwksUri} that is not a URI) does not
 * throw: that rule refuses its tokens, fail closed, and {@link #warnings()} says why.
 *
 * <p>Immutable and thread-safe. {@code authenticate} never blocks: the future is already complete unless a
 * key set has to be fetched, in which case it completes on the fetcher's thread; callers on an event loop
 * hop back before touching the request.
 */
public final class JwtAuthenticator {

    private static final Logger log = LoggerFactory.getLogger(JwtAuthenticator.class);

    /** Default allowed clock skew for {@code exp} and {@code nbf}. */
    public static final Duration DEFAULT_CLOCK_SKEW = Duration.ofSeconds(60);
    /** Default maximum token length, in characters. */
    public static final int DEFAULT_MAX_TOKEN_BYTES = 16 * 1024;

    /**
     * A location with the rules reading it, and for each of those rules the header changes of a request whose
     * only token is here and writes no output headers, computed once.
     */
    private record Location(TokenLocation location, List<CompiledRule> rules, List<HeaderMutations> plainMutations) {
    }

    private record Found(String token, Location location) {
    }

    private final List<CompiledRule> rules;
    private final List<Location> locations;
    private final List<String> outputHeaders;
    private final List<String> warnings;
    private final TokenVerifier verifier;
    private final HeaderMutations missing;

    private JwtAuthenticator(Builder builder) {
        List<String> warnings = new ArrayList<>();
        List<CompiledRule> compiled = new ArrayList<>();
        for (Map.Entry<String, JWTRule> entry : builder.rules.entrySet()) {
            compiled.add(compile(entry.getKey(), entry.getValue(), builder.jwksCache, warnings));
        }
        this.rules = List.copyOf(compiled);
        Map<TokenLocation, List<CompiledRule>> byLocation = new LinkedHashMap<>();
        Set<String> outputs = new LinkedHashSet<>();
        for (CompiledRule rule : rules) {
            rule.locations().forEach(l -> byLocation.computeIfAbsent(l, k -> new ArrayList<>()).add(rule));
            if (!rule.payloadHeader().isEmpty()) {
                outputs.add(rule.payloadHeader());
            }
            rule.claimHeaders().forEach(c -> outputs.add(c.header()));
        }
        List<Location> locs = new ArrayList<>();
        this.outputHeaders = List.copyOf(outputs);
        byLocation.forEach((l, r) -> {
            List<HeaderMutations> plain = new ArrayList<>();
            r.forEach(rule -> plain.add(stripping(rule, l, outputHeaders)));
            locs.add(new Location(l, List.copyOf(r), List.copyOf(plain)));
        });
        this.locations = List.copyOf(locs);
        this.warnings = List.copyOf(warnings);
        this.missing = outputHeaders.isEmpty() ? HeaderMutations.NONE
                : new HeaderMutations(outputHeaders, Map.of(), List.of(), List.of());
        this.verifier = new TokenVerifier(builder.clock, builder.clockSkew, builder.maxTokenBytes, builder.cacheSize,
                builder.maxCacheTtl);
        this.warnings.forEach(w -> log.warn("RequestAuthentication: {}", w));
    }

    public static Builder builder() {
        return new Builder();
    }

    private static CompiledRule compile(String name, JWTRule rule, JwksCache cache, List<String> warnings) {
        Duration timeout = rule.timeout().filter(t -> !t.isNegative() && !t.isZero()).orElse(CompiledRule.DEFAULT_TIMEOUT);
        KeySource keys;
        if (!rule.jwks().isEmpty()) {
            KeySource parsed;
            try {
                KeySet set = KeySet.parse(rule.jwks());
                set.skipped().forEach(s -> warnings.add(name + ": inline jwks: skipped " + s));
                parsed = KeySource.inline(set);
            } catch (IllegalArgumentException e) {
                warnings.add(name + ": inline jwks: " + e.getMessage() + "; its tokens are refused");
                parsed = KeySource.broken(name + ": inline jwks unusable");
            }
            keys = parsed;
        } else if (!rule.jwksUri().isEmpty()) {
            URI uri;
            try {
                uri = new URI(rule.jwksUri());
            } catch (java.net.URISyntaxException e) {
                uri = null;
            }
            if (uri == null || !uri.isAbsolute()) {
                warnings.add(name + ": jwksUri is not an absolute URI; its tokens are refused");
                keys = KeySource.broken(name + ": jwksUri unusable");
            } else {
                keys = KeySource.remote(cache.forUri(uri), timeout);
            }
        } else {
            // Istio discovers jwksUri through OpenID Connect discovery here; Keel does not (yet).
            warnings.add(name + ": neither jwks nor jwksUri; its tokens are refused");
            keys = KeySource.broken(name + ": no key set configured");
        }
        Set<String> audiences = new LinkedHashSet<>();
        rule.audiences().forEach(a -> audiences.add(CompiledRule.normalizeAudience(a)));
        Set<String> listClaims = new LinkedHashSet<>(List.of("scope", "permission"));
        listClaims.addAll(rule.spaceDelimitedClaims());
        List<ClaimToHeader> claimHeaders = new ArrayList<>();
        for (ClaimToHeader c : rule.outputClaimToHeaders()) {
            if (validHeaderName(c.header()) && !c.claim().isEmpty()) {
                claimHeaders.add(new ClaimToHeader(c.header().toLowerCase(Locale.ROOT), c.claim()));
            } else {
                warnings.add(name + ": outputClaimToHeaders header \"" + HeaderMutations.sanitize(c.header()) + "\" ignored");
            }
        }
        String payloadHeader = rule.outputPayloadToHeader();
        if (!payloadHeader.isEmpty() && !validHeaderName(payloadHeader)) {
            warnings.add(name + ": outputPayloadToHeader \"" + HeaderMutations.sanitize(payloadHeader) + "\" ignored");
            payloadHeader = "";
        }
        return new CompiledRule(name, rule.issuer(), Set.copyOf(audiences), keys, CompiledRule.locations(rule),
                rule.forwardOriginalToken(), payloadHeader.toLowerCase(Locale.ROOT), List.copyOf(claimHeaders),
                Set.copyOf(listClaims), timeout);
    }

    /** An RFC 9110 token, and not a pseudo-header or a hop-by-hop or framing header. */
    private static boolean validHeaderName(String name) {
        if (name.isEmpty()) {
            return false;
        }
        for (int i = 0; i < name.length(); i++) {
            char c = name.charAt(i);
            boolean tchar = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
                    || "!#$%&'*+-.^_`|~".indexOf(c) >= 0;
            if (!tchar) {
                return false;
            }
        }
        String lower = name.toLowerCase(Locale.ROOT);
        return !Set.of("host", "content-length", "transfer-encoding", "connection", "te", "upgrade", "authorization",
                "cookie", "x-forwarded-client-cert").contains(lower);
    }

    private static HeaderMutations stripping(CompiledRule rule, TokenLocation location, List<String> outputHeaders) {
        List<String> headers = new ArrayList<>(outputHeaders);
        List<String> params = new ArrayList<>();
        List<String> cookies = new ArrayList<>();
        if (!rule.forwardOriginalToken()) {
            List<String> target = location.kind() == TokenLocation.Kind.HEADER ? headers
                    : location.kind() == TokenLocation.Kind.PARAM ? params : cookies;
            if (!target.contains(location.name())) {
                target.add(location.name());
            }
        }
        return new HeaderMutations(headers, Map.of(), params, cookies);
    }

    /** Why some rules cannot accept any token; empty when every rule is usable. */
    public List<String> warnings() {
        return warnings;
    }

    /**
     * Authenticates one request. See the class comment for the threading contract. The future never completes
     * exceptionally: an unexpected failure is {@link JwtResult.Reason#INTERNAL_ERROR}, refused.
     */
    public CompletableFuture<JwtResult> authenticate(JwtRequest request) {
        CompletableFuture<JwtResult> result;
        try {
            result = authenticateUnguarded(request);
        } catch (RuntimeException e) {
            result = CompletableFuture.failedFuture(e);
        }
        if (result.isDone() && !result.isCompletedExceptionally()) {
            return result;
        }
        return result.exceptionally(JwtAuthenticator::internalError);
    }

    private static JwtResult internalError(Throwable error) {
        log.error("JWT verification failed unexpectedly; request refused", error);
        return new JwtResult.Invalid(JwtResult.Reason.INTERNAL_ERROR, "verification failed: " + error.getClass().getSimpleName());
    }

    private CompletableFuture<JwtResult> authenticateUnguarded(JwtRequest request) {
        Objects.requireNonNull(request, "request");
        List<Found> found = null;
        for (Location location : locations) {
            for (String token : location.location().tokens(request)) {
                if (found == null) {
                    found = new ArrayList<>(2);
                }
                found.add(new Found(token, location));
            }
        }
        if (found == null) {
            return CompletableFuture.completedFuture(new JwtResult.Missing(missing));
        }
        if (found.size() == 1) {
            Found only = found.get(0);
            CompletableFuture<TokenVerifier.Outcome> outcome = verifier.verify(only.token(), only.location().rules());
            if (outcome.isDone() && !outcome.isCompletedExceptionally()) {
                return CompletableFuture.completedFuture(combine(List.of(only), List.of(outcome.join())));
            }
            return outcome.thenApply(o -> combine(List.of(only), List.of(o)));
        }
        List<Found> all = found;
        List<CompletableFuture<TokenVerifier.Outcome>> futures = new ArrayList<>(all.size());
        for (Found f : all) {
            futures.add(verifier.verify(f.token(), f.location().rules()));
        }
        return CompletableFuture.allOf(futures.toArray(new CompletableFuture<?>[0])).thenApply(done -> {
            List<TokenVerifier.Outcome> outcomes = new ArrayList<>(futures.size());
            futures.forEach(f -> outcomes.add(f.join()));
            return combine(all, outcomes);
        });
    }

    private JwtResult combine(List<Found> found, List<TokenVerifier.Outcome> outcomes) {
        for (int i = 0; i < outcomes.size(); i++) {
            TokenVerifier.Outcome outcome = outcomes.get(i);
            if (outcome.rejected() != null) {
                if (log.isDebugEnabled()) {
                    log.debug("token {} at {} refused: {} {}", TokenVerifier.tokenHash(found.get(i).token()),
                            found.get(i).location().location(), outcome.rejected().reason(), outcome.rejected().getMessage());
                }
                return outcome.rejected().toResult();
            }
        }
        if (outcomes.size() == 1) {
            TokenVerifier.Verified only = outcomes.get(0).verified();
            CompiledRule rule = only.rule();
            if (rule.payloadHeader().isEmpty() && rule.claimHeaders().isEmpty()) {
                Location location = found.get(0).location();
                return new JwtResult.Ok(only.jwt(), location.plainMutations().get(indexOf(location.rules(), rule)));
            }
        }
        List<String> removeHeaders = new ArrayList<>(outputHeaders);
        List<String> removeParams = new ArrayList<>(0);
        List<String> removeCookies = new ArrayList<>(0);
        Map<String, String> set = new LinkedHashMap<>();
        for (int i = 0; i < outcomes.size(); i++) {
            TokenVerifier.Verified verified = outcomes.get(i).verified();
            CompiledRule rule = verified.rule();
            TokenLocation location = found.get(i).location().location();
            if (!rule.forwardOriginalToken()) {
                List<String> target = location.kind() == TokenLocation.Kind.HEADER ? removeHeaders
                        : location.kind() == TokenLocation.Kind.PARAM ? removeParams : removeCookies;
                if (!target.contains(location.name())) {
                    target.add(location.name());
                }
            }
            if (!rule.payloadHeader().isEmpty()) {
                set.putIfAbsent(rule.payloadHeader(), verified.payloadSegment());
            }
            for (ClaimToHeader c : rule.claimHeaders()) {
                verified.jwt().claim(c.claim()).map(JwtAuthenticator::headerValue)
                        .ifPresent(v -> set.putIfAbsent(c.header(), v));
            }
        }
        return new JwtResult.Ok(outcomes.get(0).verified().jwt(),
                new HeaderMutations(removeHeaders, set, removeParams, removeCookies));
    }

    private static int indexOf(List<CompiledRule> rules, CompiledRule rule) {
        for (int i = 0; i < rules.size(); i++) {
            if (rules.get(i) == rule) {
                return i;
            }
        }
        throw new IllegalStateException("rule not at its location");
    }

    /** Strings, numbers and booleans as text; lists of them comma-joined (Envoy's rule); objects not at all. */
    private static String headerValue(Object claim) {
        if (claim instanceof String || claim instanceof Number || claim instanceof Boolean) {
            return HeaderMutations.sanitize(String.valueOf(claim));
        }
        if (claim instanceof List) {
            StringBuilder joined = new StringBuilder();
            for (Object element : (List<?>) claim) {
                if (element instanceof String || element instanceof Number || element instanceof Boolean) {
                    joined.append(joined.length() == 0 ? "" : ",").append(element);
                }
            }
            return HeaderMutations.sanitize(joined.toString());
        }
        return null;
    }

    /** Builds a {@link JwtAuthenticator}. Not thread-safe; the policies passed are only read. */
    public static final class Builder {

        private final Map<String, JWTRule> rules = new LinkedHashMap<>();
        private JwksCache jwksCache;
        private Clock clock = Clock.systemUTC();
        private Duration clockSkew = DEFAULT_CLOCK_SKEW;
        private int maxTokenBytes = DEFAULT_MAX_TOKEN_BYTES;
        private long cacheSize = VerifiedTokenCacheLimits.DEFAULT_SIZE;
        private Duration maxCacheTtl = VerifiedTokenCacheLimits.DEFAULT_MAX_TTL;

        Builder() {
        }

        /** Adds the rules of a policy that selects this workload. */
        public Builder policy(RequestAuthentication policy) {
            Objects.requireNonNull(policy, "policy");
            List<JWTRule> jwtRules = policy.jwtRules();
            for (int i = 0; i < jwtRules.size(); i++) {
                rules.put(policy.metadata().qualifiedName() + ".jwtRules[" + i + "]", jwtRules.get(i));
            }
            return this;
        }

        /** Adds the rules of every policy. */
        public Builder policies(List<RequestAuthentication> policies) {
            Objects.requireNonNull(policies, "policies").forEach(this::policy);
            return this;
        }

        /**
         * Adds the rules of the policies that select a workload's proxy, in namespace/name order: those in its
         * {@code namespace} or in {@code rootNamespace} whose selector matches its {@code labels} (an empty or
         * absent selector matches all). Policies attached by {@code targetRef}/{@code targetRefs} (gateways,
         * waypoints) do not apply to a workload's own proxy.
         */
        public Builder policiesSelecting(List<RequestAuthentication> policies, String namespace, Map<String, String> labels,
                String rootNamespace) {
            Objects.requireNonNull(policies, "policies");
            Objects.requireNonNull(namespace, "namespace");
            Objects.requireNonNull(labels, "labels");
            Objects.requireNonNull(rootNamespace, "rootNamespace");
            List<RequestAuthentication> selected = new ArrayList<>();
            for (RequestAuthentication p : policies) {
                if (selects(p, namespace, labels, rootNamespace)) {
                    selected.add(p);
                }
            }
            selected.sort(java.util.Comparator.comparing((RequestAuthentication p) -> p.metadata().namespace())
                    .thenComparing(p -> p.metadata().name()));
            return policies(selected);
        }

        private static boolean selects(RequestAuthentication p, String namespace, Map<String, String> labels,
                String rootNamespace) {
            if (p.targetRef().isPresent() || !p.targetRefs().isEmpty()) {
                return false;
            }
            String ns = p.metadata().namespace();
            if (!ns.equals(rootNamespace) && !ns.equals(namespace)) {
                return false;
            }
            if (p.selector().isEmpty()) {
                return true;
            }
            for (Map.Entry<String, String> e : p.selector().get().matchLabels().entrySet()) {
                if (!e.getValue().equals(labels.get(e.getKey()))) {
                    return false;
                }
            }
            return true;
        }

        /** Adds one rule, named {@code name} in messages. */
        public Builder rule(String name, JWTRule rule) {
            rules.put(Objects.requireNonNull(name, "name"), Objects.requireNonNull(rule, "rule"));
            return this;
        }

        /** The remote key sets, shared across authenticators; a private {@link JwksCache#create()} otherwise. */
        public Builder jwksCache(JwksCache jwksCache) {
            this.jwksCache = Objects.requireNonNull(jwksCache, "jwksCache");
            return this;
        }

        public Builder clock(Clock clock) {
            this.clock = Objects.requireNonNull(clock, "clock");
            return this;
        }

        /** How far {@code exp} may have passed and {@code nbf} may lie ahead: 60 seconds unless set. */
        public Builder clockSkew(Duration clockSkew) {
            Objects.requireNonNull(clockSkew, "clockSkew");
            if (clockSkew.isNegative() || clockSkew.compareTo(Duration.ofMinutes(10)) > 0) {
                throw new IllegalArgumentException("clockSkew: " + clockSkew + " (expected: 0s to 10m)");
            }
            this.clockSkew = clockSkew;
            return this;
        }

        /** Longer tokens are refused unread: 16 KiB unless set. */
        public Builder maxTokenBytes(int maxTokenBytes) {
            if (maxTokenBytes < 64) {
                throw new IllegalArgumentException("maxTokenBytes: " + maxTokenBytes + " (expected: >= 64)");
            }
            this.maxTokenBytes = maxTokenBytes;
            return this;
        }

        /** How many verified tokens to remember (by SHA-256); 0 disables the cache. 10,000 unless set. */
        public Builder verifiedTokenCacheSize(long cacheSize) {
            this.cacheSize = VerifiedTokenCacheLimits.checkSize(cacheSize);
            return this;
        }

        /**
         * How long a verified token is remembered at most, even before its {@code exp}: bounds how long a key
         * removed from the issuer's set keeps validating cached tokens. 5 minutes unless set.
         */
        public Builder maxCacheTtl(Duration maxCacheTtl) {
            this.maxCacheTtl = VerifiedTokenCacheLimits.checkMaxTtl(maxCacheTtl);
            return this;
        }

        public JwtAuthenticator build() {
            if (jwksCache == null) {
                jwksCache = JwksCache.builder().clock(clock).build();
            }
            return new JwtAuthenticator(this);
        }
    }
}
