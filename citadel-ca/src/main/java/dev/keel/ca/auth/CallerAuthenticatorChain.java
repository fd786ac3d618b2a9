package dev.keel.ca.auth;

import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * Tries authenticators in order; the first that recognizes the credentials decides. An
 * {@link AuthenticationException} ends the chain at once, so a credential that one authenticator
 * refused is never passed on to a later, possibly weaker, one. Empty when none recognizes them.
 *
 * <p>Immutable and thread-safe if its authenticators are; blocks if one of them does.
 */
public final class CallerAuthenticatorChain implements CallerAuthenticator {

    private final List<CallerAuthenticator> authenticators;

    private CallerAuthenticatorChain(List<CallerAuthenticator> authenticators) {
        this.authenticators = authenticators;
    }

    /** A chain of {@code authenticators}, tried first to last. */
    public static CallerAuthenticatorChain of(List<? extends CallerAuthenticator> authenticators) {
        Objects.requireNonNull(authenticators, "authenticators");
        authenticators.forEach(a -> Objects.requireNonNull(a, "authenticator"));
        if (authenticators.isEmpty()) {
            throw new IllegalArgumentException("authenticators: [] (expected: at least one)");
        }
        return new CallerAuthenticatorChain(List.copyOf(authenticators));
    }

    /** See {@link #of(List)}. */
    public static CallerAuthenticatorChain of(CallerAuthenticator... authenticators) {
        return of(Arrays.asList(Objects.requireNonNull(authenticators, "authenticators")));
    }

    @Override
    public Optional<Caller> authenticate(CallerCredentials credentials) throws AuthenticationException {
        Objects.requireNonNull(credentials, "credentials");
        for (CallerAuthenticator authenticator : authenticators) {
            Optional<Caller> caller = authenticator.authenticate(credentials);
            if (caller.isPresent()) {
                return caller;
            }
        }
        return Optional.empty();
    }

    /** The authenticators, in the order they are tried. */
    public List<CallerAuthenticator> authenticators() {
        return authenticators;
    }
}
