package dev.keel.policy;

import java.util.Map;

/**
 * Istio's {@code WorkloadSelector}: the workloads in the policy's namespace (all namespaces for the root
 * namespace) whose labels include every {@code matchLabels} entry. An empty selector selects every
 * workload, like an absent one. Immutable and thread-safe.
 */
public record WorkloadSelector(Map<String, String> matchLabels) {

    public WorkloadSelector {
        matchLabels = Models.map(matchLabels, "matchLabels");
    }

    /** True when there are no labels, so the selector selects every workload. */
    public boolean isEmpty() {
        return matchLabels.isEmpty();
    }
}
