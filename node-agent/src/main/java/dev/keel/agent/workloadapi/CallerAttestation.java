package dev.keel.agent.workloadapi;

import dev.keel.agent.AgentMetrics;
import dev.keel.agent.AttestationException;
import dev.keel.agent.KubernetesPod;
import dev.keel.agent.PodResolver;
import dev.keel.agent.RegistrationEntry;
import dev.keel.agent.Selector;
import dev.keel.agent.WorkloadAttestor;
import dev.keel.agent.WorkloadIdentities;
import dev.keel.agent.WorkloadProcess;
import io.grpc.Status;
import io.grpc.StatusException;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Attests the caller of one Workload API call: runs every attestor on its process and unites their
 * selectors; in Kubernetes mode also finds its pod and admits it. Fails closed: any attestor error
 * refuses the call with Unavailable (the client retries with a backoff, as the Workload Endpoint
 * specification says), counted by attestor in {@link AgentMetrics}.
 *
 * <p>Thread-safe. May block (reading {@code /proc}, asking the Kubernetes API): call it on the call
 * executor, never on an event loop.
 */
final class CallerAttestation {

    private static final Logger log = LoggerFactory.getLogger(CallerAttestation.class);
    private static final String POD_RESOLVER = "k8s-pod";

    private final List<WorkloadAttestor> attestors;
    private final PodResolver podResolver;
    private final WorkloadIdentities identities;
    private final AgentMetrics metrics;

    CallerAttestation(List<WorkloadAttestor> attestors, PodResolver podResolver, WorkloadIdentities identities,
            AgentMetrics metrics) {
        this.attestors = List.copyOf(attestors);
        this.podResolver = podResolver;
        this.identities = identities;
        this.metrics = metrics;
    }

    /** @throws StatusException Unavailable when an attestor fails */
    Caller attest(WorkloadProcess process) throws StatusException {
        Set<Selector> selectors = new HashSet<>();
        for (WorkloadAttestor attestor : attestors) {
            Set<Selector> found;
            try {
                found = attestor.attest(process);
            } catch (AttestationException | RuntimeException e) {
                throw failed(attestor.type(), process, e);
            }
            for (Selector selector : found) {
                if (selector.type().equals(attestor.type())) {
                    selectors.add(selector);
                } else {
                    // An attestor speaks only for its own type; anything else would let it forge another's facts.
                    log.warn("Attestor {} returned selector of type {}; ignored", attestor.type(), selector.type());
                }
            }
        }
        RegistrationEntry admitted = null;
        Optional<KubernetesPod> pod = Optional.empty();
        if (podResolver != null) {
            try {
                pod = podResolver.podOf(process);
            } catch (AttestationException | RuntimeException e) {
                throw failed(POD_RESOLVER, process, e);
            }
            if (pod.isPresent()) {
                try {
                    admitted = identities.admitPod(pod.get());
                } catch (RuntimeException e) {
                    metrics.attestationFailure(POD_RESOLVER);
                    log.warn("Cannot admit pod {}/{} of pid {}: {}", pod.get().namespace(), pod.get().name(),
                            process.pid(), e.toString());
                    throw Status.UNAVAILABLE.withDescription("cannot admit the caller's pod " + pod.get().namespace()
                            + "/" + pod.get().name() + ": " + e.getMessage()).asException();
                }
            }
        }
        return new Caller(process, selectors, admitted, admitted == null ? null : pod.get());
    }

    private StatusException failed(String attestor, WorkloadProcess process, Exception e) {
        metrics.attestationFailure(attestor);
        log.warn("Workload attestation of pid {} (uid {}) failed in the {} attestor: {}", process.pid(), process.uid(),
                attestor, e.toString());
        return Status.UNAVAILABLE.withDescription("workload attestation failed (" + attestor + " attestor): "
                + e.getMessage()).withCause(e).asException();
    }
}
