package dev.keel.ca.auth;

import static dev.keel.ca.auth.TestJwts.AUDIENCE;
import static dev.keel.ca.auth.TestJwts.ISSUER;
import static dev.keel.ca.auth.TestJwts.NOW;
import static dev.keel.ca.auth.TestJwts.ec;
import static dev.keel.ca.auth.TestJwts.jwks;
import static dev.keel.ca.auth.TestJwts.rsa;
import static dev.keel.ca.auth.TestJwts.token;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatExceptionOfType;
import static org.assertj.core.api.Assertions.assertThatIllegalArgumentException;

import dev.keel.identity.SpiffeId;
import dev.keel.identity.TrustDomain;
import io.fabric8.mockwebserver.DefaultMockServer;
import java.io.InputStream;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Map;
import org.jose4j.jwk.JsonWebKey.OutputControlLevel;
import org.jose4j.jwk.JsonWebKeySet;
import org.jose4j.jwk.OctetSequenceJsonWebKey;
import org.jose4j.jws.AlgorithmIdentifiers;
import org.jose4j.keys.HmacKey;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class JwtIssuerAuthenticatorTest extends ServiceAccountAuthenticatorContract {

    private static final TrustDomain TRUST_DOMAIN = TrustDomain.parse("cluster.local");
    private static final SpiffeId ORDERS = SpiffeId.parse("spiffe://cluster.local/ns/default/sa/orders");

    private final JwtIssuerAuthenticator authenticator = JwtIssuerAuthenticator.builder(TRUST_DOMAIN, ISSUER)
            .audiences(AUDIENCE)
            .jwks(jwks(rsa("rsa-1"), ec("ec-1")))
            .clock(Clock.fixed(NOW, ZoneOffset.UTC))
            .build();

    @Override
    CallerAuthenticator authenticator() {
        return authenticator;
    }

    @Test
    void rs256ServiceAccountTokenMapsToWorkloadId() throws Exception {
        Caller caller = authenticator.authenticate(bearer(token().signedBy(rsa("rsa-1")))).orElseThrow();

        assertThat(caller.identity()).isEqualTo(ORDERS);
        assertThat(caller.describe()).isEqualTo("jwt:system:serviceaccount:default:orders");
    }

    @Test
    void es256ServiceAccountTokenMapsToWorkloadId() throws Exception {
        String jwt = token().subject("system:serviceaccount:payments:ledger-v2")
                .kubernetesClaim(TestJwts.kubernetesClaim("payments", "ledger-v2"))
                .signedBy(ec("ec-1"));

        assertThat(authenticator.authenticate(bearer(jwt)).orElseThrow().identity())
                .isEqualTo(SpiffeId.parse("spiffe://cluster.local/ns/payments/sa/ledger-v2"));
    }

    @ParameterizedTest
    @ValueSource(strings = {"RS384", "RS512", "PS256"})
    void otherAllowedRsaAlgorithmsVerify(String alg) throws Exception {
        assertThat(authenticator.authenticate(bearer(token().algorithm(alg).signedBy(rsa("rsa-1")))))
                .map(Caller::identity).contains(ORDERS);
    }

    @Test
    void tokenWithoutKubernetesClaimIsJudgedBySubAlone() throws Exception {
        assertThat(authenticator.authenticate(bearer(token().kubernetesClaim(null).signedBy(rsa("rsa-1")))))
                .map(Caller::identity).contains(ORDERS);
    }

    @Test
    void expiredWithinClockSkewIsAccepted() throws Exception {
        String jwt = token().expiresAt(NOW.minusSeconds(30)).signedBy(rsa("rsa-1"));

        assertThat(authenticator.authenticate(bearer(jwt))).isPresent();
    }

    @Test
    void expiredBeyondClockSkewIsRefused() {
        assertRefused(token().expiresAt(NOW.minusSeconds(61)).signedBy(rsa("rsa-1")),
                "jwt: expired (allowed clock skew 60s)");
    }

    @Test
    void clockSkewIsConfigurable() {
        JwtIssuerAuthenticator strict = JwtIssuerAuthenticator.builder(TRUST_DOMAIN, ISSUER)
                .jwks(jwks(rsa("rsa-1")))
                .clockSkew(Duration.ZERO)
                .clock(Clock.fixed(NOW, ZoneOffset.UTC))
                .build();

        assertThatExceptionOfType(AuthenticationException.class)
                .isThrownBy(() -> strict.authenticate(bearer(token().expiresAt(NOW.minusSeconds(1)).signedBy(rsa("rsa-1")))))
                .withMessageStartingWith("jwt: expired");
    }

    @Test
    void tokenWithoutExpiryIsRefused() {
        assertRefused(token().expiresAt(null).signedBy(rsa("rsa-1")), "jwt: no exp claim");
    }

    @Test
    void oldIssuedAtIsFineWhileNotExpired() throws Exception {
        assertThat(authenticator.authenticate(bearer(token().issuedAt(NOW.minus(Duration.ofDays(400))).signedBy(rsa("rsa-1")))))
                .isPresent();
    }

    @Test
    void issuedInTheFutureIsRefused() {
        assertRefused(token().issuedAt(NOW.plusSeconds(600)).signedBy(rsa("rsa-1")), "jwt: not yet valid");
    }

    @Test
    void wrongIssuerIsRefused() {
        assertRefused(token().issuer("https://other-cluster.example").signedBy(rsa("rsa-1")),
                "jwt: wrong issuer (expected: \"" + ISSUER + "\")");
    }

    @Test
    void wrongAudienceIsRefused() {
        assertRefused(token().audiences("https://kubernetes.default.svc").signedBy(rsa("rsa-1")),
                "jwt: wrong audience (expected one of: [istio-ca])");
    }

    @Test
    void algNoneIsRefused() {
        assertRefused(token().unsigned("rsa-1"), "jwt: signature algorithm not allowed");
    }

    @Test
    void hmacKeyedWithThePublicKeyIsRefused() {
        // The classic algorithm confusion: a verifier that takes the key from the JWKS and the
        // algorithm from the token would check this HMAC against the RSA public key's bytes.
        byte[] publicKeyBytes = rsa("rsa-1").getPublicKey().getEncoded();
        String jwt = token().sign(new HmacKey(publicKeyBytes), AlgorithmIdentifiers.HMAC_SHA256, "rsa-1");

        assertRefused(jwt, "jwt: signature algorithm not allowed");
    }

    @Test
    void hmacKeyedWithTheJwkJsonIsRefused() {
        byte[] jwkBytes = rsa("rsa-1").toJson(OutputControlLevel.PUBLIC_ONLY).getBytes(java.nio.charset.StandardCharsets.UTF_8);
        String jwt = token().sign(new HmacKey(jwkBytes), AlgorithmIdentifiers.HMAC_SHA256, "rsa-1");

        assertRefused(jwt, "jwt: signature algorithm not allowed");
    }

    @Test
    void unknownKeyIdIsRefused() {
        assertRefused(token().keyId("rotated-away").signedBy(rsa("rsa-1")),
                "jwt: no key in the JWKS from inline JWKS matches the token's kid and algorithm");
    }

    @Test
    void signatureByAnotherKeyWithTheSameKidIsRefused() {
        assertRefused(token().keyId("rsa-1").signedBy(rsa("attacker")), "jwt: signature does not verify");
    }

    @Test
    void tamperedPayloadIsRefused() {
        String jwt = token().signedBy(rsa("rsa-1"));
        String[] parts = jwt.split("\\.");
        String forged = token().subject("system:serviceaccount:kube-system:admin")
                .kubernetesClaim(TestJwts.kubernetesClaim("kube-system", "admin")).signedBy(rsa("attacker"));
        String spliced = parts[0] + "." + forged.split("\\.")[1] + "." + parts[2];

        assertRefused(spliced, "jwt: signature does not verify");
    }

    @ParameterizedTest
    @ValueSource(strings = {
        "alice",
        "system:node:worker-1",
        "system:serviceaccount:default",
        "system:serviceaccount::orders",
        "system:serviceaccount:default:",
        "system:serviceaccount:default:orders:extra",
        "system:serviceaccounts:default"})
    void subjectThatIsNotAServiceAccountIsRefused(String subject) {
        assertRefused(token().subject(subject).kubernetesClaim(null).signedBy(rsa("rsa-1")),
                "jwt: sub \"" + subject + "\" is not a service account");
    }

    @ParameterizedTest
    @ValueSource(strings = {"system:serviceaccount:default:a/b", "system:serviceaccount:..:orders",
        "system:serviceaccount:default:o%72ders"})
    void subjectThatIsNotAValidSpiffePathIsRefused(String subject) {
        assertRefused(token().subject(subject).kubernetesClaim(null).signedBy(rsa("rsa-1")),
                "jwt: service account \"" + subject + "\" does not map to a SPIFFE ID");
    }

    @Test
    void kubernetesClaimDisagreeingWithSubIsRefused() {
        assertRefused(token().kubernetesClaim(TestJwts.kubernetesClaim("kube-system", "orders")).signedBy(rsa("rsa-1")),
                "jwt: claim kubernetes.io (namespace \"kube-system\", serviceaccount.name \"orders\") does not agree"
                        + " with sub \"system:serviceaccount:default:orders\"");
        assertRefused(token().kubernetesClaim(TestJwts.kubernetesClaim("default", "admin")).signedBy(rsa("rsa-1")),
                "jwt: claim kubernetes.io");
    }

    @Test
    void kubernetesClaimOfTheWrongShapeIsRefused() {
        assertRefused(token().kubernetesClaim("default").signedBy(rsa("rsa-1")), "jwt: claim kubernetes.io");
        assertRefused(token().kubernetesClaim(Map.of("namespace", "default")).signedBy(rsa("rsa-1")),
                "jwt: claim kubernetes.io");
    }

    @Test
    void garbageIsRefused() {
        assertRefused("not-a-jwt", "jwt: not a valid signed JWT");
    }

    @Test
    void builderChecksItsArguments() {
        assertThatIllegalArgumentException()
                .isThrownBy(() -> JwtIssuerAuthenticator.builder(TRUST_DOMAIN, ISSUER).build())
                .withMessage("jwks: not set (expected: jwks(json) or jwksUri(uri))");
        assertThatIllegalArgumentException()
                .isThrownBy(() -> JwtIssuerAuthenticator.builder(TRUST_DOMAIN, ISSUER).clockSkew(Duration.ofSeconds(-1)))
                .withMessage("clockSkew: -1s (expected: >= 0s and <= 3600s)");
        assertThatIllegalArgumentException()
                .isThrownBy(() -> JwtIssuerAuthenticator.builder(TRUST_DOMAIN, ISSUER).audiences(List.of()))
                .withMessage("audiences: [] (expected: at least one)");
        assertThatIllegalArgumentException()
                .isThrownBy(() -> JwtIssuerAuthenticator.builder(TRUST_DOMAIN, ISSUER).jwksFetchTimeout(Duration.ZERO))
                .withMessageStartingWith("jwksFetchTimeout: 0s (expected: > 0");
        assertThatIllegalArgumentException()
                .isThrownBy(() -> JwtIssuerAuthenticator.builder(TRUST_DOMAIN, ISSUER)
                        .jwksUri(URI.create("http://kubernetes.default.svc/openid/v1/jwks")))
                .withMessage("jwksUri: http://kubernetes.default.svc/openid/v1/jwks (expected: https://<host>/...)");
        assertThatIllegalArgumentException()
                .isThrownBy(() -> JwtIssuerAuthenticator.builder(TRUST_DOMAIN, ISSUER)
                        .jwks(jwks(rsa("rsa-1"))).jwksUri(URI.create("https://kubernetes.default.svc/openid/v1/jwks")).build())
                .withMessage("jwks and jwksUri: both set (expected: one)");
    }

    @Test
    void jwksMustHoldOnlyPublicAsymmetricKeys() throws Exception {
        String withPrivate = new JsonWebKeySet(rsa("rsa-1")).toJson(OutputControlLevel.INCLUDE_PRIVATE);
        assertThatIllegalArgumentException()
                .isThrownBy(() -> JwtIssuerAuthenticator.builder(TRUST_DOMAIN, ISSUER).jwks(withPrivate).build())
                .withMessage("jwks: key \"rsa-1\" contains private key material (expected: public keys only)");

        OctetSequenceJsonWebKey hmac = new OctetSequenceJsonWebKey(new HmacKey(new byte[32]));
        hmac.setKeyId("shared");
        String symmetric = new JsonWebKeySet(hmac).toJson(OutputControlLevel.INCLUDE_SYMMETRIC);
        assertThatIllegalArgumentException()
                .isThrownBy(() -> JwtIssuerAuthenticator.builder(TRUST_DOMAIN, ISSUER).jwks(symmetric).build())
                .withMessage("jwks: key \"shared\" has type oct (expected: RSA or EC public keys)");

        assertThatIllegalArgumentException()
                .isThrownBy(() -> JwtIssuerAuthenticator.builder(TRUST_DOMAIN, ISSUER).jwks("{\"keys\":[]}").build())
                .withMessage("jwks: no keys (expected: at least one)");
        assertThatIllegalArgumentException()
                .isThrownBy(() -> JwtIssuerAuthenticator.builder(TRUST_DOMAIN, ISSUER).jwks("nope").build())
                .withMessageStartingWith("jwks: not a JSON Web Key Set");
    }

    private void assertRefused(String jwt, String message) {
        assertThatExceptionOfType(AuthenticationException.class)
                .isThrownBy(() -> authenticator.authenticate(bearer(jwt)))
                .withMessageStartingWith(message)
                .withMessageContaining(ServiceAccountTokens.hint(jwt))
                .matches(e -> !e.unavailable(), "not unavailable")
                .matches(e -> noPartOfTheToken(e, jwt), "no part of the token in messages or causes");
    }

    private static boolean noPartOfTheToken(Throwable e, String jwt) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            String message = String.valueOf(t.getMessage());
            for (String part : jwt.split("\\.")) {
                if (part.length() >= 8 && message.contains(part)) {
                    return false;
                }
            }
        }
        return true;
    }

    /** The same checks with the keys fetched over HTTPS, as from {@code /openid/v1/jwks}. */
    @Nested
    class HttpsJwks {

        @Test
        void keysAreFetchedOverHttpsAndCached() throws Exception {
            DefaultMockServer server = new DefaultMockServer(true);
            server.start();
            try {
                server.expect().get().withPath("/openid/v1/jwks")
                        .andReturn(200, jwks(rsa("rsa-1")))
                        .always();
                JwtIssuerAuthenticator remote = remote(server);

                assertThat(remote.authenticate(bearer(token().signedBy(rsa("rsa-1"))))).map(Caller::identity).contains(ORDERS);
                assertThat(remote.authenticate(bearer(token().subject("system:serviceaccount:default:other")
                        .kubernetesClaim(null).signedBy(rsa("rsa-1"))))).isPresent();
                assertThat(server.getRequestCount()).isEqualTo(1);
            } finally {
                server.shutdown();
            }
        }

        @Test
        void disallowedAlgorithmDoesNotTriggerAFetch() throws Exception {
            DefaultMockServer server = new DefaultMockServer(true);
            server.start();
            try {
                server.expect().get().withPath("/openid/v1/jwks").andReturn(200, jwks(rsa("rsa-1"))).always();
                JwtIssuerAuthenticator remote = remote(server);
                String jwt = token().unsigned("made-up-kid");

                assertThatExceptionOfType(AuthenticationException.class)
                        .isThrownBy(() -> remote.authenticate(bearer(jwt)))
                        .withMessageStartingWith("jwt: signature algorithm not allowed");
                assertThat(server.getRequestCount()).isZero();
            } finally {
                server.shutdown();
            }
        }

        @Test
        void unreachableJwksIsUnavailableNotInvalid() throws Exception {
            DefaultMockServer server = new DefaultMockServer(true);
            server.start();
            try {
                server.expect().get().withPath("/openid/v1/jwks").andReturn(503, "down").always();
                JwtIssuerAuthenticator remote = remote(server);
                String jwt = token().signedBy(rsa("rsa-1"));

                assertThatExceptionOfType(AuthenticationException.class)
                        .isThrownBy(() -> remote.authenticate(bearer(jwt)))
                        .withMessageStartingWith("jwt: JWKS unavailable from https://localhost:" + server.getPort())
                        .matches(AuthenticationException::unavailable, "unavailable");
            } finally {
                server.shutdown();
            }
        }

        private JwtIssuerAuthenticator remote(DefaultMockServer server) throws Exception {
            return JwtIssuerAuthenticator.builder(TRUST_DOMAIN, ISSUER)
                    .jwksUri(URI.create("https://localhost:" + server.getPort() + "/openid/v1/jwks"))
                    .jwksTrustedCertificates(List.of(certificate(server)))
                    .jwksFetchTimeout(Duration.ofSeconds(2))
                    .clock(Clock.fixed(NOW, ZoneOffset.UTC))
                    .build();
        }

        private X509Certificate certificate(DefaultMockServer server) throws Exception {
            try (InputStream in = Files.newInputStream(Path.of(server.getSelfSignedCertificate().certificatePath()))) {
                return (X509Certificate) CertificateFactory.getInstance("X.509").generateCertificate(in);
            }
        }
    }
}
