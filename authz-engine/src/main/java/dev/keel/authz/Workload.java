package dev.keel.authz;

import java.util.Map;
import java.util.Objects;

/**
 * The workload a {@link DecisionProgram} protects: its namespace and pod labels, which decide which
 * policies apply (Istio's {@code selector}: a policy in the workload's namespace, or in the root
 * namespace, whose {@code matchLabels} are all among the labels; no selector selects every workload).
 * Immutable and thread-safe.
 */
public record Workload(String namespace, Map<String, String> labels) {

    public Workload {
        Objects.requireNonNull(namespace, "namespace");
        if (namespace.isEmpty()) {
            throw new IllegalArgumentException("namespace: \"\" (expected: a Kubernetes namespace name)");
        }
        labels = Map.copyOf(Objects.requireNonNull(labels, "labels"));
    }

    public static Workload of(String namespace, Map<String, String> labels) {
        return new Workload(namespace, labels);
    }
}
