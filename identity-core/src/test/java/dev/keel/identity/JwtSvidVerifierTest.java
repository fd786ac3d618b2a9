package dev.keel.identity;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import dev.keel.identity.JwtSvidValidationException.Rule;
import java.math.BigDecimal;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PrivateKey;
import java.security.Signature;
import java.security.spec.MGF1ParameterSpec;
import java.security.spec.PSSParameterSpec;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class JwtSvidVerifierTest {

    private static final Instant NOW = Instant.parse("2030-01-01T00:00:00Z");
    private static final long EXP = NOW.getEpochSecond() + 300;
    private static final TrustDomain TD = TrustDomain.parse("example.org");
    private static final TrustDomain OTHER_TD = TrustDomain.parse("other.example");
    private static final String SUB = "spiffe://example.org/ns/a/sa/x";
    private static final String PAYLOAD = "{\"sub\":\"" + SUB + "\",\"aud\":[\"spiffe://example.org/db\"],\"exp\":" + EXP
            + ",\"iat\":" + NOW.getEpochSecond() + "}";

    private static final KeyPair EC = KeyPairs.generate(KeyType.EC_P256);
    private static final KeyPair EC384 = KeyPairs.generate(KeyType.EC_P384);
    private static final KeyPair RSA = KeyPairs.generate(KeyType.RSA_2048);
    private static final KeyPair OTHER_EC = KeyPairs.generate(KeyType.EC_P256);
    private static final KeyPair WEAK_RSA = weakRsa();

    private static final Bundle BUNDLE = Bundle.builder(TD).putJwtAuthority("ec", EC.getPublic())
            .putJwtAuthority("ec384", EC384.getPublic()).putJwtAuthority("rsa", RSA.getPublic())
            .putJwtAuthority("weak", WEAK_RSA.getPublic()).build();
    private static final Bundle OTHER_BUNDLE = Bundle.builder(OTHER_TD).putJwtAuthority("other", OTHER_EC.getPublic()).build();
    private static final JwtSvidVerifier VERIFIER =
            JwtSvidVerifier.create(BundleSource.of(BUNDLE, OTHER_BUNDLE), Clock.fixed(NOW, ZoneOffset.UTC));

    @Test
    void acceptsAnEs256Token() throws Exception {
        String token = sign("{\"alg\":\"ES256\",\"kid\":\"ec\",\"typ\":\"JWT\"}",
                "{\"sub\":\"" + SUB + "\",\"aud\":[\"spiffe://example.org/db\",\"other\"],\"exp\":" + EXP
                        + ",\"iat\":1,\"custom\":{\"n\":null,\"list\":[1.5,true]}}", EC.getPrivate(), "SHA256withECDSAinP1363Format");

        JwtSvid svid = VERIFIER.verify(token, "spiffe://example.org/db");

        assertThat(svid.spiffeId()).isEqualTo(SpiffeId.parse(SUB));
        assertThat(svid.audience()).containsExactly("spiffe://example.org/db", "other");
        assertThat(svid.expiry()).isEqualTo(Instant.ofEpochSecond(EXP));
        assertThat(svid.keyId()).isEqualTo("ec");
        assertThat(svid.algorithm()).isEqualTo("ES256");
        assertThat(svid.token()).isEqualTo(token);
        assertThat(svid.claims()).containsKeys("sub", "aud", "exp", "iat", "custom");
        assertThat(svid.claims().get("exp")).isEqualTo(new BigDecimal(EXP));
        @SuppressWarnings("unchecked")
        Map<String, Object> custom = (Map<String, Object>) svid.claims().get("custom");
        assertThat(custom).containsEntry("n", null);
        assertThat(custom.get("list")).isEqualTo(List.of(new BigDecimal("1.5"), true));
        assertThat(svid.toString()).contains(SUB).doesNotContain(token).doesNotContain(token.substring(token.lastIndexOf('.') + 1));
    }

    @Test
    void acceptsEs384WithAP384Key() throws Exception {
        String token = sign("{\"alg\":\"ES384\",\"kid\":\"ec384\"}", PAYLOAD, EC384.getPrivate(), "SHA384withECDSAinP1363Format");

        assertThat(VERIFIER.verify(token, "spiffe://example.org/db").algorithm()).isEqualTo("ES384");
    }

    @ParameterizedTest
    @ValueSource(strings = {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512"})
    void acceptsRsaTokens(String alg) throws Exception {
        String token = sign("{\"alg\":\"" + alg + "\",\"kid\":\"rsa\",\"typ\":\"JOSE\"}", PAYLOAD, RSA.getPrivate(), alg);

        assertThat(VERIFIER.verify(token, "spiffe://example.org/db").algorithm()).isEqualTo(alg);
    }

    @Test
    void acceptsASingleStringAudience() throws Exception {
        String token = es256("{\"sub\":\"" + SUB + "\",\"aud\":\"db\",\"exp\":" + EXP + "}");

        assertThat(VERIFIER.verify(token, "db").audience()).containsExactly("db");
    }

    @Test
    void rejectsATamperedSignature() throws Exception {
        String token = es256(PAYLOAD);
        char last = token.charAt(token.length() - 2);
        String tampered = token.substring(0, token.length() - 2) + (last == 'A' ? 'B' : 'A') + token.charAt(token.length() - 1);

        assertRejected(tampered, "spiffe://example.org/db", Rule.SIGNATURE, "does not verify under JWT authority \"ec\"");
    }

    @Test
    void rejectsATamperedPayload() throws Exception {
        String token = es256(PAYLOAD);
        String otherPayload = b64(PAYLOAD.replace("/sa/x", "/sa/admin"));
        String[] parts = token.split("\\.");

        assertRejected(parts[0] + "." + otherPayload + "." + parts[2], "spiffe://example.org/db", Rule.SIGNATURE, "does not verify");
    }

    @Test
    void rejectsADerEcdsaSignature() throws Exception {
        String token = sign("{\"alg\":\"ES256\",\"kid\":\"ec\"}", PAYLOAD, EC.getPrivate(), "SHA256withECDSA");

        assertRejected(token, "spiffe://example.org/db", Rule.SIGNATURE, "does not verify");
    }

    @Test
    void rejectsAnUnknownKid() throws Exception {
        String token = sign("{\"alg\":\"ES256\",\"kid\":\"nope\"}", PAYLOAD, EC.getPrivate(), "SHA256withECDSAinP1363Format");

        assertRejected(token, "spiffe://example.org/db", Rule.UNKNOWN_KEY, "has no JWT authority with kid \"nope\"");
    }

    @Test
    void rejectsAKeyOfAnotherTrustDomain() throws Exception {
        // Signed by other.example's authority, claiming an example.org subject: the kid is looked up in
        // example.org's bundle only.
        String token = sign("{\"alg\":\"ES256\",\"kid\":\"other\"}", PAYLOAD, OTHER_EC.getPrivate(), "SHA256withECDSAinP1363Format");

        assertRejected(token, "spiffe://example.org/db", Rule.UNKNOWN_KEY, "the bundle of example.org has no JWT authority");
    }

    @Test
    void rejectsASubjectOfAnUntrustedTrustDomain() throws Exception {
        String token = es256("{\"sub\":\"spiffe://evil.example/ns/a/sa/x\",\"aud\":\"db\",\"exp\":" + EXP + "}");

        assertRejected(token, "db", Rule.NO_BUNDLE, "no bundle for trust domain evil.example");
    }

    @Test
    void rejectsAlgNoneAndHmac() throws Exception {
        String none = b64("{\"alg\":\"none\",\"kid\":\"ec\"}") + "." + b64(PAYLOAD) + ".";
        assertRejected(none, "spiffe://example.org/db", Rule.ALGORITHM, "alg \"none\" is not allowed");

        String hmac = b64("{\"alg\":\"HS256\",\"kid\":\"ec\"}") + "." + b64(PAYLOAD) + "." + b64("mac");
        assertRejected(hmac, "spiffe://example.org/db", Rule.ALGORITHM, "alg \"HS256\" is not allowed");

        String missing = b64("{\"kid\":\"ec\"}") + "." + b64(PAYLOAD) + "." + b64("sig");
        assertRejected(missing, "spiffe://example.org/db", Rule.ALGORITHM, "alg is missing");
    }

    @Test
    void rejectsAnAlgorithmThatDoesNotFitTheKey() throws Exception {
        String rsaOnEc = sign("{\"alg\":\"RS256\",\"kid\":\"ec\"}", PAYLOAD, RSA.getPrivate(), "RS256");
        assertRejected(rsaOnEc, "spiffe://example.org/db", Rule.ALGORITHM, "RS256 does not fit the EC_P256 key");

        String es384OnP256 = sign("{\"alg\":\"ES384\",\"kid\":\"ec\"}", PAYLOAD, EC.getPrivate(), "SHA384withECDSAinP1363Format");
        assertRejected(es384OnP256, "spiffe://example.org/db", Rule.ALGORITHM, "ES384 does not fit the EC_P256 key");
    }

    @Test
    void rejectsAWeakKey() throws Exception {
        String token = sign("{\"alg\":\"RS256\",\"kid\":\"weak\"}", PAYLOAD, WEAK_RSA.getPrivate(), "RS256");

        assertRejected(token, "spiffe://example.org/db", Rule.WEAK_KEY, "RSA key of 1024 bits");
    }

    @Test
    void rejectsAnExpiredToken() throws Exception {
        String token = es256("{\"sub\":\"" + SUB + "\",\"aud\":\"db\",\"exp\":" + NOW.getEpochSecond() + "}");

        assertRejected(token, "db", Rule.EXPIRED, "expired at 2030-01-01T00:00:00Z");
    }

    @Test
    void rejectsATokenWithoutExpiry() throws Exception {
        assertRejected(es256("{\"sub\":\"" + SUB + "\",\"aud\":\"db\"}"), "db", Rule.EXPIRY, "exp is missing");
        assertRejected(es256("{\"sub\":\"" + SUB + "\",\"aud\":\"db\",\"exp\":\"soon\"}"), "db", Rule.EXPIRY,
                "exp \"soon\"");
    }

    @Test
    void rejectsATokenNotYetValid() throws Exception {
        String token = es256("{\"sub\":\"" + SUB + "\",\"aud\":\"db\",\"exp\":" + EXP + ",\"nbf\":" + (EXP - 1) + "}");

        assertRejected(token, "db", Rule.NOT_YET_VALID, "not valid before");
    }

    @Test
    void rejectsTheWrongAudience() throws Exception {
        assertRejected(es256(PAYLOAD), "spiffe://example.org/web", Rule.AUDIENCE,
                "aud [\"spiffe://example.org/db\"] does not contain \"spiffe://example.org/web\"");
        assertRejected(es256("{\"sub\":\"" + SUB + "\",\"exp\":" + EXP + "}"), "db", Rule.AUDIENCE, "aud is missing");
        assertRejected(es256("{\"sub\":\"" + SUB + "\",\"aud\":[],\"exp\":" + EXP + "}"), "db", Rule.AUDIENCE,
                "expected: a non-empty string or array of strings");
        assertRejected(es256("{\"sub\":\"" + SUB + "\",\"aud\":[\"db\",7],\"exp\":" + EXP + "}"), "db", Rule.AUDIENCE,
                "aud has an element 7");
    }

    @Test
    void rejectsABadSubject() throws Exception {
        assertRejected(es256("{\"aud\":\"db\",\"exp\":" + EXP + "}"), "db", Rule.SUBJECT, "sub is missing");
        assertRejected(es256("{\"sub\":\"https://example.org/x\",\"aud\":\"db\",\"exp\":" + EXP + "}"), "db",
                Rule.SUBJECT, "sub is not a valid SPIFFE ID");
        assertRejected(es256("{\"sub\":\"spiffe://example.org\",\"aud\":\"db\",\"exp\":" + EXP + "}"), "db",
                Rule.SUBJECT, "is a trust domain, not a workload");
    }

    @Test
    void rejectsHeadersOutsideTheSpecification() throws Exception {
        String jku = sign("{\"alg\":\"ES256\",\"kid\":\"ec\",\"jku\":\"https://evil.example/keys\"}", PAYLOAD,
                EC.getPrivate(), "SHA256withECDSAinP1363Format");
        assertRejected(jku, "spiffe://example.org/db", Rule.HEADER, "header \"jku\" is not allowed");

        String crit = sign("{\"alg\":\"ES256\",\"kid\":\"ec\",\"crit\":[\"exp\"]}", PAYLOAD, EC.getPrivate(),
                "SHA256withECDSAinP1363Format");
        assertRejected(crit, "spiffe://example.org/db", Rule.HEADER, "header \"crit\"");
    }

    @Test
    void rejectsAnotherTypeAndAMissingKid() throws Exception {
        String typ = sign("{\"alg\":\"ES256\",\"kid\":\"ec\",\"typ\":\"at+jwt\"}", PAYLOAD, EC.getPrivate(),
                "SHA256withECDSAinP1363Format");
        assertRejected(typ, "spiffe://example.org/db", Rule.TYPE, "typ \"at+jwt\"");

        String noKid = sign("{\"alg\":\"ES256\"}", PAYLOAD, EC.getPrivate(), "SHA256withECDSAinP1363Format");
        assertRejected(noKid, "spiffe://example.org/db", Rule.KEY_ID, "kid is missing");

        String emptyKid = sign("{\"alg\":\"ES256\",\"kid\":\"\"}", PAYLOAD, EC.getPrivate(), "SHA256withECDSAinP1363Format");
        assertRejected(emptyKid, "spiffe://example.org/db", Rule.KEY_ID, "is not a non-empty string");
    }

    @Test
    void rejectsMalformedTokens() throws Exception {
        String good = es256(PAYLOAD);
        String[] parts = good.split("\\.");
        assertRejected(parts[0] + "." + parts[1], "db", Rule.MALFORMED, "three base64url segments");
        assertRejected(good + ".x", "db", Rule.MALFORMED, "three base64url segments");
        assertRejected("." + parts[1] + "." + parts[2], "db", Rule.MALFORMED, "the header segment is empty");
        assertRejected(parts[0] + "=." + parts[1] + "." + parts[2], "db", Rule.MALFORMED, "not unpadded base64url");
        assertRejected(b64("[1]") + "." + parts[1] + "." + parts[2], "db", Rule.MALFORMED, "the header is not a JSON object");
        assertRejected(b64("{\"alg\":\"ES256\",\"alg\":\"none\"}") + "." + parts[1] + "." + parts[2], "db",
                Rule.MALFORMED, "duplicate member name");
        assertRejected(parts[0] + "." + b64("not json") + "." + parts[2], "db", Rule.MALFORMED, "the payload is not valid JSON");
        assertRejected(parts[0] + "." + parts[1] + "." + parts[2] + "$", "db", Rule.MALFORMED, "signature segment");
    }

    @Test
    void rejectsOversizedTokens() {
        String token = "a".repeat(JwtSvidVerifier.MAX_TOKEN_LENGTH + 1);

        assertRejected(token, "db", Rule.TOO_LONG, "token of 16385 characters");
    }

    @Test
    void messagesNeverContainTheToken() throws Exception {
        String token = es256(PAYLOAD);

        JwtSvidValidationException e = catchThrowableOfType(JwtSvidValidationException.class,
                () -> VERIFIER.verify(token, "nobody"));

        assertThat(e.getMessage()).doesNotContain(token).doesNotContain(token.split("\\.")[2]);
    }

    @Test
    void anEmptyExpectedAudienceIsAProgrammingError() {
        assertThatThrownBy(() -> VERIFIER.verify("a.b.c", "")).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("expectedAudience: empty");
    }

    private static void assertRejected(String token, String audience, Rule rule, String message) {
        JwtSvidValidationException e = catchThrowableOfType(JwtSvidValidationException.class,
                () -> VERIFIER.verify(token, audience));
        assertThat(e).as("expected a rejection for rule %s", rule).isNotNull();
        assertThat(e.rule()).as(e.getMessage()).isEqualTo(rule);
        assertThat(e.getMessage()).startsWith("JWT-SVID rejected [" + rule + "]: ").contains(message);
    }

    private static String es256(String payload) throws GeneralSecurityException {
        return sign("{\"alg\":\"ES256\",\"kid\":\"ec\",\"typ\":\"JWT\"}", payload, EC.getPrivate(),
                "SHA256withECDSAinP1363Format");
    }

    /** Signs with the JDK's own providers, independently of identity-core's signing code. */
    private static String sign(String header, String payload, PrivateKey key, String algorithm)
            throws GeneralSecurityException {
        String input = b64(header) + "." + b64(payload);
        Signature signer;
        if (algorithm.startsWith("PS")) {
            String digest = "SHA-" + algorithm.substring(2);
            signer = Signature.getInstance("RSASSA-PSS");
            signer.setParameter(new PSSParameterSpec(digest, "MGF1", new MGF1ParameterSpec(digest),
                    Integer.parseInt(algorithm.substring(2)) / 8, 1));
        } else if (algorithm.startsWith("RS")) {
            signer = Signature.getInstance("SHA" + algorithm.substring(2) + "withRSA");
        } else {
            signer = Signature.getInstance(algorithm);
        }
        signer.initSign(key);
        signer.update(input.getBytes(StandardCharsets.US_ASCII));
        return input + "." + Base64.getUrlEncoder().withoutPadding().encodeToString(signer.sign());
    }

    private static String b64(String s) {
        return Base64.getUrlEncoder().withoutPadding().encodeToString(s.getBytes(StandardCharsets.UTF_8));
    }

    private static KeyPair weakRsa() {
        try {
            KeyPairGenerator generator = KeyPairGenerator.getInstance("RSA");
            generator.initialize(1024);
            return generator.generateKeyPair();
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException(e);
        }
    }
}
