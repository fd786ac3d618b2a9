package dev.keel.ca.auth;

import java.util.Optional;

/**
 * Proves who a caller is from the credentials of its call.
 *
 * <p>Returns empty when the credentials carry nothing this authenticator understands (no token, no
 * client certificate), so several can be chained; throws {@link AuthenticationException} when they
 * do carry something and it is invalid (expired, wrong audience, untrusted chain): a bad credential
 * must never fall through to a weaker authenticator. Implementations are thread-safe and may block
 * (a TokenReview is a network call); they are called off the event loop.
 */
public interface CallerAuthenticator {

    Optional<Caller> authenticate(CallerCredentials credentials) throws AuthenticationException;
}
