package dev.keel.jwt.internal;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import dev.keel.jwt.JwtResult.Reason;
import dev.keel.jwt.VerifiedJwt;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;

/**
 * Verifies one token against the rules of the location it was found in: parse, refuse what is never
 * accepted, pick the rule of its {@code iss}, check times and audiences, then the signature under the rule's
 * keys. Verified tokens are kept in a bounded cache keyed by the token's SHA-256 (never the token) for
 * {@code maxCacheTtl}; a hit counts only while the token's {@code exp} and {@code nbf} still hold. Thread-safe; blocks never, fetches through
 * the rule's key source when it must.
 */
public final class TokenVerifier {

    /** A token that passed, with the rule that accepted it. */
    public record Verified(CompiledRule rule, VerifiedJwt jwt, String payloadSegment, long exp, long nbf) {
    }

    /** A verification outcome: exactly one of {@code verified} and {@code rejected} is set. */
    public record Outcome(Verified verified, TokenRejected rejected) {
    }

    private static final int MAX_KEYS_TRIED = 8;

    private final Clock clock;
    private final long skewSeconds;
    private final int maxTokenBytes;
    private final Cache<TokenDigest, Verified> cache;

    public TokenVerifier(Clock clock, Duration skew, int maxTokenBytes, long cacheSize, Duration maxCacheTtl) {
        this.clock = clock;
        this.skewSeconds = skew.toSeconds();
        this.maxTokenBytes = maxTokenBytes;
        // A fixed write expiry keeps reads at Caffeine's fastest; exp (and nbf) are checked on every hit.
        this.cache = cacheSize <= 0 ? null : Caffeine.newBuilder().maximumSize(cacheSize)
                .expireAfterWrite(maxCacheTtl).build();
    }

    /** Verifies {@code token} found at a location read by {@code rules}. */
    public CompletableFuture<Outcome> verify(String token, List<CompiledRule> rules) {
        TokenDigest key = TokenDigest.of(token);
        if (cache != null) {
            Verified hit = cache.getIfPresent(key);
            if (hit != null && containsSame(rules, hit.rule()) && timely(hit.exp(), hit.nbf())) {
                return CompletableFuture.completedFuture(new Outcome(hit, null));
            }
        }
        String tokenHash = key.shortHex();
        try {
            ParsedJwt jwt = ParsedJwt.parse(token, maxTokenBytes);
            JwsAlgorithm algorithm = algorithm(jwt);
            CompiledRule rule = rule(jwt, rules);
            long exp = optionalDate(jwt, "exp", Long.MAX_VALUE);
            long nbf = optionalDate(jwt, "nbf", Long.MIN_VALUE);
            checkTimes(exp, nbf);
            List<String> audiences = audiences(jwt, rule);
            String kid = jwt.headerString("kid");
            String subject = jwt.claimString("sub");
            String presenter = jwt.claimString("azp");
            String issuer = jwt.claimString("iss");
            return rule.keys().keys().thenCompose(keys -> signature(jwt, algorithm, kid, rule, keys, true)).thenApply(refusal -> {
                if (refusal != null) {
                    return new Outcome(null, refusal);
                }
                String iss = issuer == null ? "" : issuer;
                String sub = subject == null ? "" : subject;
                VerifiedJwt verified = new VerifiedJwt(iss + "/" + sub, iss, sub,
                        audiences, Optional.ofNullable(presenter), frozen(jwt.payload()),
                        exp == Long.MAX_VALUE ? Optional.empty() : Optional.of(Instant.ofEpochSecond(exp)), tokenHash,
                        rule.listClaims());
                Verified entry = new Verified(rule, verified, jwt.payloadSegment(), exp, nbf);
                if (cache != null) {
                    cache.put(key, entry);
                }
                return new Outcome(entry, null);
            });
        } catch (TokenRejected e) {
            return CompletableFuture.completedFuture(new Outcome(null, e));
        }
    }

    private static boolean containsSame(List<CompiledRule> rules, CompiledRule rule) {
        for (int i = 0; i < rules.size(); i++) {
            if (rules.get(i) == rule) {
                return true;
            }
        }
        return false;
    }

    /** Hex of the first 8 bytes of the token's SHA-256: how logs name a token. */
    public static String tokenHash(String token) {
        return TokenDigest.of(token).shortHex();
    }

    private boolean timely(long exp, long nbf) {
        long now = clock.instant().getEpochSecond();
        return (exp == Long.MAX_VALUE || now <= exp + skewSeconds) && (nbf == Long.MIN_VALUE || now >= nbf - skewSeconds);
    }

    private static JwsAlgorithm algorithm(ParsedJwt jwt) throws TokenRejected {
        Object alg = jwt.header().get("alg");
        if (!(alg instanceof String)) {
            throw new TokenRejected(Reason.MALFORMED, "header alg: missing or not a string");
        }
        String name = (String) alg;
        if (name.equalsIgnoreCase("none")) {
            throw new TokenRejected(Reason.UNSUPPORTED_ALGORITHM, "alg none refused: tokens must be signed");
        }
        if (name.startsWith("HS")) {
            throw new TokenRejected(Reason.UNSUPPORTED_ALGORITHM, "alg " + name + " refused: HMAC never verifies under a public key");
        }
        JwsAlgorithm algorithm = JwsAlgorithm.of(name);
        if (algorithm == null) {
            throw new TokenRejected(Reason.UNSUPPORTED_ALGORITHM, "alg " + truncate(name)
                    + " (expected: RS256/384/512, PS256/384/512, ES256/384/512 or EdDSA)");
        }
        if (jwt.header().containsKey("crit")) {
            throw new TokenRejected(Reason.CRITICAL_HEADER, "crit " + truncate(String.valueOf(jwt.header().get("crit")))
                    + ": no critical extension is understood");
        }
        if (jwt.header().containsKey("enc") || jwt.header().containsKey("zip")) {
            throw new TokenRejected(Reason.MALFORMED, "encrypted or compressed tokens are not accepted");
        }
        return algorithm;
    }

    private static CompiledRule rule(ParsedJwt jwt, List<CompiledRule> rules) throws TokenRejected {
        String iss = jwt.claimString("iss");
        CompiledRule any = null;
        for (CompiledRule rule : rules) {
            if (rule.issuer().isEmpty()) {
                any = any == null ? rule : any;
            } else if (rule.issuer().equals(iss)) {
                return rule;
            }
        }
        if (any != null) {
            return any;
        }
        throw new TokenRejected(Reason.UNKNOWN_ISSUER, iss == null ? "no iss claim"
                : "issuer " + truncate(iss) + " is not accepted at this location");
    }

    private static long optionalDate(ParsedJwt jwt, String name, long absent) throws TokenRejected {
        Long value = jwt.numericDate(name);
        return value == null ? absent : value;
    }

    private void checkTimes(long exp, long nbf) throws TokenRejected {
        long now = clock.instant().getEpochSecond();
        if (exp != Long.MAX_VALUE && now > exp + skewSeconds) {
            throw new TokenRejected(Reason.EXPIRED, "expired at " + Instant.ofEpochSecond(exp));
        }
        if (nbf != Long.MIN_VALUE && now < nbf - skewSeconds) {
            throw new TokenRejected(Reason.NOT_YET_VALID, "not valid before " + Instant.ofEpochSecond(nbf));
        }
    }

    private static List<String> audiences(ParsedJwt jwt, CompiledRule rule) throws TokenRejected {
        Object aud = jwt.payload().get("aud");
        List<String> audiences;
        if (aud == null) {
            audiences = List.of();
        } else if (aud instanceof String) {
            audiences = List.of((String) aud);
        } else if (aud instanceof List) {
            audiences = new ArrayList<>();
            for (Object element : (List<?>) aud) {
                if (!(element instanceof String)) {
                    throw new TokenRejected(Reason.MALFORMED, "claim aud: not a string or an array of strings");
                }
                audiences.add((String) element);
            }
        } else {
            throw new TokenRejected(Reason.MALFORMED, "claim aud: not a string or an array of strings");
        }
        if (!rule.audiences().isEmpty()) {
            boolean match = false;
            for (String audience : audiences) {
                match |= rule.audiences().contains(CompiledRule.normalizeAudience(audience));
            }
            if (!match) {
                throw new TokenRejected(Reason.AUDIENCE_MISMATCH, "audiences " + truncate(audiences.toString())
                        + " (expected one of: " + rule.audiences() + ")");
            }
        }
        return audiences;
    }

    /** Completes with null when the signature verifies under a fitting key, else with the refusal. */
    private CompletableFuture<TokenRejected> signature(ParsedJwt jwt, JwsAlgorithm algorithm, String kid, CompiledRule rule,
            KeySet keys, boolean mayRefresh) {
        if (keys == null) {
            return rejected(Reason.JWKS_UNAVAILABLE, rule.keys().unavailable());
        }
        List<VerificationKey> candidates = keys.byKid(kid);
        if (candidates.isEmpty()) {
            if (mayRefresh && kid != null) {
                return rule.keys().refreshForUnknownKid(keys)
                        .thenCompose(fresh -> signature(jwt, algorithm, kid, rule, fresh, false));
            }
            return rejected(Reason.UNKNOWN_KEY, kid == null ? "no key in the set" : "kid " + truncate(kid) + " not in the key set");
        }
        String misfit = null;
        int tried = 0;
        for (VerificationKey key : candidates) {
            String why = key.misfit(algorithm);
            if (why != null) {
                misfit = misfit == null ? why : misfit;
                continue;
            }
            if (tried++ >= MAX_KEYS_TRIED) {
                break;
            }
            if (key.verify(algorithm, jwt.signingInput(), jwt.signature())) {
                return CompletableFuture.completedFuture(null);
            }
        }
        if (tried == 0) {
            return rejected(Reason.KEY_MISMATCH, misfit);
        }
        return rejected(Reason.BAD_SIGNATURE, "signature does not verify");
    }

    private static CompletableFuture<TokenRejected> rejected(Reason reason, String detail) {
        return CompletableFuture.completedFuture(new TokenRejected(reason, detail));
    }

    private static String truncate(String s) {
        String safe = s.length() > 64 ? s.substring(0, 64) + "..." : s;
        return dev.keel.jwt.HeaderMutations.sanitize(safe);
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> frozen(Map<String, Object> map) {
        Map<String, Object> copy = new LinkedHashMap<>();
        map.forEach((k, v) -> copy.put(k, freeze(v)));
        return Collections.unmodifiableMap(copy);
    }

    @SuppressWarnings("unchecked")
    private static Object freeze(Object value) {
        if (value instanceof Map) {
            return frozen((Map<String, Object>) value);
        }
        if (value instanceof List) {
            List<Object> copy = new ArrayList<>();
            for (Object element : (List<Object>) value) {
                copy.add(freeze(element));
            }
            return Collections.unmodifiableList(copy);
        }
        return value;
    }
}
