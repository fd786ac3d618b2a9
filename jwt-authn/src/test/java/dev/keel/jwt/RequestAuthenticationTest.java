package dev.keel.jwt;

import static dev.keel.jwt.TestIssuer.bearer;
import static org.assertj.core.api.Assertions.assertThat;

import dev.keel.jwt.JwtResult.Reason;
import dev.keel.policy.ApiVersion;
import dev.keel.policy.ClaimToHeader;
import dev.keel.policy.JWTHeader;
import dev.keel.policy.JWTRule;
import dev.keel.policy.PolicyMetadata;
import dev.keel.policy.RequestAuthentication;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** Istio's RequestAuthentication semantics: where tokens are read, which rule checks them, what comes out. */
class RequestAuthenticationTest {

    private final TestIssuer foo = new TestIssuer("issuer-foo");
    private final TestIssuer bar = new TestIssuer("issuer-bar");

    RequestAuthenticationTest() {
        foo.addKey("foo-1", "ES256");
        bar.addKey("bar-1", "RS256");
    }

    private static JwtResult run(JwtAuthenticator authenticator, JwtRequest request) {
        return authenticator.authenticate(request).join();
    }

    private static JwtResult.Ok ok(JwtResult result) {
        assertThat(result).isInstanceOf(JwtResult.Ok.class);
        return (JwtResult.Ok) result;
    }

    private static JwtResult.Invalid invalid(JwtResult result) {
        assertThat(result).isInstanceOf(JwtResult.Invalid.class);
        return (JwtResult.Invalid) result;
    }

    @Test
    void aRequestWithoutATokenPassesWithoutPrincipal() {
        JwtAuthenticator authenticator = JwtAuthenticator.builder().rule("foo", foo.inlineRule()).build();
        assertThat(run(authenticator, JwtRequest.builder().build())).isInstanceOf(JwtResult.Missing.class);
        // Basic credentials are not a bearer token.
        assertThat(run(authenticator, JwtRequest.builder().header("authorization", "Basic YTpi").build()))
                .isInstanceOf(JwtResult.Missing.class);
    }

    @Test
    void defaultLocationsAreAuthorizationBearerAndAccessToken() {
        JwtAuthenticator authenticator = JwtAuthenticator.builder().rule("foo", foo.inlineRule()).build();
        assertThat(ok(run(authenticator, bearer(foo.token()))).jwt().principal()).isEqualTo("issuer-foo/alice");
        assertThat(run(authenticator, JwtRequest.builder().header("AUTHORIZATION", "bearer " + foo.token()).build()))
                .isInstanceOf(JwtResult.Ok.class);
        assertThat(run(authenticator, JwtRequest.builder().rawQuery("a=1&access_token=" + foo.token()).build()))
                .isInstanceOf(JwtResult.Ok.class);
    }

    @Test
    void anInvalidTokenIsRejectedWhateverElseIsThere() {
        JwtAuthenticator authenticator = JwtAuthenticator.builder().rule("foo", foo.inlineRule()).build();
        JwtResult.Invalid result = invalid(run(authenticator, bearer("garbage")));
        assertThat(result.reason()).isEqualTo(Reason.MALFORMED);
        // A valid token in one place does not excuse an invalid one in another.
        JwtRequest both = JwtRequest.builder().header("authorization", "Bearer " + foo.token())
                .queryParam("access_token", "garbage").build();
        assertThat(invalid(run(authenticator, both)).reason()).isEqualTo(Reason.MALFORMED);
        assertThat(invalid(run(authenticator, JwtRequest.builder().header("authorization", "Bearer ").build())).reason())
                .isEqualTo(Reason.MALFORMED);
    }

    @Test
    void customHeadersParamsAndCookies() {
        JWTRule rule = TestIssuer.withLocations(foo.inlineRule(), List.of(new JWTHeader("x-jwt", "Token ")),
                List.of("jwt"), List.of("session"));
        JwtAuthenticator authenticator = JwtAuthenticator.builder().rule("foo", rule).build();
        String token = foo.token();
        assertThat(run(authenticator, JwtRequest.builder().header("X-Jwt", "Token " + token).build()))
                .isInstanceOf(JwtResult.Ok.class);
        assertThat(run(authenticator, JwtRequest.builder().header("x-jwt", token).build())).isInstanceOf(JwtResult.Missing.class);
        assertThat(run(authenticator, JwtRequest.builder().queryParam("jwt", token).build())).isInstanceOf(JwtResult.Ok.class);
        assertThat(run(authenticator, JwtRequest.builder().header("cookie", "a=b; session=" + token + "; c=d").build()))
                .isInstanceOf(JwtResult.Ok.class);
        // The default locations are not read once the rule names its own.
        assertThat(run(authenticator, bearer(token))).isInstanceOf(JwtResult.Missing.class);
    }

    @Test
    void eachTokenIsCheckedAgainstTheRuleOfItsIssuer() {
        JwtAuthenticator authenticator = JwtAuthenticator.builder().rule("foo", foo.inlineRule()).rule("bar", bar.inlineRule())
                .build();
        assertThat(ok(run(authenticator, bearer(foo.token()))).jwt().issuer()).isEqualTo("issuer-foo");
        assertThat(ok(run(authenticator, bearer(bar.token()))).jwt().issuer()).isEqualTo("issuer-bar");
        // A token claiming foo but signed with bar's key is checked against foo's keys only.
        TestIssuer.Key barKeyAsFoo = new TestIssuer.Key("foo-1", "RS256", bar.keys.get(0).pair(), Map.of());
        assertThat(invalid(run(authenticator, bearer(foo.sign(barKeyAsFoo, foo.claims())))).reason())
                .isEqualTo(Reason.KEY_MISMATCH);
    }

    @Test
    void anIssuerMatchingNoRuleIsInvalid() {
        TestIssuer stranger = new TestIssuer("issuer-stranger");
        stranger.addKey("foo-1", "ES256");
        JwtAuthenticator authenticator = JwtAuthenticator.builder().rule("foo", foo.inlineRule()).build();
        assertThat(invalid(run(authenticator, bearer(stranger.token()))).reason()).isEqualTo(Reason.UNKNOWN_ISSUER);
    }

    @Test
    void policiesContributeTheirRules() {
        RequestAuthentication policy = new RequestAuthentication(ApiVersion.values()[0], PolicyMetadata.of("ns", "authn"),
                Optional.empty(), Optional.empty(), List.of(), List.of(foo.inlineRule(), bar.inlineRule()));
        JwtAuthenticator authenticator = JwtAuthenticator.builder().policy(policy).build();
        assertThat(run(authenticator, bearer(bar.token()))).isInstanceOf(JwtResult.Ok.class);
        assertThat(authenticator.warnings()).isEmpty();
    }

    @Test
    void policiesAreSelectedByNamespaceAndLabels() {
        RequestAuthentication mesh = policy("istio-system", "mesh", Optional.empty(), foo.inlineRule());
        RequestAuthentication httpbin = policy("apps", "httpbin", Optional.of(Map.of("app", "httpbin")), bar.inlineRule());
        RequestAuthentication other = policy("apps", "other", Optional.of(Map.of("app", "other")), bar.inlineRule());
        RequestAuthentication elsewhere = policy("team-b", "all", Optional.empty(), bar.inlineRule());
        List<RequestAuthentication> all = List.of(other, httpbin, elsewhere, mesh);

        JwtAuthenticator forHttpbin = JwtAuthenticator.builder()
                .policiesSelecting(all, "apps", Map.of("app", "httpbin", "v", "1"), "istio-system").build();
        assertThat(run(forHttpbin, bearer(foo.token()))).isInstanceOf(JwtResult.Ok.class);
        assertThat(run(forHttpbin, bearer(bar.token()))).isInstanceOf(JwtResult.Ok.class);

        JwtAuthenticator forReviews = JwtAuthenticator.builder()
                .policiesSelecting(all, "apps", Map.of("app", "reviews"), "istio-system").build();
        assertThat(run(forReviews, bearer(foo.token()))).isInstanceOf(JwtResult.Ok.class);
        assertThat(invalid(run(forReviews, bearer(bar.token()))).reason()).isEqualTo(Reason.UNKNOWN_ISSUER);
    }

    private static RequestAuthentication policy(String namespace, String name, Optional<Map<String, String>> labels,
            JWTRule rule) {
        return new RequestAuthentication(ApiVersion.values()[0], PolicyMetadata.of(namespace, name),
                labels.map(dev.keel.policy.WorkloadSelector::new), Optional.empty(), List.of(), List.of(rule));
    }

    @Test
    void theResultCarriesPrincipalAudiencesPresenterAndClaims() {
        JwtAuthenticator authenticator = JwtAuthenticator.builder()
                .rule("foo", TestIssuer.withSpaceDelimited(foo.inlineRule(), List.of("roles"))).build();
        Map<String, Object> claims = foo.claims();
        claims.put("aud", List.of("a1", "a2"));
        claims.put("azp", "web-client");
        claims.put("groups", List.of("dev", "ops"));
        claims.put("scope", "read write");
        claims.put("roles", "admin  user");
        claims.put("realm_access", Map.of("roles", List.of("viewer")));
        claims.put("age", 42);
        VerifiedJwt jwt = ok(run(authenticator, bearer(foo.sign(foo.keys.get(0), claims)))).jwt();

        assertThat(jwt.principal()).isEqualTo("issuer-foo/alice");
        assertThat(jwt.audiences()).containsExactly("a1", "a2");
        assertThat(jwt.presenter()).contains("web-client");
        assertThat(jwt.claimValues(List.of("groups"))).containsExactly("dev", "ops");
        assertThat(jwt.claimValues(List.of("scope"))).containsExactly("read", "write");
        assertThat(jwt.claimValues(List.of("roles"))).containsExactly("admin", "user");
        assertThat(jwt.claimValues(List.of("realm_access", "roles"))).containsExactly("viewer");
        assertThat(jwt.claimValues(List.of("age"))).containsExactly("42");
        assertThat(jwt.claimValues(List.of("missing"))).isEmpty();
        assertThat(jwt.claim("realm_access.roles")).contains(List.of("viewer"));
        assertThat(jwt.claims()).containsKey("iat");
        assertThat(jwt.toString()).doesNotContain(foo.token().substring(0, 20));
    }

    @Test
    void theTokenIsStrippedUnlessForwarded() {
        JwtAuthenticator strip = JwtAuthenticator.builder().rule("foo", foo.inlineRule()).build();
        assertThat(ok(run(strip, bearer(foo.token()))).mutations().removeHeaders()).containsExactly("authorization");
        assertThat(ok(run(strip, JwtRequest.builder().queryParam("access_token", foo.token()).build())).mutations()
                .removeQueryParams()).containsExactly("access_token");

        JwtAuthenticator forward = JwtAuthenticator.builder()
                .rule("foo", TestIssuer.withOutputs(foo.inlineRule(), true, "", List.of())).build();
        assertThat(ok(run(forward, bearer(foo.token()))).mutations().isEmpty()).isTrue();
    }

    @Test
    void cookiesCarryingTokensAreRemovedUnlessForwarded() {
        JWTRule rule = TestIssuer.withLocations(foo.inlineRule(), List.of(), List.of(), List.of("session"));
        JwtAuthenticator authenticator = JwtAuthenticator.builder().rule("foo", rule).build();
        assertThat(ok(run(authenticator, JwtRequest.builder().cookie("session", foo.token()).build())).mutations()
                .removeCookies()).containsExactly("session");
    }

    @Test
    void payloadAndClaimsAreWrittenToSanitizedHeaders() {
        JWTRule rule = TestIssuer.withOutputs(foo.inlineRule(), true, "X-Jwt-Payload",
                List.of(new ClaimToHeader("X-Jwt-Sub", "sub"), new ClaimToHeader("x-jwt-groups", "groups"),
                        new ClaimToHeader("x-jwt-nested", "org.team"), new ClaimToHeader("x-jwt-absent", "absent"),
                        new ClaimToHeader("bad header", "sub"), new ClaimToHeader("host", "sub")));
        JwtAuthenticator authenticator = JwtAuthenticator.builder().rule("foo", rule).build();
        Map<String, Object> claims = foo.claims();
        claims.put("sub", "alice\r\nx-admin: true");
        claims.put("groups", List.of("dev", "ops"));
        claims.put("org", Map.of("team", "blue"));
        String token = foo.sign(foo.keys.get(0), claims);

        HeaderMutations mutations = ok(run(authenticator, bearer(token))).mutations();

        assertThat(authenticator.warnings()).hasSize(2);
        assertThat(mutations.setHeaders()).containsEntry("x-jwt-sub", "alicex-admin: true")
                .containsEntry("x-jwt-groups", "dev,ops").containsEntry("x-jwt-nested", "blue")
                .containsEntry("x-jwt-payload", token.split("\\.")[1]).doesNotContainKey("x-jwt-absent");
        assertThat(new String(Base64.getUrlDecoder().decode(mutations.setHeaders().get("x-jwt-payload")))).contains("groups");
        // Headers the rules write are always cleared first, so a client cannot forge them.
        assertThat(mutations.removeHeaders()).contains("x-jwt-payload", "x-jwt-sub", "x-jwt-absent");
        assertThat(((JwtResult.Missing) run(authenticator, JwtRequest.builder().build())).mutations().removeHeaders())
                .containsExactly("x-jwt-payload", "x-jwt-sub", "x-jwt-groups", "x-jwt-nested", "x-jwt-absent");
    }

    @Test
    void aRuleWithoutKeysRefusesItsTokens() {
        JwtAuthenticator authenticator = JwtAuthenticator.builder().rule("foo", foo.rule("", "")).build();
        assertThat(authenticator.warnings()).singleElement().asString().contains("neither jwks nor jwksUri");
        assertThat(invalid(run(authenticator, bearer(foo.token()))).reason()).isEqualTo(Reason.JWKS_UNAVAILABLE);
    }
}
