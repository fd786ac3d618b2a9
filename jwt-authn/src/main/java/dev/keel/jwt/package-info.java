/**
 * Istio {@code RequestAuthentication}: JWTs found in a request are validated against the rule of
 * their issuer before authorization; results are values (ok with claims, missing, invalid with a
 * reason). Also JWT-SVID validation against a SPIFFE trust bundle.
 *
 * <pre>{@code
 * JwksCache jwks = JwksCache.create();                        // one per proxy, kept across policy updates
 * JwtAuthenticator authn = JwtAuthenticator.builder()         // rebuilt when the policies change
 *         .policies(requestAuthenticationsSelectingThisWorkload)
 *         .jwksCache(jwks)
 *         .build();
 * authn.authenticate(request).thenAccept(result -> {         // request: the proxy's JwtRequest adapter
 *     switch (result) {                                       // (Java 21 shown; on 17 use instanceof)
 *         case JwtResult.Ok ok -> apply(ok.mutations());       // request.auth.* from ok.jwt()
 *         case JwtResult.Missing m -> apply(m.mutations());    // no principal; authorization decides
 *         case JwtResult.Invalid bad -> reply401(bad.wwwAuthenticate(), bad.detail());
 *     }
 * });
 * }</pre>
 */
package dev.keel.jwt;
