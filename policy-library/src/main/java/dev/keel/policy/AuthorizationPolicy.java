package dev.keel.policy;

import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * Istio's {@code AuthorizationPolicy}. Semantics are Istio's: CUSTOM, then DENY, then ALLOW; AUDIT never
 * changes a decision; a policy matches a request when at least one of its {@link #rules()} does.
 *
 * <p>{@code rules} keeps the difference Istio cares about: an empty list (the field absent, or
 * {@code rules: []}, which Istio cannot tell apart either) matches nothing, so an ALLOW policy without
 * rules allows nothing; {@code rules: [{}]} is one empty {@link Rule}, which matches every request. An
 * absent {@code spec} and {@code spec: {}} are the same policy: ALLOW with no rules.
 *
 * <p>Records accept any values; {@link PolicyParser} returns only policies Istio would accept, and
 * {@link PolicyValidator} checks ones built in code. Immutable and thread-safe.
 *
 * @param selector   {@code spec.selector}; present even when empty ({@code selector: {}}), which selects all
 * @param targetRef  {@code spec.targetRef}
 * @param targetRefs {@code spec.targetRefs}
 * @param rules      {@code spec.rules}
 * @param action     {@code spec.action}, ALLOW when absent
 * @param provider   {@code spec.provider}, used with CUSTOM only
 */
public record AuthorizationPolicy(
        ApiVersion apiVersion,
        PolicyMetadata metadata,
        Optional<WorkloadSelector> selector,
        Optional<PolicyTargetReference> targetRef,
        List<PolicyTargetReference> targetRefs,
        List<Rule> rules,
        Action action,
        Optional<ExtensionProvider> provider) implements IstioPolicy {

    /** What a matching policy does. */
    public enum Action {
        /** Allow a request only if it matches the rules (the default). */
        ALLOW,
        /** Deny a request if it matches any of the rules. */
        DENY,
        /** Audit a request if it matches any of the rules; never changes the decision. */
        AUDIT,
        /** Let the extension named by {@code provider} decide, before DENY and ALLOW. */
        CUSTOM
    }

    /** {@code spec.provider}: the extension provider (declared in MeshConfig) of a CUSTOM policy. */
    public record ExtensionProvider(String name) {
        public ExtensionProvider {
            Objects.requireNonNull(name, "name");
        }
    }

    public AuthorizationPolicy {
        Objects.requireNonNull(apiVersion, "apiVersion");
        Objects.requireNonNull(metadata, "metadata");
        Objects.requireNonNull(selector, "selector");
        Objects.requireNonNull(targetRef, "targetRef");
        targetRefs = Models.list(targetRefs, "targetRefs");
        rules = Models.list(rules, "rules");
        Objects.requireNonNull(action, "action");
        Objects.requireNonNull(provider, "provider");
    }

    @Override
    public PolicyKind kind() {
        return PolicyKind.AUTHORIZATION_POLICY;
    }

    /**
     * True when the {@value PolicyMetadata#DRY_RUN_ANNOTATION} annotation is a true value in Go's
     * {@code strconv.ParseBool} sense ({@code 1}, {@code t}, {@code T}, {@code TRUE}, {@code true},
     * {@code True}): the policy is evaluated and reported, never enforced.
     */
    public boolean dryRun() {
        return metadata.annotation(PolicyMetadata.DRY_RUN_ANNOTATION)
                .map(v -> v.equals("1") || v.equals("t") || v.equals("T") || v.equals("TRUE") || v.equals("true")
                        || v.equals("True"))
                .orElse(false);
    }
}
