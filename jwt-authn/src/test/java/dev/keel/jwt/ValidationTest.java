package dev.keel.jwt;

import static dev.keel.jwt.TestIssuer.bearer;
import static org.assertj.core.api.Assertions.assertThat;

import dev.keel.jwt.JwtResult.Reason;
import dev.keel.testing.FakeClock;
import java.nio.charset.StandardCharsets;
import java.security.KeyPairGenerator;
import java.time.Duration;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import org.jose4j.jwk.PublicJsonWebKey;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class ValidationTest {

    private final TestIssuer issuer = new TestIssuer("https://issuer.example");

    private JwtResult authenticate(JwtAuthenticator authenticator, String token) {
        return authenticator.authenticate(bearer(token)).join();
    }

    private JwtAuthenticator inline() {
        return JwtAuthenticator.builder().rule("r", issuer.inlineRule()).verifiedTokenCacheSize(0).build();
    }

    private static Reason reason(JwtResult result) {
        assertThat(result).isInstanceOf(JwtResult.Invalid.class);
        return ((JwtResult.Invalid) result).reason();
    }

    @ParameterizedTest
    @ValueSource(strings = {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"})
    void everyAcceptedAlgorithmVerifies(String alg) {
        TestIssuer.Key key = issuer.addKey("k-" + alg, alg);
        JwtAuthenticator authenticator = inline();

        JwtResult result = authenticate(authenticator, issuer.sign(key, issuer.claims()));

        assertThat(result).isInstanceOf(JwtResult.Ok.class);
        VerifiedJwt jwt = ((JwtResult.Ok) result).jwt();
        assertThat(jwt.principal()).isEqualTo("https://issuer.example/alice");
        assertThat(jwt.audiences()).containsExactly("api");
    }

    @ParameterizedTest
    @ValueSource(strings = {"RS256", "PS256", "ES256", "ES384", "ES512", "EdDSA"})
    void aTamperedTokenIsRefused(String alg) {
        TestIssuer.Key key = issuer.addKey("k", alg);
        String token = issuer.sign(key, issuer.claims());
        Map<String, Object> claims = issuer.claims();
        claims.put("sub", "mallory");
        String other = issuer.sign(key, claims);
        String forged = other.substring(0, other.lastIndexOf('.')) + token.substring(token.lastIndexOf('.'));

        assertThat(reason(authenticate(inline(), forged))).isEqualTo(Reason.BAD_SIGNATURE);
    }

    @Test
    void aTokenSignedByAnotherKeyWithTheSameKidIsRefused() {
        issuer.addKey("k", "ES256");
        TestIssuer.Key impostor = new TestIssuer.Key("k", "ES256", TestIssuer.generate("ES256"), Map.of());

        assertThat(reason(authenticate(inline(), issuer.sign(impostor, issuer.claims())))).isEqualTo(Reason.BAD_SIGNATURE);
    }

    @Test
    void algNoneIsRefused() {
        issuer.addKey("k", "ES256");
        String token = TestIssuer.raw("{\"alg\":\"none\"}", "{\"iss\":\"https://issuer.example\",\"sub\":\"a\"}", "");
        assertThat(reason(authenticate(inline(), token + "AA"))).isEqualTo(Reason.UNSUPPORTED_ALGORITHM);
        // and with an empty signature: malformed before anything else
        assertThat(reason(authenticate(inline(), token))).isEqualTo(Reason.MALFORMED);
    }

    @Test
    void hmacSignedWithThePublicKeyIsRefused() throws Exception {
        TestIssuer.Key key = issuer.addKey("k", "RS256");
        // The classic algorithm-confusion attack: HS256 keyed with the issuer's public key (as PEM or JWK text).
        String publicJwk = PublicJsonWebKey.Factory.newPublicJwk(key.pair().getPublic()).toJson();
        String header = "{\"alg\":\"HS256\",\"kid\":\"k\"}";
        String payload = "{\"iss\":\"https://issuer.example\",\"sub\":\"mallory\"}";
        String unsigned = TestIssuer.raw(header, payload, "x");
        unsigned = unsigned.substring(0, unsigned.lastIndexOf('.'));
        Mac mac = Mac.getInstance("HmacSHA256");
        mac.init(new SecretKeySpec(publicJwk.getBytes(StandardCharsets.UTF_8), "HmacSHA256"));
        String token = unsigned + "." + Base64.getUrlEncoder().withoutPadding()
                .encodeToString(mac.doFinal(unsigned.getBytes(StandardCharsets.US_ASCII)));

        JwtResult result = authenticate(inline(), token);

        assertThat(reason(result)).isEqualTo(Reason.UNSUPPORTED_ALGORITHM);
        assertThat(((JwtResult.Invalid) result).detail()).contains("HMAC");
    }

    @Test
    void anUnknownAlgorithmIsRefused() {
        issuer.addKey("k", "ES256");
        String token = TestIssuer.raw("{\"alg\":\"ES256K\",\"kid\":\"k\"}", "{\"iss\":\"https://issuer.example\"}", "AAAA");
        assertThat(reason(authenticate(inline(), token))).isEqualTo(Reason.UNSUPPORTED_ALGORITHM);
    }

    @Test
    void aKeyOfTheWrongTypeIsRefused() {
        TestIssuer.Key ec = issuer.addKey("k", "ES256");
        // An RS256 token naming the EC key's kid.
        TestIssuer.Key rsa = new TestIssuer.Key("k", "RS256", TestIssuer.generate("RS256"), Map.of());
        assertThat(reason(authenticate(inline(), issuer.sign(rsa, issuer.claims())))).isEqualTo(Reason.KEY_MISMATCH);
        assertThat(ec.kid()).isEqualTo("k");
    }

    @Test
    void anEs384TokenUnderAP256KeyIsRefused() {
        TestIssuer.Key p256 = issuer.addKey("k", "ES256");
        TestIssuer.Key p384 = new TestIssuer.Key("k", "ES384", TestIssuer.generate("ES384"), Map.of());
        assertThat(reason(authenticate(inline(), issuer.sign(p384, issuer.claims())))).isEqualTo(Reason.KEY_MISMATCH);
        assertThat(p256.alg()).isEqualTo("ES256");
    }

    @Test
    void aKeyForEncryptionIsRefused() {
        issuer.keys.add(new TestIssuer.Key("k", "ES256", TestIssuer.generate("ES256"), Map.of("use", "enc")));
        JwtResult result = authenticate(inline(), issuer.token());
        assertThat(reason(result)).isEqualTo(Reason.KEY_MISMATCH);
        assertThat(((JwtResult.Invalid) result).detail()).contains("use enc");
    }

    @Test
    void aKeyPinnedToAnotherAlgIsRefused() {
        issuer.keys.add(new TestIssuer.Key("k", "PS256", TestIssuer.generate("PS256"), Map.of("alg", "RS256")));
        assertThat(reason(authenticate(inline(), issuer.token()))).isEqualTo(Reason.KEY_MISMATCH);
    }

    @Test
    void keyOpsWithoutVerifyIsRefused() {
        issuer.keys.add(new TestIssuer.Key("k", "ES256", TestIssuer.generate("ES256"), Map.of("key_ops", List.of("encrypt"))));
        assertThat(reason(authenticate(inline(), issuer.token()))).isEqualTo(Reason.KEY_MISMATCH);
    }

    @Test
    void anUnknownKidIsRefused() {
        issuer.addKey("k", "ES256");
        TestIssuer.Key other = new TestIssuer.Key("other", "ES256", TestIssuer.generate("ES256"), Map.of());
        JwtResult result = authenticate(inline(), issuer.sign(other, issuer.claims()));
        assertThat(reason(result)).isEqualTo(Reason.UNKNOWN_KEY);
    }

    @Test
    void aTokenWithoutKidIsTriedAgainstEveryFittingKey() {
        issuer.addKey("a", "ES256");
        issuer.addKey("b", "RS256");
        TestIssuer.Key noKid = new TestIssuer.Key(null, "RS256", issuer.keys.get(1).pair(), Map.of());
        assertThat(authenticate(inline(), issuer.sign(noKid, issuer.claims()))).isInstanceOf(JwtResult.Ok.class);
    }

    @Test
    void anEmbeddedJwkIsNeverTrusted() throws Exception {
        issuer.addKey("k", "ES256");
        TestIssuer.Key attacker = new TestIssuer.Key("k", "ES256", TestIssuer.generate("ES256"), Map.of());
        Map<String, Object> jwk = PublicJsonWebKey.Factory.newPublicJwk(attacker.pair().getPublic())
                .toParams(org.jose4j.jwk.JsonWebKey.OutputControlLevel.PUBLIC_ONLY);
        String token = TestIssuer.sign(attacker, issuer.claims(), Map.of("jwk", jwk));
        assertThat(reason(authenticate(inline(), token))).isEqualTo(Reason.BAD_SIGNATURE);
    }

    @Test
    void expAndNbfAreCheckedWithTheSkew() {
        TestIssuer.Key key = issuer.addKey("k", "ES256");
        FakeClock clock = FakeClock.now();
        JwtAuthenticator authenticator = JwtAuthenticator.builder().rule("r", issuer.inlineRule()).clock(clock)
                .clockSkew(Duration.ofSeconds(60)).build();
        Map<String, Object> claims = issuer.claims();
        long now = clock.instant().getEpochSecond();
        claims.put("exp", now - 30);
        assertThat(authenticate(authenticator, issuer.sign(key, claims))).isInstanceOf(JwtResult.Ok.class);
        claims.put("exp", now - 61);
        assertThat(reason(authenticate(authenticator, issuer.sign(key, claims)))).isEqualTo(Reason.EXPIRED);
        claims.put("exp", now + 3600);
        claims.put("nbf", now + 30);
        assertThat(authenticate(authenticator, issuer.sign(key, claims))).isInstanceOf(JwtResult.Ok.class);
        claims.put("nbf", now + 61);
        assertThat(reason(authenticate(authenticator, issuer.sign(key, claims)))).isEqualTo(Reason.NOT_YET_VALID);
        claims.put("nbf", "tomorrow");
        assertThat(reason(authenticate(authenticator, issuer.sign(key, claims)))).isEqualTo(Reason.MALFORMED);
    }

    @Test
    void aCachedTokenExpiresWithItsExp() {
        TestIssuer.Key key = issuer.addKey("k", "ES256");
        FakeClock clock = FakeClock.now();
        JwtAuthenticator authenticator = JwtAuthenticator.builder().rule("r", issuer.inlineRule()).clock(clock)
                .clockSkew(Duration.ZERO).build();
        Map<String, Object> claims = issuer.claims();
        claims.put("exp", clock.instant().getEpochSecond() + 10);
        String token = issuer.sign(key, claims);

        JwtResult first = authenticate(authenticator, token);
        JwtResult second = authenticate(authenticator, token);
        assertThat(((JwtResult.Ok) second).jwt()).isSameAs(((JwtResult.Ok) first).jwt()); // served from the cache
        clock.advance(Duration.ofSeconds(11));
        assertThat(reason(authenticate(authenticator, token))).isEqualTo(Reason.EXPIRED);
    }

    @Test
    void theCacheDoesNotCarryATokenToARuleThatDoesNotReadItsLocation() {
        TestIssuer.Key key = issuer.addKey("k", "ES256");
        JwtAuthenticator authenticator = JwtAuthenticator.builder().rule("r", TestIssuer.withLocations(issuer.inlineRule(),
                List.of(new dev.keel.policy.JWTHeader("x-token", "")), List.of(), List.of())).build();
        String token = issuer.sign(key, issuer.claims());
        assertThat(authenticator.authenticate(JwtRequest.builder().header("x-token", token).build()).join())
                .isInstanceOf(JwtResult.Ok.class);
        assertThat(authenticate(authenticator, token)).isInstanceOf(JwtResult.Missing.class);
    }

    @Test
    void anOversizedTokenIsRefusedUnread() {
        TestIssuer.Key key = issuer.addKey("k", "ES256");
        Map<String, Object> claims = issuer.claims();
        claims.put("padding", "x".repeat(2000));
        JwtAuthenticator authenticator = JwtAuthenticator.builder().rule("r", issuer.inlineRule()).maxTokenBytes(1024).build();
        assertThat(reason(authenticate(authenticator, issuer.sign(key, claims)))).isEqualTo(Reason.TOO_LARGE);
    }

    @ParameterizedTest
    @ValueSource(strings = {"", "abc", "a.b", "a.b.c.d", "a.b.c.d.e", "..", "eyJhbGciOiJFUzI1NiJ9..c2ln",
        "eyJhbGciOiJFUzI1NiJ9.eyJpc3MiOiJ4In0=.c2ln", "eyJhbGciOiJFUzI1NiJ9.e+yJpc3MiOiJ4In0.c2ln",
        "bm90IGpzb24.eyJpc3MiOiJ4In0.c2ln", "WzFd.eyJpc3MiOiJ4In0.c2ln"})
    void malformedTokensAreRefused(String token) {
        issuer.addKey("k", "ES256");
        assertThat(reason(authenticate(inline(), token))).isEqualTo(Reason.MALFORMED);
    }

    @Test
    void duplicateMembersAndWrongClaimTypesAreMalformed() {
        issuer.addKey("k", "ES256");
        String dup = TestIssuer.raw("{\"alg\":\"ES256\",\"kid\":\"k\"}",
                "{\"iss\":\"https://issuer.example\",\"sub\":\"a\",\"sub\":\"admin\"}", "AAAA");
        assertThat(reason(authenticate(inline(), dup))).isEqualTo(Reason.MALFORMED);
        String audNumber = TestIssuer.raw("{\"alg\":\"ES256\",\"kid\":\"k\"}",
                "{\"iss\":\"https://issuer.example\",\"aud\":5}", "AAAA");
        assertThat(reason(authenticate(inline(), audNumber))).isEqualTo(Reason.MALFORMED);
        String issNumber = TestIssuer.raw("{\"alg\":\"ES256\",\"kid\":\"k\"}", "{\"iss\":5}", "AAAA");
        assertThat(reason(authenticate(inline(), issNumber))).isEqualTo(Reason.MALFORMED);
    }

    @Test
    void deeplyNestedJsonIsMalformed() {
        issuer.addKey("k", "ES256");
        String deep = TestIssuer.raw("{\"alg\":\"ES256\",\"kid\":\"k\"}",
                "{\"iss\":\"https://issuer.example\",\"x\":" + "[".repeat(40) + "]".repeat(40) + "}", "AAAA");
        assertThat(reason(authenticate(inline(), deep))).isEqualTo(Reason.MALFORMED);
    }

    @Test
    void rsaKeysWithATinyExponentAreSkipped() {
        TestIssuer.Key key = issuer.addKey("k", "RS256");
        String jwks = issuer.jwks().replace("\"e\":\"AQAB\"", "\"e\":\"AQ\"");
        JwtAuthenticator authenticator = JwtAuthenticator.builder().rule("r", issuer.rule(jwks, "")).build();
        assertThat(jwks).contains("\"e\":\"AQ\"");
        assertThat(authenticator.warnings()).singleElement().asString().contains("no usable key");
        assertThat(reason(authenticate(authenticator, issuer.sign(key, issuer.claims())))).isEqualTo(Reason.JWKS_UNAVAILABLE);
    }

    @Test
    void criticalHeadersAreRefused() {
        TestIssuer.Key key = issuer.addKey("k", "ES256");
        String token = TestIssuer.sign(key, issuer.claims(), Map.of("crit", List.of("exp"), "exp", 1));
        assertThat(reason(authenticate(inline(), token))).isEqualTo(Reason.CRITICAL_HEADER);
    }

    @Test
    void audiencesMustIntersectAndIgnoreSchemeAndTrailingSlash() {
        TestIssuer.Key key = issuer.addKey("k", "ES256");
        JwtAuthenticator authenticator = JwtAuthenticator.builder()
                .rule("r", TestIssuer.withAudiences(issuer.inlineRule(), List.of("https://api.example.com/", "other"))).build();
        Map<String, Object> claims = issuer.claims();
        claims.put("aud", List.of("nope", "api.example.com"));
        assertThat(authenticate(authenticator, issuer.sign(key, claims))).isInstanceOf(JwtResult.Ok.class);
        claims.put("aud", "elsewhere");
        assertThat(reason(authenticate(authenticator, issuer.sign(key, claims)))).isEqualTo(Reason.AUDIENCE_MISMATCH);
        claims.remove("aud");
        assertThat(reason(authenticate(authenticator, issuer.sign(key, claims)))).isEqualTo(Reason.AUDIENCE_MISMATCH);
    }

    @Test
    void weakRsaKeysInTheSetAreSkipped() throws Exception {
        KeyPairGenerator g = KeyPairGenerator.getInstance("RSA");
        g.initialize(1024);
        issuer.keys.add(new TestIssuer.Key("weak", "RS256", g.generateKeyPair(), Map.of()));
        issuer.addKey("good", "ES256");
        JwtAuthenticator authenticator = inline();
        assertThat(authenticator.warnings()).anySatisfy(w -> assertThat(w).contains("weak").contains("2048"));
        assertThat(reason(authenticate(authenticator, issuer.sign(issuer.keys.get(0), issuer.claims()))))
                .isEqualTo(Reason.UNKNOWN_KEY);
        assertThat(authenticate(authenticator, issuer.sign(issuer.keys.get(1), issuer.claims()))).isInstanceOf(JwtResult.Ok.class);
    }

    @Test
    void aBrokenInlineJwksRefusesItsTokensWithoutThrowing() {
        issuer.addKey("k", "ES256");
        JwtAuthenticator authenticator = JwtAuthenticator.builder().rule("r", issuer.rule("{not json", "")).build();
        assertThat(authenticator.warnings()).singleElement().asString().contains("inline jwks");
        assertThat(reason(authenticate(authenticator, issuer.token()))).isEqualTo(Reason.JWKS_UNAVAILABLE);
    }

    @Test
    void aPrivateKeyInTheSetIsSkipped() throws Exception {
        TestIssuer.Key key = issuer.addKey("k", "ES256");
        String withPrivate = "{\"keys\":[" + PublicJsonWebKey.Factory.newPublicJwk(key.pair().getPublic()).toJson()
                .replace("}", ",\"d\":\"AAAA\",\"kid\":\"k\"}") + "]}";
        JwtAuthenticator authenticator = JwtAuthenticator.builder().rule("r", issuer.rule(withPrivate, "")).build();
        assertThat(authenticator.warnings()).singleElement().asString().contains("private");
    }

    @Test
    void invalidResultsCarryA401AndWwwAuthenticate() {
        issuer.addKey("k", "ES256");
        JwtResult.Invalid invalid = (JwtResult.Invalid) authenticate(inline(), "nope");
        assertThat(invalid.httpStatus()).isEqualTo(401);
        assertThat(invalid.wwwAuthenticate()).isEqualTo("Bearer error=\"invalid_token\"");
        assertThat(invalid.wwwAuthenticate("http://svc/\"x\r\n")).isEqualTo("Bearer realm=\"http://svc/x\", error=\"invalid_token\"");
        assertThat(invalid.detail()).doesNotContain("nope");
    }
}
