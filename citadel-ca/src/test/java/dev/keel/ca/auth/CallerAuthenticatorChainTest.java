package dev.keel.ca.auth;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatExceptionOfType;
import static org.assertj.core.api.Assertions.assertThatIllegalArgumentException;

import dev.keel.identity.SpiffeId;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class CallerAuthenticatorChainTest {

    private static final CallerCredentials TOKEN = new CallerCredentials("t", List.of());

    private final List<String> calls = new ArrayList<>();

    @Test
    void firstRecognizingAuthenticatorWinsAndLaterOnesAreNotAsked() throws Exception {
        CallerAuthenticatorChain chain = CallerAuthenticatorChain.of(
                skipping("x509"), accepting("k8s", "orders"), accepting("jwt", "payments"));

        Caller caller = chain.authenticate(TOKEN).orElseThrow();

        assertThat(caller.identity().path()).isEqualTo("/ns/default/sa/orders");
        assertThat(calls).containsExactly("x509", "k8s");
    }

    @Test
    void refusalStopsTheChainSoABadCredentialNeverFallsThrough() {
        CallerAuthenticatorChain chain = CallerAuthenticatorChain.of(
                skipping("x509"), refusing("k8s"), accepting("jwt", "orders"));

        assertThatExceptionOfType(AuthenticationException.class)
                .isThrownBy(() -> chain.authenticate(TOKEN))
                .withMessage("k8s: not authenticated");
        assertThat(calls).containsExactly("x509", "k8s");
    }

    @Test
    void unavailableAlsoStopsTheChain() {
        CallerAuthenticator down = credentials -> {
            calls.add("k8s");
            throw new AuthenticationException("k8s: API server unreachable", true, null);
        };
        CallerAuthenticatorChain chain = CallerAuthenticatorChain.of(down, accepting("jwt", "orders"));

        assertThatExceptionOfType(AuthenticationException.class)
                .isThrownBy(() -> chain.authenticate(TOKEN))
                .matches(AuthenticationException::unavailable);
        assertThat(calls).containsExactly("k8s");
    }

    @Test
    void emptyWhenNoneRecognizes() throws Exception {
        CallerAuthenticatorChain chain = CallerAuthenticatorChain.of(skipping("x509"), skipping("k8s"));

        assertThat(chain.authenticate(TOKEN)).isEmpty();
        assertThat(calls).containsExactly("x509", "k8s");
    }

    @Test
    void needsAtLeastOneAuthenticator() {
        assertThatIllegalArgumentException()
                .isThrownBy(CallerAuthenticatorChain::of)
                .withMessage("authenticators: [] (expected: at least one)");
        assertThatExceptionOfType(NullPointerException.class)
                .isThrownBy(() -> CallerAuthenticatorChain.of(skipping("x509"), null))
                .withMessage("authenticator");
    }

    private CallerAuthenticator skipping(String name) {
        return credentials -> {
            calls.add(name);
            return Optional.empty();
        };
    }

    private CallerAuthenticator accepting(String name, String serviceAccount) {
        return credentials -> {
            calls.add(name);
            SpiffeId id = SpiffeId.parse("spiffe://cluster.local/ns/default/sa/" + serviceAccount);
            return Optional.of(new Caller(id, name, serviceAccount));
        };
    }

    private CallerAuthenticator refusing(String name) {
        return credentials -> {
            calls.add(name);
            throw new AuthenticationException(name + ": not authenticated");
        };
    }
}
