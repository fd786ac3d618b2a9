package dev.keel.policy;

import java.util.Objects;
import java.util.Optional;

/** The three {@code security.istio.io} kinds. */
public enum PolicyKind {
    AUTHORIZATION_POLICY("AuthorizationPolicy"),
    REQUEST_AUTHENTICATION("RequestAuthentication"),
    PEER_AUTHENTICATION("PeerAuthentication");

    private final String value;

    PolicyKind(String value) {
        this.value = value;
    }

    /** The {@code kind} field as written in YAML, e.g. {@code AuthorizationPolicy}. */
    public String value() {
        return value;
    }

    /** The kind whose {@link #value()} is exactly {@code kind} (case-sensitive, as in Kubernetes). */
    public static Optional<PolicyKind> of(String kind) {
        Objects.requireNonNull(kind, "kind");
        for (PolicyKind k : values()) {
            if (k.value.equals(kind)) {
                return Optional.of(k);
            }
        }
        return Optional.empty();
    }

    @Override
    public String toString() {
        return value;
    }
}
