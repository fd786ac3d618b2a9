package dev.keel.policy;

import java.util.Objects;
import java.util.Optional;

/**
 * The {@code security.istio.io} API versions Keel reads. Both carry the same schema; {@code v1} is the
 * storage version in current Istio. {@code v1alpha1} is not one of them.
 */
public enum ApiVersion {
    V1("security.istio.io/v1"),
    V1BETA1("security.istio.io/v1beta1");

    /** The API group of every policy kind in this package. */
    public static final String GROUP = "security.istio.io";

    private final String value;

    ApiVersion(String value) {
        this.value = value;
    }

    /** The {@code apiVersion} field as written in YAML, e.g. {@code security.istio.io/v1}. */
    public String value() {
        return value;
    }

    /** The version whose {@link #value()} is exactly {@code apiVersion}. */
    public static Optional<ApiVersion> of(String apiVersion) {
        Objects.requireNonNull(apiVersion, "apiVersion");
        for (ApiVersion v : values()) {
            if (v.value.equals(apiVersion)) {
                return Optional.of(v);
            }
        }
        return Optional.empty();
    }

    @Override
    public String toString() {
        return value;
    }
}
