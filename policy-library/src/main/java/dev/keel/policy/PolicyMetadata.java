package dev.keel.policy;

import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * The parts of Kubernetes {@code metadata} that policy semantics depend on. Annotations matter:
 * {@value #DRY_RUN_ANNOTATION} turns an ALLOW or DENY AuthorizationPolicy into a dry run. The other
 * {@code metadata} fields Kubernetes writes ({@code uid}, {@code resourceVersion}, ...) are accepted by
 * the parser and dropped. Immutable and thread-safe.
 *
 * @param name        {@code metadata.name}
 * @param namespace   {@code metadata.namespace}, or the default namespace given to the parser
 * @param labels      {@code metadata.labels}, in file order
 * @param annotations {@code metadata.annotations}, in file order
 */
public record PolicyMetadata(String name, String namespace, Map<String, String> labels, Map<String, String> annotations) {

    /** Istio's annotation for evaluating an AuthorizationPolicy without enforcing it. */
    public static final String DRY_RUN_ANNOTATION = "istio.io/dry-run";

    public PolicyMetadata {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(namespace, "namespace");
        labels = Models.map(labels, "labels");
        annotations = Models.map(annotations, "annotations");
    }

    /** Metadata with a name and namespace only. */
    public static PolicyMetadata of(String namespace, String name) {
        return new PolicyMetadata(name, namespace, Map.of(), Map.of());
    }

    /** {@code namespace/name}. */
    public String qualifiedName() {
        return namespace + "/" + name;
    }

    public Optional<String> annotation(String key) {
        return Optional.ofNullable(annotations.get(key));
    }
}
