package dev.keel.policy;

import dev.keel.policy.internal.Validator;
import java.util.List;
import java.util.Objects;

/**
 * Istio's validation for policies built in code (the parser applies it already): the same rules and
 * messages as {@link PolicyParser}, with field paths but no positions (line and column 0). Checks that
 * only make sense on text (unknown fields, types, an explicit {@code from: []}) are the parser's alone.
 * Stateless and thread-safe.
 */
public final class PolicyValidator {

    private PolicyValidator() {
    }

    /** The errors, empty when Istio would accept the policy. */
    public static List<PolicyError> validate(IstioPolicy policy) {
        Objects.requireNonNull(policy, "policy");
        return Validator.validate(policy);
    }
}
