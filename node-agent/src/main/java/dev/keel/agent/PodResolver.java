package dev.keel.agent;

import java.util.Optional;

/** Finds the pod a process runs in (Kubernetes mode). Thread-safe. */
public interface PodResolver {

    /**
     * @return the pod, or empty when the process is not in a pod on this node
     * @throws AttestationException when it cannot tell (Kubernetes API unreachable)
     */
    Optional<KubernetesPod> podOf(WorkloadProcess process) throws AttestationException;
}
