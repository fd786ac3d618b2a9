package dev.keel.ca.auth;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatExceptionOfType;

import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * What every service-account token authenticator promises, whatever checks the token: no token is
 * not its business, a present but unusable token is refused, and refusals never print the token.
 */
abstract class ServiceAccountAuthenticatorContract {

    /** An authenticator under test, ready to be called. */
    abstract CallerAuthenticator authenticator();

    static CallerCredentials bearer(String token) {
        return new CallerCredentials(token, List.of());
    }

    @Test
    void noTokenIsNotRecognized() throws Exception {
        assertThat(authenticator().authenticate(CallerCredentials.none())).isEmpty();
    }

    @Test
    void emptyTokenIsRefusedNotSkipped() {
        assertThatExceptionOfType(AuthenticationException.class)
                .isThrownBy(() -> authenticator().authenticate(bearer("")))
                .withMessageContaining("empty bearer token")
                .matches(e -> !e.unavailable());
    }

    @Test
    void oversizeTokenIsRefusedUnread() {
        String token = "e" + "x".repeat(ServiceAccountTokens.MAX_TOKEN_LENGTH);
        assertThatExceptionOfType(AuthenticationException.class)
                .isThrownBy(() -> authenticator().authenticate(bearer(token)))
                .withMessageContaining("token of 16385 characters (expected: <= 16384)")
                .withMessageContaining("token sha256:")
                .withMessageNotContaining("xxxxxxxx")
                .matches(e -> !e.unavailable());
    }
}
