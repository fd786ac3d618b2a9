package dev.keel.ca.node;

import dev.keel.ca.CaException;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.RequestConfig;
import io.fabric8.kubernetes.client.RequestConfigBuilder;
import java.time.Duration;
import java.util.Objects;
import java.util.Set;

/**
 * Verifies pods by reading them from the Kubernetes API ({@code GET pods/<name>} in the pod's
 * namespace; the CA's service account needs {@code get} on {@code pods}). A pod passes when it
 * exists, its {@code metadata.uid} is the one the agent attested, its {@code spec.nodeName} is the
 * caller's node and its phase is not {@code Succeeded} or {@code Failed}.
 *
 * <p>Reads are not cached: a pod moves or ends at any time, and SVIDs are requested rarely (at
 * rotation), so freshness is worth one API call. Each call is bounded by the timeout and not
 * retried. Thread-safe; blocks for one API call. The client is shared, never closed here.
 */
public final class KubernetesPodVerifier implements PodVerifier {

    public static final Duration DEFAULT_TIMEOUT = Duration.ofSeconds(5);

    private static final Set<String> TERMINATED = Set.of("Succeeded", "Failed");

    private final KubernetesClient client;

    private KubernetesPodVerifier(KubernetesClient client) {
        this.client = client;
    }

    /** Reads pods through {@code client}, each call bounded by {@link #DEFAULT_TIMEOUT}. */
    public static KubernetesPodVerifier create(KubernetesClient client) {
        return create(client, DEFAULT_TIMEOUT);
    }

    public static KubernetesPodVerifier create(KubernetesClient client, Duration timeout) {
        Objects.requireNonNull(client, "client");
        Objects.requireNonNull(timeout, "timeout");
        if (timeout.isNegative() || timeout.isZero()) {
            throw new IllegalArgumentException("timeout: " + timeout + " (expected: > 0)");
        }
        // As in KubernetesTokenReviewAuthenticator: a derived client with one bounded attempt, since
        // fabric8's default retries with backoff would stretch a failing call far past the timeout.
        RequestConfig config = new RequestConfigBuilder(client.getConfiguration().getRequestConfig())
                .withRequestTimeout((int) timeout.toMillis())
                .withRequestRetryBackoffLimit(0)
                .build();
        return new KubernetesPodVerifier(client.newClient(config).adapt(KubernetesClient.class));
    }

    @Override
    public VerifiedPod verify(PodReference pod, String nodeName) throws CaException {
        Objects.requireNonNull(pod, "pod");
        Objects.requireNonNull(nodeName, "nodeName");
        Pod found;
        try {
            found = client.pods().inNamespace(pod.namespace()).withName(pod.name()).get();
        } catch (KubernetesClientException e) {
            String why = e.getCode() == 401 || e.getCode() == 403
                    ? "the CA may not read pods (HTTP " + e.getCode() + "; grant its service account 'get' on pods)"
                    : e.getCode() > 0 ? "HTTP " + e.getCode() : "unreachable (" + e.getClass().getSimpleName() + ")";
            throw new CaException(CaException.Code.UNAVAILABLE, "kubernetes_pod: cannot read pod " + pod.namespace()
                    + "/" + pod.name() + " from the Kubernetes API: " + why, e);
        }
        return check(pod, nodeName, found);
    }

    /** The rules, apart from the API call. */
    static VerifiedPod check(PodReference pod, String nodeName, Pod found) throws CaException {
        String where = "kubernetes_pod: pod " + pod.namespace() + "/" + pod.name();
        if (found == null || found.getMetadata() == null) {
            throw denied(where + " does not exist");
        }
        if (!pod.uid().equals(found.getMetadata().getUid())) {
            throw denied(where + " has uid " + found.getMetadata().getUid() + ", not " + pod.uid()
                    + " (deleted and re-created?)");
        }
        String scheduledOn = found.getSpec() == null ? null : found.getSpec().getNodeName();
        if (!nodeName.equals(scheduledOn)) {
            throw denied(where + " runs on node " + (scheduledOn == null ? "(none yet)" : scheduledOn)
                    + ", not on the caller's node " + nodeName);
        }
        String phase = found.getStatus() == null ? null : found.getStatus().getPhase();
        if (phase != null && TERMINATED.contains(phase)) {
            throw denied(where + " has terminated (phase " + phase + ")");
        }
        String serviceAccount = found.getSpec().getServiceAccountName();
        if (serviceAccount == null || serviceAccount.isEmpty()) {
            throw denied(where + " has no spec.serviceAccountName");
        }
        return new VerifiedPod(pod, nodeName, serviceAccount);
    }

    private static CaException denied(String message) {
        return new CaException(CaException.Code.PERMISSION_DENIED, message);
    }
}
