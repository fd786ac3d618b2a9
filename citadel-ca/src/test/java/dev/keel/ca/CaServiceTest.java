package dev.keel.ca;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.keel.ca.audit.AuditLogVerifier;
import dev.keel.ca.auth.AuthenticationException;
import dev.keel.ca.auth.Caller;
import dev.keel.ca.auth.CallerAuthenticator;
import dev.keel.ca.auth.CallerCredentials;
import dev.keel.identity.KeyType;
import dev.keel.identity.SpiffeId;
import dev.keel.identity.TrustDomain;
import dev.keel.testing.TestCsr;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The CA signs only the identity the caller proved, whatever the CSR says (the impersonation class
 * of CVE-2022-39388), refuses bad input with a clear status, and audits every decision durably.
 */
class CaServiceTest {

    static final String X = "spiffe://cluster.local/ns/a/sa/x";
    static final String Y = "spiffe://cluster.local/ns/b/sa/y";

    /** A token authenticator for unit tests; end-to-end tests use TokenReview against a mock API server. */
    static final CallerAuthenticator TOKENS = credentials -> {
        if (credentials.bearerToken().isEmpty()) {
            return Optional.empty();
        }
        String token = credentials.bearerToken().get();
        if (token.equals("token-for-a-x")) {
            return Optional.of(new Caller(SpiffeId.parse(X), "k8s-token", "system:serviceaccount:a:x"));
        }
        if (token.equals("reviewer-down")) {
            throw new AuthenticationException("token review: API server unreachable", true, null);
        }
        throw new AuthenticationException("token review: not authenticated");
    };

    static final CallerCredentials AS_X = new CallerCredentials("token-for-a-x", List.of());

    @TempDir
    Path dir;

    CitadelCa ca;

    @BeforeEach
    void start() throws Exception {
        CaDirectory.LoadedCa loaded = CaDirectory.initSelfSigned(dir.resolve("ca"), TrustDomain.CLUSTER_LOCAL,
                KeyType.EC_P256, Clock.systemUTC());
        ca = CitadelCa.open(loaded, IssuancePolicy.DEFAULT, List.of(TOKENS), Clock.systemUTC());
    }

    @AfterEach
    void stop() {
        ca.close();
    }

    private CompletableFuture<IssuedX509Svid> create(CallerCredentials credentials, String csr) {
        return ca.service().createCertificate(credentials, csr, Duration.ZERO);
    }

    private static CaException failure(CompletableFuture<?> future) {
        assertThatThrownBy(future::join).isInstanceOf(java.util.concurrent.CompletionException.class);
        return CaService.unwrap(future.handle((ok, e) -> e).join());
    }

    @Test
    void callerGetsItsOwnIdentity() {
        IssuedX509Svid svid = create(AS_X, TestCsr.builder().uriSan(X).build().pem()).join();
        assertThat(svid.spiffeId()).hasToString(X);
    }

    @Test
    void csrWithoutSanGetsTheCallersIdentity() {
        IssuedX509Svid svid = create(AS_X, TestCsr.builder().build().pem()).join();
        assertThat(svid.spiffeId()).hasToString(X);
    }

    static Stream<Arguments> impersonations() {
        return Stream.of(
                Arguments.of("another identity", TestCsr.builder().uriSan(Y).build(), CaException.Code.PERMISSION_DENIED,
                        "may not obtain " + Y),
                Arguments.of("own identity plus another", TestCsr.builder().uriSan(X).uriSan(Y).build(),
                        CaException.Code.INVALID_ARGUMENT, "2 URI SANs"),
                Arguments.of("another identity plus own", TestCsr.builder().uriSan(Y).uriSan(X).build(),
                        CaException.Code.INVALID_ARGUMENT, "2 URI SANs"),
                Arguments.of("other identity in the subject CN", TestCsr.builder().subject("CN=" + Y).uriSan(Y).build(),
                        CaException.Code.PERMISSION_DENIED, "may not obtain"),
                Arguments.of("case-folded identity", TestCsr.builder().uriSan("spiffe://cluster.local/ns/A/sa/x").build(),
                        CaException.Code.PERMISSION_DENIED, "may not obtain"),
                Arguments.of("path trick", TestCsr.builder().uriSan("spiffe://cluster.local/ns/a/sa/x/../../b/sa/y").build(),
                        CaException.Code.PERMISSION_DENIED, "may not obtain"),
                Arguments.of("other trust domain", TestCsr.builder().uriSan("spiffe://evil.example/ns/a/sa/x").build(),
                        CaException.Code.PERMISSION_DENIED, "may not obtain"),
                Arguments.of("DNS SAN", TestCsr.builder().uriSan(X).dnsSan("payments.b.svc").build(),
                        CaException.Code.INVALID_ARGUMENT, "DNS:payments.b.svc is not allowed"),
                Arguments.of("CA certificate", TestCsr.builder().uriSan(X).requestCa().build(),
                        CaException.Code.INVALID_ARGUMENT, "asks for a CA certificate"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("impersonations")
    void aCallerCannotObtainAnythingButItsOwnLeaf(String name, TestCsr csr, CaException.Code code, String message) {
        CaException e = failure(create(AS_X, csr.pem()));
        assertThat(e.code()).isEqualTo(code);
        assertThat(e.getMessage()).contains(message);
    }

    static Stream<Arguments> badInput() {
        String good = TestCsr.builder().uriSan(X).build().pem();
        return Stream.of(
                Arguments.of("empty", "", "csr: empty"),
                Arguments.of("not PEM", "hello", "no PEM block found"),
                Arguments.of("wrong PEM type", good.replace("CERTIFICATE REQUEST", "CERTIFICATE"), "PEM block is \"CERTIFICATE\""),
                Arguments.of("garbage DER", "-----BEGIN CERTIFICATE REQUEST-----\nMIIBAAAA\n-----END CERTIFICATE REQUEST-----\n",
                        "not a valid PKCS#10 request"),
                Arguments.of("two requests", good + good, "more than one PEM block"),
                Arguments.of("signature does not verify", TestCsr.builder().uriSan(X).brokenSignature().build().pem(),
                        "signature does not verify"),
                Arguments.of("RSA-1024", TestCsr.builder().uriSan(X).weakRsa1024Key().build().pem(), "1024 bits"),
                Arguments.of("oversized", "-----BEGIN CERTIFICATE REQUEST-----\n" + "A".repeat(20_000)
                        + "\n-----END CERTIFICATE REQUEST-----\n", "characters (expected: <= 16384)"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("badInput")
    void badCsrsAreInvalidArgumentAndNothingIsIssued(String name, String csr, String message) throws Exception {
        CaException e = failure(create(AS_X, csr));
        assertThat(e.code()).isEqualTo(CaException.Code.INVALID_ARGUMENT);
        assertThat(e.getMessage()).contains(message);
        assertThat(auditLines()).allMatch(line -> line.contains("\"outcome\":\"refused\""));
    }

    @Test
    void rsaAndP384KeysAreAccepted() {
        assertThat(create(AS_X, TestCsr.builder().keyType(KeyType.RSA_2048).uriSan(X).build().pem()).join().leaf()
                .getPublicKey().getAlgorithm()).isEqualTo("RSA");
        assertThat(create(AS_X, TestCsr.builder().keyType(KeyType.EC_P384).uriSan(X).build().pem()).join().leaf()
                .getPublicKey().getAlgorithm()).isEqualTo("EC");
    }

    @Test
    void absurdTtlsAreRefused() {
        String csr = TestCsr.builder().uriSan(X).build().pem();
        CaException negative = failure(ca.service().createCertificate(AS_X, csr, Duration.ofSeconds(-1)));
        assertThat(negative.code()).isEqualTo(CaException.Code.INVALID_ARGUMENT);
        CaException huge = failure(ca.service().createCertificate(AS_X, csr, Duration.ofSeconds(Long.MAX_VALUE)));
        assertThat(huge.code()).isEqualTo(CaException.Code.INVALID_ARGUMENT);
        assertThat(huge.getMessage()).contains("ttl");
    }

    @Test
    void longTtlIsCappedNotRefused() {
        IssuedX509Svid svid = ca.service().createCertificate(AS_X, TestCsr.builder().uriSan(X).build().pem(),
                Duration.ofDays(365)).join();
        assertThat(Duration.between(svid.leaf().getNotBefore().toInstant(), svid.notAfter()))
                .isLessThanOrEqualTo(IssuancePolicy.DEFAULT.maxTtl().plus(IssuancePolicy.DEFAULT.backdate()));
    }

    @Test
    void unauthenticatedAndInvalidCredentialsAreRefused() {
        String csr = TestCsr.builder().uriSan(X).build().pem();
        assertThat(failure(create(CallerCredentials.none(), csr)).code()).isEqualTo(CaException.Code.UNAUTHENTICATED);
        assertThat(failure(create(new CallerCredentials("forged", List.of()), csr)).code())
                .isEqualTo(CaException.Code.UNAUTHENTICATED);
        assertThat(failure(create(new CallerCredentials("reviewer-down", List.of()), csr)).code())
                .isEqualTo(CaException.Code.UNAVAILABLE);
    }

    @Test
    void everyIssuanceAndRefusalIsAuditedAndTheChainVerifies() throws Exception {
        create(AS_X, TestCsr.builder().uriSan(X).build().pem()).join();
        failure(create(AS_X, TestCsr.builder().uriSan(Y).build().pem()));
        failure(create(CallerCredentials.none(), TestCsr.builder().uriSan(Y).build().pem()));

        List<String> lines = auditLines();
        assertThat(lines).hasSize(3);
        assertThat(lines.get(0)).contains("\"outcome\":\"issued\"", "\"caller\":\"k8s-token:system:serviceaccount:a:x\"",
                "\"spiffe_id\":\"" + X + "\"");
        assertThat(lines.get(1)).contains("\"outcome\":\"refused\"", "PERMISSION_DENIED", "may not obtain " + Y);
        assertThat(lines.get(2)).contains("\"outcome\":\"refused\"", "\"caller\":\"unauthenticated\"", "UNAUTHENTICATED");
        assertThat(AuditLogVerifier.verify(ca.loaded().auditLog()).ok()).isTrue();
        assertThat(String.join("\n", lines)).doesNotContain("token-for-a-x");
    }

    @Test
    void whenTheAuditLogCannotBeWrittenNothingIsIssued() {
        ca.audit().close();
        CaException e = failure(create(AS_X, TestCsr.builder().uriSan(X).build().pem()));
        assertThat(e.code()).isEqualTo(CaException.Code.UNAVAILABLE);
        assertThat(e.getMessage()).contains("audit log unavailable, nothing issued");
    }

    @Test
    void operatorIssuanceUsesTheCsrsIdentityAndIsAudited() throws Exception {
        IssuedX509Svid svid = ca.service().issueAsOperator("alice", TestCsr.builder().uriSan(Y).build().pem(),
                Duration.ofHours(1)).join();
        assertThat(svid.spiffeId()).hasToString(Y);
        assertThat(auditLines().get(0)).contains("\"caller\":\"operator:alice\"");
        CaException noSan = failure(ca.service().issueAsOperator("alice", TestCsr.builder().build().pem(), Duration.ZERO));
        assertThat(noSan.getMessage()).contains("no URI SAN");
    }

    @Test
    void jwtSvidIsMintedOnlyForTheCallersOwnIdentity() throws Exception {
        MintedJwtSvid jwt = ca.service().mintJwtSvid(AS_X, null, List.of("payments"), Duration.ZERO).join();
        assertThat(jwt.spiffeId()).hasToString(X);
        assertThat(jwt.toString()).doesNotContain(jwt.token());
        CaException other = failure(ca.service().mintJwtSvid(AS_X, SpiffeId.parse(Y), List.of("payments"), Duration.ZERO));
        assertThat(other.code()).isEqualTo(CaException.Code.PERMISSION_DENIED);
        assertThat(auditLines()).hasSize(2);
        assertThat(auditLines().get(0)).contains("\"serial\":\"jwt:" + jwt.jwtId() + "\"").doesNotContain(jwt.token());
    }

    @Test
    void malformedJwtRequestsAreRefusedAndAudited() throws Exception {
        CaException badId = failure(ca.service().mintJwtSvid(AS_X, "spiffe://cluster.local/ns/a/../x", List.of("a"), 0));
        assertThat(badId.code()).isEqualTo(CaException.Code.INVALID_ARGUMENT);
        CaException badTtl = failure(ca.service().mintJwtSvid(AS_X, "", List.of("a"), -1));
        assertThat(badTtl.code()).isEqualTo(CaException.Code.INVALID_ARGUMENT);
        assertThat(auditLines()).hasSize(2).allMatch(line -> line.contains("\"outcome\":\"refused\""));
    }

    @Test
    void anAuthenticatorThatBreaksIsRefusedAsInternalAndAudited() throws Exception {
        CitadelCa broken = CitadelCa.open(CaDirectory.initSelfSigned(dir.resolve("ca2"), TrustDomain.CLUSTER_LOCAL,
                KeyType.EC_P256, Clock.systemUTC()), IssuancePolicy.DEFAULT, List.of(credentials -> {
                    throw new IllegalStateException("bug with a secret detail");
                }), Clock.systemUTC());
        try {
            CaException e = failure(broken.service().createCertificate(AS_X, TestCsr.builder().uriSan(X).build().pem(),
                    Duration.ZERO));
            assertThat(e.code()).isEqualTo(CaException.Code.INTERNAL);
            assertThat(e.getMessage()).doesNotContain("secret");
            assertThat(Files.readAllLines(broken.loaded().auditLog())).singleElement().asString()
                    .contains("\"outcome\":\"refused\"", "INTERNAL");
        } finally {
            broken.close();
        }
    }

    private List<String> auditLines() throws Exception {
        Path log = ca.loaded().auditLog();
        return Files.exists(log) ? Files.readAllLines(log, StandardCharsets.UTF_8) : List.of();
    }
}
