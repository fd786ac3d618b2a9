package dev.keel.agent.attestor;

import dev.keel.agent.AttestationException;
import dev.keel.agent.KubernetesPod;
import dev.keel.agent.PodResolver;
import dev.keel.agent.Selector;
import dev.keel.agent.WorkloadAttestor;
import dev.keel.agent.WorkloadProcess;
import io.fabric8.kubernetes.api.model.ContainerStatus;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodStatus;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;

/**
 * Selectors of type {@code k8s} for a process in a pod on this node, as SPIRE's k8s attestor writes
 * them: {@code k8s:ns:<namespace>}, {@code k8s:sa:<service account>}, {@code k8s:pod-name:<name>},
 * {@code k8s:pod-uid:<uid>}, {@code k8s:pod-label:<key>:<value>} per label, and
 * {@code k8s:container-name:<name>} when the process's container is found in the pod's status. Also
 * the {@link PodResolver} of Kubernetes mode.
 *
 * <p>The pod UID (and container ID) come from {@code <proc>/<pid>/cgroup} ({@link Cgroups}); the pod
 * itself from the Kubernetes API: the pods of this node ({@code spec.nodeName=<node>}), listed at most
 * once per {@code cacheTtl} and again at once when a UID is not in the last list (a pod just started).
 * A process outside any pod gets no selectors. A pod UID this node does not run, an unreadable cgroup
 * file or an unreachable API fail attestation ({@link AttestationException}): the call fails closed.
 * The agent needs the host's PID and cgroup namespaces to see workloads' cgroups.
 *
 * <p>Thread-safe; concurrent misses share one list request.
 */
public final class KubernetesWorkloadAttestor implements WorkloadAttestor, PodResolver {

    public static final String TYPE = "k8s";

    private record PodList(long fetchedAtNanos, Map<String, Pod> byUid) {
    }

    private record Match(Pod pod, String containerId) {
    }

    private final KubernetesClient client;
    private final String nodeName;
    private final Path procRoot;
    private final long cacheTtlNanos;
    private final Object refreshLock = new Object();
    private volatile PodList pods;

    private KubernetesWorkloadAttestor(Builder builder) {
        this.client = builder.client;
        this.nodeName = builder.nodeName;
        this.procRoot = builder.procRoot;
        this.cacheTtlNanos = builder.cacheTtl.toNanos();
    }

    /** A builder for the pods of {@code nodeName}, with {@code /proc} and a five-second cache. */
    public static Builder builder(KubernetesClient client, String nodeName) {
        return new Builder(client, nodeName);
    }

    @Override
    public String type() {
        return TYPE;
    }

    @Override
    public Set<Selector> attest(WorkloadProcess process) throws AttestationException {
        Optional<Match> match = find(process);
        if (match.isEmpty()) {
            return Set.of();
        }
        Pod pod = match.get().pod();
        Set<Selector> selectors = new LinkedHashSet<>();
        add(selectors, "ns:" + pod.getMetadata().getNamespace());
        add(selectors, "sa:" + serviceAccount(pod));
        add(selectors, "pod-name:" + pod.getMetadata().getName());
        add(selectors, "pod-uid:" + pod.getMetadata().getUid());
        Map<String, String> labels = pod.getMetadata().getLabels();
        if (labels != null) {
            labels.forEach((key, value) -> add(selectors, "pod-label:" + key + ":" + value));
        }
        String container = containerName(pod, match.get().containerId());
        if (container != null) {
            add(selectors, "container-name:" + container);
        }
        return selectors;
    }

    @Override
    public Optional<KubernetesPod> podOf(WorkloadProcess process) throws AttestationException {
        return find(process).map(match -> new KubernetesPod(match.pod().getMetadata().getNamespace(),
                match.pod().getMetadata().getName(), match.pod().getMetadata().getUid(), serviceAccount(match.pod())));
    }

    private Optional<Match> find(WorkloadProcess process) throws AttestationException {
        Objects.requireNonNull(process, "process");
        Path cgroup = procRoot.resolve(Integer.toString(process.pid())).resolve("cgroup");
        List<String> lines;
        try {
            lines = Files.readAllLines(cgroup);
        } catch (NoSuchFileException e) {
            throw new AttestationException("process " + process.pid() + " exited before it could be attested");
        } catch (IOException e) {
            throw new AttestationException("cannot read " + cgroup + ": " + e, e);
        }
        Optional<Cgroups.PodContainer> ids = Cgroups.parse(lines);
        if (ids.isEmpty()) {
            return Optional.empty();
        }
        Pod pod = pod(ids.get().podUid(), process);
        return Optional.of(new Match(pod, ids.get().containerId()));
    }

    private Pod pod(String uid, WorkloadProcess process) throws AttestationException {
        long start = System.nanoTime();
        PodList current = pods;
        if (current != null && start - current.fetchedAtNanos() < cacheTtlNanos) {
            Pod pod = current.byUid().get(uid);
            if (pod != null) {
                return pod;
            }
        }
        synchronized (refreshLock) {
            current = pods;
            // Another caller may have listed since this one looked: its answer is fresh enough.
            if (current == null || current.fetchedAtNanos() - start < 0) {
                current = list();
                pods = current;
            }
        }
        Pod pod = current.byUid().get(uid);
        if (pod == null) {
            throw new AttestationException("process " + process.pid() + " runs in pod " + uid
                    + ", which is not among the pods of node " + nodeName);
        }
        return pod;
    }

    private PodList list() throws AttestationException {
        List<Pod> items;
        try {
            items = client.pods().inAnyNamespace().withField("spec.nodeName", nodeName).list().getItems();
        } catch (KubernetesClientException e) {
            throw new AttestationException("cannot list the pods of node " + nodeName + ": " + e.getMessage(), e);
        }
        Map<String, Pod> byUid = new HashMap<>();
        for (Pod pod : items) {
            // The field selector already says so; checked again rather than trusted.
            if (pod.getMetadata() != null && pod.getMetadata().getUid() != null && pod.getSpec() != null
                    && nodeName.equals(pod.getSpec().getNodeName())) {
                byUid.put(pod.getMetadata().getUid(), pod);
            }
        }
        return new PodList(System.nanoTime(), Map.copyOf(byUid));
    }

    private static String serviceAccount(Pod pod) {
        String account = pod.getSpec() == null ? null : pod.getSpec().getServiceAccountName();
        return account == null || account.isEmpty() ? "default" : account;
    }

    /** The name of the container whose status reports {@code containerId} ({@code <runtime>://<id>}), or null. */
    private static String containerName(Pod pod, String containerId) {
        PodStatus status = pod.getStatus();
        if (containerId == null || status == null) {
            return null;
        }
        List<ContainerStatus> all = new ArrayList<>();
        for (List<ContainerStatus> statuses : List.of(nullToEmpty(status.getContainerStatuses()),
                nullToEmpty(status.getInitContainerStatuses()), nullToEmpty(status.getEphemeralContainerStatuses()))) {
            all.addAll(statuses);
        }
        for (ContainerStatus container : all) {
            String id = container.getContainerID();
            if (id == null) {
                continue;
            }
            int scheme = id.indexOf("://");
            if ((scheme < 0 ? id : id.substring(scheme + 3)).equals(containerId)) {
                return container.getName();
            }
        }
        return null;
    }

    private static List<ContainerStatus> nullToEmpty(List<ContainerStatus> statuses) {
        return statuses == null ? List.of() : statuses;
    }

    private static void add(Set<Selector> selectors, String value) {
        try {
            selectors.add(Selector.of(TYPE, value));
        } catch (IllegalArgumentException e) {
            // A value no selector can hold (too long, control characters) cannot match any entry either.
        }
    }

    /** Configures a {@link KubernetesWorkloadAttestor}. Not thread-safe. */
    public static final class Builder {

        private final KubernetesClient client;
        private final String nodeName;
        private Path procRoot = Path.of("/proc");
        private Duration cacheTtl = Duration.ofSeconds(5);

        Builder(KubernetesClient client, String nodeName) {
            this.client = Objects.requireNonNull(client, "client");
            this.nodeName = Objects.requireNonNull(nodeName, "nodeName");
            if (nodeName.isEmpty()) {
                throw new IllegalArgumentException("nodeName: empty (expected: this node's name, e.g. from the downward API)");
            }
        }

        /** Where processes are looked up (default {@code /proc}). */
        public Builder procRoot(Path procRoot) {
            this.procRoot = Objects.requireNonNull(procRoot, "procRoot");
            return this;
        }

        /** How long a list of the node's pods is reused (default 5 s); a UID missing from it lists again at once. */
        public Builder cacheTtl(Duration cacheTtl) {
            Objects.requireNonNull(cacheTtl, "cacheTtl");
            if (cacheTtl.isNegative()) {
                throw new IllegalArgumentException("cacheTtl: " + cacheTtl + " (expected: >= 0)");
            }
            this.cacheTtl = cacheTtl;
            return this;
        }

        public KubernetesWorkloadAttestor build() {
            return new KubernetesWorkloadAttestor(this);
        }
    }
}
