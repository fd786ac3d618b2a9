package dev.keel.policy;

import java.time.Duration;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * Istio's {@code JWTRule}: how to find, verify and forward one issuer's JWTs. Empty strings stand for
 * absent fields, as in Istio. {@code jwksUri} is also read from its proto name {@code jwks_uri}.
 * Immutable and thread-safe.
 *
 * @param issuer                the {@code iss} the token must carry; may be empty when {@code jwksUri} is set
 * @param audiences             accepted {@code aud} values; empty accepts the service's own name
 * @param jwksUri               where to fetch the key set ({@code http} or {@code https})
 * @param jwks                  the key set inline, as JSON; at most one of {@code jwksUri} and {@code jwks}
 * @param fromHeaders           headers to read the token from (default: {@code Authorization: Bearer})
 * @param fromParams            query parameters to read the token from (default: {@code access_token})
 * @param outputPayloadToHeader header receiving the verified payload (base64url), or empty
 * @param forwardOriginalToken  keep the token in the upstream request
 * @param outputClaimToHeaders  claims copied to headers after verification
 * @param timeout               how long to wait for the JWKS fetch
 * @param fromCookies           cookies to read the token from
 * @param spaceDelimitedClaims  claims to treat as space-delimited lists (besides {@code scope}, {@code permission})
 */
public record JWTRule(
        String issuer,
        List<String> audiences,
        String jwksUri,
        String jwks,
        List<JWTHeader> fromHeaders,
        List<String> fromParams,
        String outputPayloadToHeader,
        boolean forwardOriginalToken,
        List<ClaimToHeader> outputClaimToHeaders,
        Optional<Duration> timeout,
        List<String> fromCookies,
        List<String> spaceDelimitedClaims) {

    public JWTRule {
        Objects.requireNonNull(issuer, "issuer");
        audiences = Models.list(audiences, "audiences");
        Objects.requireNonNull(jwksUri, "jwksUri");
        Objects.requireNonNull(jwks, "jwks");
        fromHeaders = Models.list(fromHeaders, "fromHeaders");
        fromParams = Models.list(fromParams, "fromParams");
        Objects.requireNonNull(outputPayloadToHeader, "outputPayloadToHeader");
        outputClaimToHeaders = Models.list(outputClaimToHeaders, "outputClaimToHeaders");
        Objects.requireNonNull(timeout, "timeout");
        fromCookies = Models.list(fromCookies, "fromCookies");
        spaceDelimitedClaims = Models.list(spaceDelimitedClaims, "spaceDelimitedClaims");
    }
}
