package dev.keel.ca.auth;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatExceptionOfType;
import static org.assertj.core.api.Assertions.assertThatIllegalArgumentException;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.keel.identity.SpiffeId;
import dev.keel.identity.TrustDomain;
import io.fabric8.kubernetes.api.model.authentication.TokenReview;
import io.fabric8.kubernetes.api.model.authentication.TokenReviewBuilder;
import io.fabric8.kubernetes.client.ConfigBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import io.fabric8.kubernetes.client.server.mock.KubernetesMockServer;
import io.fabric8.mockwebserver.http.RecordedRequest;
import java.net.ServerSocket;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class KubernetesTokenReviewAuthenticatorTest extends ServiceAccountAuthenticatorContract {

    private static final String PATH = "/apis/authentication.k8s.io/v1/tokenreviews";
    private static final String TOKEN = "eyJhbGciOiJSUzI1NiIsImtpZCI6ImsxIn0.eyJzdWIiOiJvcmRlcnMifQ.c2lnbmF0dXJl";
    private static final TrustDomain TRUST_DOMAIN = TrustDomain.parse("cluster.local");

    private KubernetesMockServer server;
    private KubernetesClient client;
    private KubernetesTokenReviewAuthenticator authenticator;

    @BeforeEach
    void start() {
        server = new KubernetesMockServer(false);
        server.init();
        client = server.createClient();
        authenticator = KubernetesTokenReviewAuthenticator.builder(client, TRUST_DOMAIN).build();
    }

    @AfterEach
    void stop() {
        client.close();
        server.destroy();
    }

    @Override
    CallerAuthenticator authenticator() {
        return authenticator;
    }

    @Test
    void authenticatedServiceAccountMapsToWorkloadId() throws Exception {
        reviewReturns(authenticated("system:serviceaccount:default:orders", "istio-ca"));

        Caller caller = authenticator.authenticate(bearer(TOKEN)).orElseThrow();

        assertThat(caller.identity()).isEqualTo(SpiffeId.parse("spiffe://cluster.local/ns/default/sa/orders"));
        assertThat(caller.describe()).isEqualTo("k8s-token:system:serviceaccount:default:orders");
    }

    @Test
    void requestCarriesTheTokenAndTheAudiences() throws Exception {
        reviewReturns(authenticated("system:serviceaccount:default:orders", "istio-ca"));

        authenticator.authenticate(bearer(TOKEN));

        RecordedRequest request = server.takeRequest(5, TimeUnit.SECONDS);
        assertThat(request.getMethod()).isEqualTo("POST");
        assertThat(request.getPath()).isEqualTo(PATH);
        JsonNode body = new ObjectMapper().readTree(request.getBody().readUtf8());
        assertThat(body.at("/apiVersion").asText()).isEqualTo("authentication.k8s.io/v1");
        assertThat(body.at("/kind").asText()).isEqualTo("TokenReview");
        assertThat(body.at("/spec/token").asText()).isEqualTo(TOKEN);
        assertThat(body.at("/spec/audiences")).hasSize(1);
        assertThat(body.at("/spec/audiences/0").asText()).isEqualTo("istio-ca");
    }

    @Test
    void configuredAudiencesAreRequestedAndAnyOneSuffices() throws Exception {
        authenticator = KubernetesTokenReviewAuthenticator.builder(client, TRUST_DOMAIN)
                .audiences("keel-ca", "istio-ca").build();
        reviewReturns(authenticated("system:serviceaccount:default:orders", "istio-ca"));

        assertThat(authenticator.authenticate(bearer(TOKEN))).isPresent();

        JsonNode body = new ObjectMapper().readTree(server.takeRequest(5, TimeUnit.SECONDS).getBody().readUtf8());
        assertThat(body.at("/spec/audiences").toString()).isEqualTo("[\"keel-ca\",\"istio-ca\"]");
    }

    @Test
    void withoutAudiencesNoneAreRequestedOrChecked() throws Exception {
        authenticator = KubernetesTokenReviewAuthenticator.builder(client, TRUST_DOMAIN).audiences(List.of()).build();
        reviewReturns(authenticated("system:serviceaccount:default:orders"));

        assertThat(authenticator.authenticate(bearer(TOKEN))).isPresent();

        JsonNode body = new ObjectMapper().readTree(server.takeRequest(5, TimeUnit.SECONDS).getBody().readUtf8());
        assertThat(body.at("/spec/audiences").isMissingNode() || body.at("/spec/audiences").isEmpty()).isTrue();
    }

    @Test
    void notAuthenticatedIsRefused() {
        reviewReturns(new TokenReviewBuilder().withNewStatus()
                .withAuthenticated(false)
                .withError("[invalid bearer token, service account token has expired]")
                .endStatus().build());

        assertRefused("token review: not authenticated: [invalid bearer token, service account token has expired]");
    }

    @Test
    void authenticatedWithAnErrorIsRefused() {
        TokenReview review = authenticated("system:serviceaccount:default:orders", "istio-ca");
        review.getStatus().setError("partial failure");
        reviewReturns(review);

        assertRefused("token review: authenticated with an error: partial failure");
    }

    @Test
    void errorEchoingTheTokenIsRedacted() {
        reviewReturns(new TokenReviewBuilder().withNewStatus()
                .withAuthenticated(false).withError("cannot parse " + TOKEN).endStatus().build());

        assertRefused("token review: not authenticated: cannot parse <redacted>");
    }

    @Test
    void audienceMismatchIsRefused() {
        reviewReturns(authenticated("system:serviceaccount:default:orders", "https://kubernetes.default.svc"));

        assertRefused("token review: token is not valid for audiences [istio-ca] (API server returned "
                + "[\"https://kubernetes.default.svc\"])");
    }

    @Test
    void noAudiencesReturnedWhenSomeWereRequestedIsRefused() {
        // An empty status.audiences means "valid for the API server itself", not for the CA.
        reviewReturns(authenticated("system:serviceaccount:default:orders"));

        assertRefused("token review: token is not valid for audiences [istio-ca]");
    }

    @ParameterizedTest
    @ValueSource(strings = {
        "alice",
        "system:node:worker-1",
        "system:serviceaccount:default",
        "system:serviceaccount::orders",
        "system:serviceaccount:default:",
        "system:serviceaccount:default:orders:extra",
        "System:ServiceAccount:default:orders"})
    void usernameThatIsNotAServiceAccountIsRefused(String username) {
        reviewReturns(authenticated(username, "istio-ca"));

        assertRefused("token review: username \"" + username + "\" is not a service account "
                + "(expected: system:serviceaccount:<namespace>:<name>)");
    }

    @ParameterizedTest
    @ValueSource(strings = {
        "system:serviceaccount:default:a/b",
        "system:serviceaccount:default:or ders",
        "system:serviceaccount:..:orders",
        "system:serviceaccount:default:o%72ders",
        "system:serviceaccount:défault:orders"})
    void usernameWithBadCharactersIsRefused(String username) {
        reviewReturns(authenticated(username, "istio-ca"));

        assertRefused("token review: service account \"" + username + "\" does not map to a SPIFFE ID");
    }

    @Test
    void missingStatusOrUserIsRefused() {
        reviewReturns(new TokenReviewBuilder().build());
        assertRefused("token review: response has no status");

        server.clearExpectations();
        reviewReturns(new TokenReviewBuilder().withNewStatus().withAuthenticated(true)
                .withAudiences("istio-ca").endStatus().build());
        assertRefused("token review: username null is not a service account");
    }

    @Test
    void serverErrorIsUnavailableAndNotRetried() {
        server.expect().post().withPath(PATH).andReturn(500, "{}").always();

        assertUnavailable("token review: API server answered HTTP 500");
        assertThat(server.getRequestCount()).isEqualTo(1);
    }

    @Test
    void caWithoutPermissionIsUnavailableNotTheCallersFault() {
        server.expect().post().withPath(PATH).andReturn(403, "{}").once();

        assertUnavailable("token review: API server answered HTTP 403");
    }

    @Test
    void slowApiServerIsCutOffAtTheTimeout() {
        authenticator = KubernetesTokenReviewAuthenticator.builder(client, TRUST_DOMAIN)
                .timeout(Duration.ofMillis(300)).build();
        server.expect().post().delay(3, TimeUnit.SECONDS).withPath(PATH)
                .andReturn(201, authenticated("system:serviceaccount:default:orders", "istio-ca")).once();

        long start = System.nanoTime();
        assertUnavailable("token review: API server unreachable or no answer within ");
        assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofMillis(2500));
    }

    @Test
    void unreachableApiServerIsUnavailable() throws Exception {
        int closedPort;
        try (ServerSocket socket = new ServerSocket(0)) {
            closedPort = socket.getLocalPort();
        }
        try (KubernetesClient unreachable = new KubernetesClientBuilder()
                .withConfig(new ConfigBuilder().withMasterUrl("http://127.0.0.1:" + closedPort).build()).build()) {
            authenticator = KubernetesTokenReviewAuthenticator.builder(unreachable, TRUST_DOMAIN)
                    .timeout(Duration.ofSeconds(2)).build();

            assertUnavailable("token review: API server unreachable or no answer within ");
        }
    }

    @Test
    void oversizeTokenIsNotSentToTheApiServer() {
        assertThatExceptionOfType(AuthenticationException.class)
                .isThrownBy(() -> authenticator.authenticate(bearer("x".repeat(20_000))));
        assertThat(server.getRequestCount()).isZero();
    }

    @Test
    void builderChecksItsArguments() {
        assertThatIllegalArgumentException()
                .isThrownBy(() -> KubernetesTokenReviewAuthenticator.builder(client, TRUST_DOMAIN).timeout(Duration.ZERO))
                .withMessage("timeout: 0s (expected: > 0)");
        assertThatIllegalArgumentException()
                .isThrownBy(() -> KubernetesTokenReviewAuthenticator.builder(client, TRUST_DOMAIN).timeout(Duration.ofMillis(-5)))
                .withMessage("timeout: -5ms (expected: > 0)");
        assertThatIllegalArgumentException()
                .isThrownBy(() -> KubernetesTokenReviewAuthenticator.builder(client, TRUST_DOMAIN).audiences("istio-ca", ""))
                .withMessage("audience: \"\" (expected: non-empty)");
        assertThatExceptionOfType(NullPointerException.class)
                .isThrownBy(() -> KubernetesTokenReviewAuthenticator.builder(null, TRUST_DOMAIN))
                .withMessage("client");
    }

    private void reviewReturns(TokenReview review) {
        server.expect().post().withPath(PATH).andReturn(201, review).once();
    }

    private static TokenReview authenticated(String username, String... audiences) {
        return new TokenReviewBuilder()
                .withNewStatus()
                .withAuthenticated(true)
                .withAudiences(audiences)
                .withNewUser().withUsername(username).withUid("1f4b").withGroups("system:serviceaccounts").endUser()
                .endStatus()
                .build();
    }

    private void assertRefused(String message) {
        assertThatExceptionOfType(AuthenticationException.class)
                .isThrownBy(() -> authenticator.authenticate(bearer(TOKEN)))
                .withMessageStartingWith(message)
                .withMessageEndingWith("(" + ServiceAccountTokens.hint(TOKEN) + ")")
                .withMessageNotContaining(TOKEN)
                .matches(e -> !e.unavailable(), "not unavailable");
    }

    private void assertUnavailable(String message) {
        assertThatExceptionOfType(AuthenticationException.class)
                .isThrownBy(() -> authenticator.authenticate(bearer(TOKEN)))
                .withMessageStartingWith(message)
                .withMessageNotContaining(TOKEN)
                .matches(AuthenticationException::unavailable, "unavailable");
    }
}
