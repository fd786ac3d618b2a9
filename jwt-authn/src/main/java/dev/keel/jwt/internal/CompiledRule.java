package dev.keel.jwt.internal;

import dev.keel.policy.ClaimToHeader;
import dev.keel.policy.JWTRule;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * One {@code JWTRule}, compiled once when the policy loads: its locations, normalized audiences, key source
 * and output headers (lower case). Immutable and thread-safe.
 *
 * @param name      {@code namespace/name[index]} of the rule, for messages
 * @param issuer    the required {@code iss}; empty accepts any issuer no other rule claims
 * @param audiences normalized accepted audiences; empty accepts any
 */
public record CompiledRule(String name, String issuer, Set<String> audiences, KeySource keys, List<TokenLocation> locations,
        boolean forwardOriginalToken, String payloadHeader, List<ClaimToHeader> claimHeaders, Set<String> listClaims,
        Duration timeout) {

    /** Istio's default timeout for fetching a JWKS. */
    public static final Duration DEFAULT_TIMEOUT = Duration.ofSeconds(5);

    /** The locations of a rule: its own, or Istio's default {@code Authorization: Bearer} and {@code access_token}. */
    public static List<TokenLocation> locations(JWTRule rule) {
        List<TokenLocation> out = new java.util.ArrayList<>();
        rule.fromHeaders().forEach(h -> out.add(new TokenLocation(TokenLocation.Kind.HEADER,
                h.name().toLowerCase(Locale.ROOT), h.prefix())));
        rule.fromParams().forEach(p -> out.add(new TokenLocation(TokenLocation.Kind.PARAM, p, "")));
        rule.fromCookies().forEach(c -> out.add(new TokenLocation(TokenLocation.Kind.COOKIE, c, "")));
        if (out.isEmpty()) {
            out.add(new TokenLocation(TokenLocation.Kind.HEADER, "authorization", "Bearer "));
            out.add(new TokenLocation(TokenLocation.Kind.PARAM, "access_token", ""));
        }
        return List.copyOf(out);
    }

    /**
     * An audience as compared: Envoy's rule, scheme {@code http://} or {@code https://} and one trailing slash
     * ignored, so {@code https://api.example.com/} matches {@code api.example.com}.
     */
    public static String normalizeAudience(String audience) {
        String a = audience;
        if (a.regionMatches(true, 0, "https://", 0, 8)) {
            a = a.substring(8);
        } else if (a.regionMatches(true, 0, "http://", 0, 7)) {
            a = a.substring(7);
        }
        return a.endsWith("/") ? a.substring(0, a.length() - 1) : a;
    }
}
