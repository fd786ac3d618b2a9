package dev.keel.agent;

import java.util.Set;

/** Turns a process on this node into selectors (e.g. {@code unix:uid:1000}). Thread-safe. */
public interface WorkloadAttestor {

    /** The attestor's selector type, e.g. {@code unix} or {@code k8s}. */
    String type();

    /**
     * @return the process's selectors, all of this attestor's type; empty when the attestor has
     *     nothing to say about it (e.g. the Kubernetes attestor for a process not in a pod)
     * @throws AttestationException when it should have an answer but cannot get one
     */
    Set<Selector> attest(WorkloadProcess process) throws AttestationException;
}
