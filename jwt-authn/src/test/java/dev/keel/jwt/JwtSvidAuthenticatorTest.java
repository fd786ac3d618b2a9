package dev.keel.jwt;

import static dev.keel.jwt.TestIssuer.bearer;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.keel.identity.Bundle;
import dev.keel.identity.BundleSource;
import dev.keel.identity.TrustDomain;
import dev.keel.jwt.JwtResult.Reason;
import dev.keel.policy.JWTHeader;
import dev.keel.testing.FakeClock;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

/** JWT-SVIDs through identity-core's JwtSvidVerifier, found in requests, restricted to trust domains, cached. */
class JwtSvidAuthenticatorTest {

    private static final TrustDomain LOCAL = TrustDomain.parse("cluster.local");
    private static final TrustDomain PARTNER = TrustDomain.parse("partner.example");
    private static final String AUDIENCE = "spiffe://cluster.local/ns/default/sa/api";

    private final FakeClock clock = FakeClock.now();
    private final TestIssuer.Key localKey = new TestIssuer.Key("local-1", "ES256", TestIssuer.generate("ES256"), Map.of());
    private final TestIssuer.Key partnerKey = new TestIssuer.Key("partner-1", "RS256", TestIssuer.generate("RS256"), Map.of());
    private final AtomicReference<Bundle> localBundle = new AtomicReference<>(
            Bundle.builder(LOCAL).putJwtAuthority("local-1", localKey.pair().getPublic()).build());
    private final Bundle partnerBundle = Bundle.builder(PARTNER).putJwtAuthority("partner-1", partnerKey.pair().getPublic()).build();
    private final BundleSource bundles = td -> td.equals(LOCAL) ? java.util.Optional.of(localBundle.get())
            : td.equals(PARTNER) ? java.util.Optional.of(partnerBundle) : java.util.Optional.empty();

    private Map<String, Object> claims(String sub) {
        Map<String, Object> claims = new LinkedHashMap<>();
        claims.put("sub", sub);
        claims.put("aud", List.of(AUDIENCE));
        claims.put("exp", clock.instant().getEpochSecond() + 300);
        claims.put("iat", clock.instant().getEpochSecond());
        return claims;
    }

    private String svid(TestIssuer.Key key, Map<String, Object> claims) {
        return TestIssuer.sign(key, claims, Map.of("typ", "JWT"));
    }

    private JwtSvidAuthenticator authenticator() {
        return JwtSvidAuthenticator.builder(bundles, LOCAL, AUDIENCE).clock(clock).build();
    }

    private static Reason reason(JwtResult result) {
        assertThat(result).isInstanceOf(JwtResult.Invalid.class);
        return ((JwtResult.Invalid) result).reason();
    }

    @Test
    void aValidSvidGivesItsSpiffeIdAsPrincipal() {
        String token = svid(localKey, claims("spiffe://cluster.local/ns/web/sa/frontend"));
        JwtResult result = authenticator().authenticate(bearer(token));
        assertThat(result).isInstanceOf(JwtResult.Ok.class);
        VerifiedJwt jwt = ((JwtResult.Ok) result).jwt();
        assertThat(jwt.principal()).isEqualTo("spiffe://cluster.local/ns/web/sa/frontend");
        assertThat(jwt.audiences()).containsExactly(AUDIENCE);
        assertThat(jwt.toString()).doesNotContain(token);
    }

    @Test
    void noTokenIsMissing() {
        assertThat(authenticator().authenticate(JwtRequest.builder().build())).isInstanceOf(JwtResult.Missing.class);
    }

    @Test
    void theAudienceIsRequired() {
        Map<String, Object> claims = claims("spiffe://cluster.local/ns/web/sa/frontend");
        claims.put("aud", List.of("someone-else"));
        assertThat(reason(authenticator().verify(svid(localKey, claims)))).isEqualTo(Reason.AUDIENCE_MISMATCH);
        claims.remove("aud");
        assertThat(reason(authenticator().verify(svid(localKey, claims)))).isEqualTo(Reason.AUDIENCE_MISMATCH);
        assertThatThrownBy(() -> JwtSvidAuthenticator.builder(bundles, LOCAL, "")).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void theSubjectMustBeASpiffeIdOfAnAcceptedTrustDomain() {
        assertThat(reason(authenticator().verify(svid(localKey, claims("alice"))))).isEqualTo(Reason.MALFORMED);
        // Signed by the partner's real authority, but the partner is not federated here.
        String partner = svid(partnerKey, claims("spiffe://partner.example/ns/x/sa/y"));
        assertThat(reason(authenticator().verify(partner))).isEqualTo(Reason.UNKNOWN_ISSUER);
        JwtSvidAuthenticator federated = JwtSvidAuthenticator.builder(bundles, LOCAL, AUDIENCE).federatedWith(PARTNER)
                .clock(clock).build();
        assertThat(federated.verify(partner)).isInstanceOf(JwtResult.Ok.class);
    }

    @Test
    void aKeyOfAnotherTrustDomainDoesNotSignForThisOne() {
        TestIssuer.Key forged = new TestIssuer.Key("local-1", "RS256", partnerKey.pair(), Map.of());
        JwtSvidAuthenticator federated = JwtSvidAuthenticator.builder(bundles, LOCAL, AUDIENCE).federatedWith(PARTNER)
                .clock(clock).build();
        assertThat(federated.verify(svid(forged, claims("spiffe://cluster.local/ns/web/sa/frontend"))))
                .isInstanceOf(JwtResult.Invalid.class);
    }

    @Test
    void refusalsMapToReasons() {
        JwtSvidAuthenticator authenticator = authenticator();
        TestIssuer.Key unknown = new TestIssuer.Key("nope", "ES256", TestIssuer.generate("ES256"), Map.of());
        assertThat(reason(authenticator.verify(svid(unknown, claims("spiffe://cluster.local/a"))))).isEqualTo(Reason.UNKNOWN_KEY);
        TestIssuer.Key impostor = new TestIssuer.Key("local-1", "ES256", TestIssuer.generate("ES256"), Map.of());
        assertThat(reason(authenticator.verify(svid(impostor, claims("spiffe://cluster.local/a"))))).isEqualTo(Reason.BAD_SIGNATURE);
        Map<String, Object> expired = claims("spiffe://cluster.local/a");
        expired.put("exp", clock.instant().getEpochSecond() - 1);
        assertThat(reason(authenticator.verify(svid(localKey, expired)))).isEqualTo(Reason.EXPIRED);
        String none = TestIssuer.raw("{\"alg\":\"none\",\"kid\":\"local-1\"}", "{\"sub\":\"spiffe://cluster.local/a\"}", "AA");
        assertThat(reason(authenticator.verify(none))).isEqualTo(Reason.UNSUPPORTED_ALGORITHM);
        assertThat(reason(authenticator.verify("x".repeat(20_000)))).isEqualTo(Reason.TOO_LARGE);
    }

    @Test
    void aCachedSvidExpiresAndIsReverifiedWhenTheBundleChanges() {
        JwtSvidAuthenticator authenticator = authenticator();
        String token = svid(localKey, claims("spiffe://cluster.local/ns/web/sa/frontend"));
        JwtResult first = authenticator.verify(token);
        assertThat(((JwtResult.Ok) authenticator.verify(token)).jwt()).isSameAs(((JwtResult.Ok) first).jwt());

        // The authority is removed from the bundle: the cached verification no longer counts.
        localBundle.set(Bundle.builder(LOCAL).putJwtAuthority("local-2", TestIssuer.generate("ES256").getPublic()).build());
        assertThat(reason(authenticator.verify(token))).isEqualTo(Reason.UNKNOWN_KEY);

        localBundle.set(Bundle.builder(LOCAL).putJwtAuthority("local-1", localKey.pair().getPublic()).build());
        assertThat(authenticator.verify(token)).isInstanceOf(JwtResult.Ok.class);
        clock.advance(Duration.ofSeconds(301));
        assertThat(reason(authenticator.verify(token))).isEqualTo(Reason.EXPIRED);
    }

    @Test
    void customHeaderAndStripping() {
        JwtSvidAuthenticator authenticator = JwtSvidAuthenticator.builder(bundles, LOCAL, AUDIENCE).clock(clock)
                .fromHeader(new JWTHeader("x-spiffe-jwt", "")).forwardOriginalToken(false).build();
        String token = svid(localKey, claims("spiffe://cluster.local/ns/web/sa/frontend"));
        JwtResult result = authenticator.authenticate(JwtRequest.builder().header("X-Spiffe-Jwt", token).build());
        assertThat(((JwtResult.Ok) result).mutations().removeHeaders()).containsExactly("x-spiffe-jwt");
        assertThat(authenticator.authenticate(bearer(token))).isInstanceOf(JwtResult.Missing.class);
        assertThat(reason(authenticator.authenticate(JwtRequest.builder().header("x-spiffe-jwt", "junk").build())))
                .isEqualTo(Reason.MALFORMED);
    }
}
