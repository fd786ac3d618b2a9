package dev.keel.agent;

import java.util.Objects;

/**
 * A pod found by the Kubernetes workload attestor. In Kubernetes mode its identity is
 * {@code spiffe://<td>/ns/<namespace>/sa/<serviceAccount>} with no registration entry; the CA
 * checks through the Kubernetes API that the pod (by uid) runs on the requesting node.
 */
public record KubernetesPod(String namespace, String name, String uid, String serviceAccount) {

    public KubernetesPod {
        Objects.requireNonNull(namespace, "namespace");
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(uid, "uid");
        Objects.requireNonNull(serviceAccount, "serviceAccount");
    }
}
