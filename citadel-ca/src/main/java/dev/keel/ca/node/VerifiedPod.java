package dev.keel.ca.node;

import java.util.Objects;

/**
 * A pod the Kubernetes API confirmed: it exists with the expected uid, runs on the expected node
 * and has not terminated.
 *
 * @param serviceAccount {@code spec.serviceAccountName}, which decides its identity
 */
public record VerifiedPod(PodReference pod, String nodeName, String serviceAccount) {

    public VerifiedPod {
        Objects.requireNonNull(pod, "pod");
        Objects.requireNonNull(nodeName, "nodeName");
        Objects.requireNonNull(serviceAccount, "serviceAccount");
    }
}
