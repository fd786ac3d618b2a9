package dev.keel.policy;

import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * Istio's {@code RequestAuthentication}: the JWTs the selected workloads accept. A request with an
 * invalid token is rejected; a request without one passes and is left to authorization. Immutable and
 * thread-safe.
 *
 * @param selector   {@code spec.selector}; present even when empty
 * @param targetRef  {@code spec.targetRef}
 * @param targetRefs {@code spec.targetRefs}
 * @param jwtRules   {@code spec.jwtRules}
 */
public record RequestAuthentication(
        ApiVersion apiVersion,
        PolicyMetadata metadata,
        Optional<WorkloadSelector> selector,
        Optional<PolicyTargetReference> targetRef,
        List<PolicyTargetReference> targetRefs,
        List<JWTRule> jwtRules) implements IstioPolicy {

    public RequestAuthentication {
        Objects.requireNonNull(apiVersion, "apiVersion");
        Objects.requireNonNull(metadata, "metadata");
        Objects.requireNonNull(selector, "selector");
        Objects.requireNonNull(targetRef, "targetRef");
        targetRefs = Models.list(targetRefs, "targetRefs");
        jwtRules = Models.list(jwtRules, "jwtRules");
    }

    @Override
    public PolicyKind kind() {
        return PolicyKind.REQUEST_AUTHENTICATION;
    }
}
