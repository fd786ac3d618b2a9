package dev.keel.ca.node;

import dev.keel.ca.CaException;

/**
 * Confirms, from a source the CA trusts (the Kubernetes API), that a pod a node agent names runs on
 * that agent's node: the CA's check in Kubernetes mode that a compromised node cannot obtain the
 * identity of a pod scheduled elsewhere.
 *
 * <p>Implementations are thread-safe and may block (an API call); they are called off the event
 * loop.
 */
public interface PodVerifier {

    /**
     * Checks that {@code pod} exists with its uid, is scheduled on node {@code nodeName} and has not
     * terminated.
     *
     * @throws CaException PERMISSION_DENIED saying which check failed; UNAVAILABLE when the API
     *     cannot be asked; FAILED_PRECONDITION when this CA does not verify pods at all
     */
    VerifiedPod verify(PodReference pod, String nodeName) throws CaException;

    /** For a CA not configured for Kubernetes mode: refuses every pod, saying how to enable it. */
    static PodVerifier none() {
        return (pod, nodeName) -> {
            throw new CaException(CaException.Code.FAILED_PRECONDITION,
                    "kubernetes_pod: this CA does not verify pods (start it with 'keel ca serve --kubernetes-pods')");
        };
    }
}
