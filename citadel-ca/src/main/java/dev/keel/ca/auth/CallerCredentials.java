package dev.keel.ca.auth;

import java.security.cert.X509Certificate;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * What a call presented: the bearer token from the {@code authorization} metadata (without the
 * {@code Bearer } prefix) and the TLS client certificate chain, leaf first, if any. The token is a
 * secret: {@link #toString()} never shows it.
 */
public final class CallerCredentials {

    private final String bearerToken;
    private final List<X509Certificate> peerChain;

    public CallerCredentials(String bearerToken, List<X509Certificate> peerChain) {
        this.bearerToken = bearerToken;
        this.peerChain = List.copyOf(Objects.requireNonNull(peerChain, "peerChain"));
    }

    public static CallerCredentials none() {
        return new CallerCredentials(null, List.of());
    }

    public Optional<String> bearerToken() {
        return Optional.ofNullable(bearerToken);
    }

    public List<X509Certificate> peerChain() {
        return peerChain;
    }

    @Override
    public String toString() {
        return "CallerCredentials{token=" + (bearerToken == null ? "none" : "<redacted>")
                + ", peerCertificates=" + peerChain.size() + "}";
    }
}
