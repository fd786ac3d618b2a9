package dev.keel.ca.auth;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.HexFormat;
import java.util.Optional;

/**
 * What the Kubernetes service-account authenticators share: the token size limit, the redacted
 * token hint used in messages, and the {@code system:serviceaccount:<namespace>:<name>} form.
 */
final class ServiceAccountTokens {

    /**
     * Larger tokens are refused before any parsing or network call. Kubernetes projected tokens are
     * around 1 KiB; the limit keeps a hostile caller from making us parse or forward megabytes.
     */
    static final int MAX_TOKEN_LENGTH = 16 * 1024;

    static final String USERNAME_PREFIX = "system:serviceaccount:";

    private static final int MAX_QUOTED_LENGTH = 80;

    private ServiceAccountTokens() {}

    /** A Kubernetes service account named by a username or a JWT subject. */
    record ServiceAccount(String namespace, String name) {

        String username() {
            return USERNAME_PREFIX + namespace + ':' + name;
        }
    }

    /**
     * The bearer token, or empty when the call carried none. A token that is present but empty or
     * oversized is refused here, so it never reaches a parser or the API server.
     */
    static Optional<String> token(CallerCredentials credentials, String context) throws AuthenticationException {
        Optional<String> token = credentials.bearerToken();
        if (token.isEmpty()) {
            return token;
        }
        String value = token.get();
        if (value.isBlank()) {
            throw new AuthenticationException(context + ": empty bearer token");
        }
        if (value.length() > MAX_TOKEN_LENGTH) {
            throw new AuthenticationException(context + ": token of " + value.length()
                    + " characters (expected: <= " + MAX_TOKEN_LENGTH + ") (" + hint(value) + ")");
        }
        return token;
    }

    /**
     * Parses {@code system:serviceaccount:<namespace>:<name>}; empty for anything else (a user, a
     * node, a group, an extra colon). SPIFFE segment rules are checked later by
     * {@code TrustDomain.workload}.
     */
    /** A copy of {@code audiences} after checking that none is null or empty. */
    static java.util.List<String> checkedAudiences(java.util.Collection<String> audiences) {
        java.util.Objects.requireNonNull(audiences, "audiences");
        for (String audience : audiences) {
            java.util.Objects.requireNonNull(audience, "audience");
            if (audience.isEmpty()) {
                throw new IllegalArgumentException("audience: \"\" (expected: non-empty)");
            }
        }
        return java.util.List.copyOf(audiences);
    }

    static Optional<ServiceAccount> parseUsername(String username) {
        if (username == null || !username.startsWith(USERNAME_PREFIX)) {
            return Optional.empty();
        }
        String rest = username.substring(USERNAME_PREFIX.length());
        int colon = rest.indexOf(':');
        if (colon <= 0 || colon == rest.length() - 1 || rest.indexOf(':', colon + 1) >= 0) {
            return Optional.empty();
        }
        return Optional.of(new ServiceAccount(rest.substring(0, colon), rest.substring(colon + 1)));
    }

    /**
     * A short, non-reversible name for a token so that operators can match a refusal to the token a
     * workload holds ({@code sha256sum} of the token) without the token itself ever being printed.
     */
    static String hint(String token) {
        try {
            byte[] digest = MessageDigest.getInstance("SHA-256").digest(token.getBytes(StandardCharsets.UTF_8));
            return "token sha256:" + HexFormat.of().formatHex(digest, 0, 4);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is a required JCA algorithm", e);
        }
    }

    /**
     * Quotes a value for a message, bounded and with control characters replaced, because usernames
     * and claims come from outside and end up in audit lines.
     */
    static String quote(String value) {
        if (value == null) {
            return "null";
        }
        String bounded = value.length() <= MAX_QUOTED_LENGTH ? value : value.substring(0, MAX_QUOTED_LENGTH - 3) + "...";
        StringBuilder out = new StringBuilder(bounded.length() + 2).append('"');
        for (int i = 0; i < bounded.length(); i++) {
            char c = bounded.charAt(i);
            out.append(Character.isISOControl(c) || c == '"' ? '?' : c);
        }
        return out.append('"').toString();
    }

    /** {@code 5s}, {@code 250ms}, {@code 0s}: the unit an operator would write. */
    static String format(Duration duration) {
        if (Math.abs(duration.getSeconds()) > 1_000_000_000L) {
            return duration.toString();
        }
        if (duration.getNano() == 0) {
            return duration.getSeconds() + "s";
        }
        if (duration.getNano() % 1_000_000 == 0) {
            return duration.toMillis() + "ms";
        }
        return duration.toNanos() + "ns";
    }
}
