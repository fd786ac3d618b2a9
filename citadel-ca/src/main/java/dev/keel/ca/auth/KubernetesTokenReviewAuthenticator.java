package dev.keel.ca.auth;

import static dev.keel.ca.auth.ServiceAccountTokens.format;
import static dev.keel.ca.auth.ServiceAccountTokens.hint;
import static dev.keel.ca.auth.ServiceAccountTokens.quote;

import dev.keel.ca.auth.ServiceAccountTokens.ServiceAccount;
import dev.keel.identity.InvalidSpiffeIdException;
import dev.keel.identity.SpiffeId;
import dev.keel.identity.TrustDomain;
import io.fabric8.kubernetes.api.model.authentication.TokenReview;
import io.fabric8.kubernetes.api.model.authentication.TokenReviewBuilder;
import io.fabric8.kubernetes.api.model.authentication.TokenReviewStatus;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.RequestConfig;
import io.fabric8.kubernetes.client.RequestConfigBuilder;
import io.fabric8.kubernetes.client.dsl.InOutCreateable;
import java.time.Duration;
import java.util.Collection;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * Proves a caller from its Kubernetes service-account token by asking the API server to review it
 * ({@code TokenReview}, {@code authentication.k8s.io/v1}), as Istio's CA does, and maps
 * {@code system:serviceaccount:<namespace>:<name>} to {@code spiffe://<trust-domain>/ns/<namespace>/sa/<name>}.
 *
 * <p>A token is accepted only when the API server says it is authenticated without error, the
 * audiences it returns include one that was requested (when audiences are configured), and the
 * username is exactly a service account whose namespace and name are valid SPIFFE path segments.
 * Empty is returned only when the call has no bearer token.
 *
 * <p>Failures to get an answer (API server unreachable, timed out, 5xx, throttled, or refusing the
 * CA's own credentials) throw an {@link AuthenticationException} with
 * {@link AuthenticationException#unavailable()} set: the caller's token was not judged and it may
 * retry. Requests are not retried here; each call is bounded by the configured timeout.
 *
 * <p>Thread-safe. {@link #authenticate} blocks for one API call and must run off the event loop.
 * The client is shared, not owned: it is never closed here. The token is sent in the request body,
 * so fabric8's HTTP TRACE logging ({@code io.fabric8.kubernetes.client.http}) must stay off.
 */
public final class KubernetesTokenReviewAuthenticator implements CallerAuthenticator {

    /** The audience Istio's CA requests by default. */
    public static final String ISTIO_CA_AUDIENCE = "istio-ca";

    /** How long one review may take unless configured otherwise. */
    public static final Duration DEFAULT_TIMEOUT = Duration.ofSeconds(5);

    static final String METHOD = "k8s-token";

    private static final String CONTEXT = "token review";

    private final InOutCreateable<TokenReview, TokenReview> tokenReviews;
    private final TrustDomain trustDomain;
    private final List<String> audiences;
    private final Duration timeout;

    private KubernetesTokenReviewAuthenticator(KubernetesClient client, TrustDomain trustDomain,
            List<String> audiences, Duration timeout) {
        // A derived client shares the connection pool but has its own request settings: the
        // timeout bounds the one attempt, and no retries, since fabric8 retries 5xx with backoff
        // by default and that would stretch a failing review far past the timeout.
        RequestConfig requestConfig = new RequestConfigBuilder(client.getConfiguration().getRequestConfig())
                .withRequestTimeout((int) timeout.toMillis())
                .withRequestRetryBackoffLimit(0)
                .build();
        this.tokenReviews = client.newClient(requestConfig).adapt(KubernetesClient.class)
                .authentication().v1().tokenReviews();
        this.trustDomain = trustDomain;
        this.audiences = audiences;
        this.timeout = timeout;
    }

    /**
     * A builder that maps service accounts into {@code trustDomain} and reviews tokens through
     * {@code client}, requesting audience {@value #ISTIO_CA_AUDIENCE} with a timeout of 5 s unless
     * configured otherwise.
     */
    public static Builder builder(KubernetesClient client, TrustDomain trustDomain) {
        return new Builder(client, trustDomain);
    }

    @Override
    public Optional<Caller> authenticate(CallerCredentials credentials) throws AuthenticationException {
        Objects.requireNonNull(credentials, "credentials");
        Optional<String> token = ServiceAccountTokens.token(credentials, CONTEXT);
        if (token.isEmpty()) {
            return Optional.empty();
        }
        TokenReview response = review(token.get());
        TokenReviewStatus status = response == null ? null : response.getStatus();
        String hint = hint(token.get());
        if (status == null) {
            throw new AuthenticationException(CONTEXT + ": response has no status (" + hint + ")");
        }
        String error = redact(status.getError(), token.get());
        if (!Boolean.TRUE.equals(status.getAuthenticated())) {
            throw new AuthenticationException(CONTEXT + ": not authenticated: "
                    + (error.isEmpty() ? "(no error given)" : error) + " (" + hint + ")");
        }
        if (!error.isEmpty()) {
            // The API server should not report both; trust the error rather than the flag.
            throw new AuthenticationException(CONTEXT + ": authenticated with an error: " + error + " (" + hint + ")");
        }
        checkAudiences(status.getAudiences(), hint);
        String username = status.getUser() == null ? null : status.getUser().getUsername();
        ServiceAccount account = ServiceAccountTokens.parseUsername(username).orElseThrow(
                () -> new AuthenticationException(CONTEXT + ": username " + quote(username)
                        + " is not a service account (expected: " + ServiceAccountTokens.USERNAME_PREFIX
                        + "<namespace>:<name>) (" + hint + ")"));
        SpiffeId identity;
        try {
            identity = trustDomain.workload(account.namespace(), account.name());
        } catch (InvalidSpiffeIdException e) {
            throw new AuthenticationException(CONTEXT + ": service account " + quote(username)
                    + " does not map to a SPIFFE ID: " + e.getMessage() + " (" + hint + ")");
        }
        return Optional.of(new Caller(identity, METHOD, account.username()));
    }

    private TokenReview review(String token) throws AuthenticationException {
        TokenReview request = new TokenReviewBuilder()
                .withNewSpec()
                .withToken(token)
                .withAudiences(audiences.isEmpty() ? null : audiences)
                .endSpec()
                .build();
        try {
            return tokenReviews.create(request);
        } catch (KubernetesClientException e) {
            if (hasCause(e, InterruptedException.class)) {
                Thread.currentThread().interrupt();
            }
            int code = e.getCode();
            // fabric8 reports "no response" as a code <= 0.
            boolean unavailable = code <= 0 || !isAboutTheCaller(code);
            String what = code <= 0 ? "API server unreachable or no answer within " + format(timeout)
                    : "API server answered HTTP " + code;
            throw new AuthenticationException(CONTEXT + ": " + what + " (" + hint(token) + ")", unavailable, e);
        }
    }

    /**
     * Whether an HTTP error says something about the submitted token rather than about the API
     * server or the CA's own access to it. An invalid token is reported in the status with 201, so
     * only a request the server cannot take at all (400, 413, 422) counts against the caller.
     */
    private static boolean isAboutTheCaller(int code) {
        return code == 400 || code == 413 || code == 422;
    }

    private void checkAudiences(List<String> returned, String hint) throws AuthenticationException {
        if (audiences.isEmpty()) {
            return;
        }
        // An empty list here means the token was valid only for the API server's own audience,
        // which must not be accepted by a CA that asked for its own.
        if (returned == null || returned.stream().noneMatch(audiences::contains)) {
            throw new AuthenticationException(CONTEXT + ": token is not valid for audiences " + audiences
                    + " (API server returned " + (returned == null ? "none" : quoteAll(returned)) + ") (" + hint + ")");
        }
    }

    private static String quoteAll(List<String> values) {
        return values.stream().limit(8).map(ServiceAccountTokens::quote).toList().toString();
    }

    private static String redact(String error, String token) {
        if (error == null) {
            return "";
        }
        // The API server does not echo tokens today; this keeps it that way in our messages.
        String safe = error.replace(token, "<redacted>");
        return safe.length() <= 200 ? safe : safe.substring(0, 197) + "...";
    }

    private static boolean hasCause(Throwable t, Class<? extends Throwable> type) {
        for (Throwable c = t; c != null; c = c.getCause()) {
            if (type.isInstance(c)) {
                return true;
            }
        }
        return false;
    }

    /** Configures a {@link KubernetesTokenReviewAuthenticator}. Not thread-safe; build once. */
    public static final class Builder {

        private final KubernetesClient client;
        private final TrustDomain trustDomain;
        private List<String> audiences = List.of(ISTIO_CA_AUDIENCE);
        private Duration timeout = DEFAULT_TIMEOUT;

        Builder(KubernetesClient client, TrustDomain trustDomain) {
            this.client = Objects.requireNonNull(client, "client");
            this.trustDomain = Objects.requireNonNull(trustDomain, "trustDomain");
        }

        /**
         * The audiences to request; the API server must confirm the token is valid for at least one.
         * Empty requests none, which makes the API server check its own audience instead: only for
         * clusters that issue audience-less tokens.
         */
        public Builder audiences(Collection<String> audiences) {
            this.audiences = ServiceAccountTokens.checkedAudiences(audiences);
            return this;
        }

        /** See {@link #audiences(Collection)}. */
        public Builder audiences(String... audiences) {
            return audiences(Arrays.asList(Objects.requireNonNull(audiences, "audiences")));
        }

        /**
         * How long one review may take; 5 s by default. fabric8 applies it to the HTTP request and,
         * as a backstop for a connection that hangs, abandons the whole call no later than this plus
         * the lesser of this and 5 s.
         */
        public Builder timeout(Duration timeout) {
            Objects.requireNonNull(timeout, "timeout");
            if (timeout.isNegative() || timeout.toMillis() < 1) {
                throw new IllegalArgumentException("timeout: " + format(timeout) + " (expected: > 0)");
            }
            if (timeout.toMillis() > Integer.MAX_VALUE) {
                throw new IllegalArgumentException("timeout: " + format(timeout) + " (expected: <= "
                        + Integer.MAX_VALUE + "ms)");
            }
            this.timeout = timeout;
            return this;
        }

        public KubernetesTokenReviewAuthenticator build() {
            return new KubernetesTokenReviewAuthenticator(client, trustDomain, audiences, timeout);
        }
    }
}
