package dev.keel.policy;

import java.util.Objects;

/**
 * Istio's {@code PolicyTargetReference} ({@code targetRef} / {@code targetRefs}): the resource a policy
 * attaches to instead of a workload selector. Empty strings stand for absent fields ({@code group} ""
 * is the core group). Immutable and thread-safe.
 */
public record PolicyTargetReference(String group, String kind, String name, String namespace) {

    public PolicyTargetReference {
        Objects.requireNonNull(group, "group");
        Objects.requireNonNull(kind, "kind");
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(namespace, "namespace");
    }
}
