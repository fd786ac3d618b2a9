package dev.keel.policy;

import java.util.List;
import java.util.Objects;

/**
 * Istio's {@code Condition} ({@code when}): the attribute named by {@code key} (see Istio's
 * "Authorization Policy Conditions" page, e.g. {@code request.auth.claims[iss]}) must match one of
 * {@code values} and none of {@code notValues}. Immutable and thread-safe.
 */
public record Condition(String key, List<String> values, List<String> notValues) {

    public Condition {
        Objects.requireNonNull(key, "key");
        values = Models.list(values, "values");
        notValues = Models.list(notValues, "notValues");
    }
}
