package dev.keel.agent.attestor;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.keel.agent.AttestationException;
import dev.keel.agent.KubernetesPod;
import dev.keel.agent.Selector;
import dev.keel.agent.WorkloadProcess;
import io.fabric8.kubernetes.api.model.ContainerStatusBuilder;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.server.mock.KubernetesCrudDispatcher;
import io.fabric8.kubernetes.client.server.mock.KubernetesMockServer;
import io.fabric8.mockwebserver.Context;
import io.fabric8.mockwebserver.MockWebServer;
import io.fabric8.mockwebserver.http.MockResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A fake proc root in a temporary directory, and the Kubernetes API of kubernetes-server-mock in CRUD mode. */
class KubernetesWorkloadAttestorTest {

    private static final String WEB_CONTAINER = "a".repeat(64);
    private static final String SIDECAR_CONTAINER = "b".repeat(64);

    @TempDir
    Path proc;

    private KubernetesMockServer server;
    private KubernetesClient client;
    private KubernetesWorkloadAttestor attestor;
    private String webUid;
    private String remoteUid;
    private final List<String> podListQueries = new CopyOnWriteArrayList<>();

    @BeforeEach
    void start() throws Exception {
        server = new KubernetesMockServer(new Context(), new MockWebServer(), new HashMap<>(), new NodeFieldDispatcher(),
                false);
        server.init();
        client = server.createClient();
        // The CRUD mock assigns UIDs itself (UUID-shaped, as the API server's are).
        webUid = create(pod("shop", "web-1", "node-a", "web"));
        remoteUid = create(pod("shop", "far-away", "node-b", "web"));
        cgroup(100, "0::/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" + webUid.replace('-', '_')
                + ".slice/cri-containerd-" + WEB_CONTAINER + ".scope");
        cgroup(101, "12:memory:/kubepods/burstable/pod" + webUid + "/" + SIDECAR_CONTAINER + "\n"
                + "1:name=systemd:/kubepods/burstable/pod" + webUid + "/" + SIDECAR_CONTAINER);
        cgroup(200, "0::/system.slice/sshd.service");
        cgroup(300, "0::/kubepods/besteffort/pod" + remoteUid + "/" + WEB_CONTAINER);
        attestor = KubernetesWorkloadAttestor.builder(client, "node-a").procRoot(proc).cacheTtl(Duration.ofMinutes(5))
                .build();
    }

    @AfterEach
    void stop() {
        client.close();
        server.destroy();
    }

    @Test
    void selectorsOfAProcessInAPodOnThisNode() throws Exception {
        assertThat(strings(attestor.attest(process(100)))).containsExactlyInAnyOrder("k8s:ns:shop", "k8s:sa:web",
                "k8s:pod-name:web-1", "k8s:pod-uid:" + webUid, "k8s:pod-label:app:web", "k8s:pod-label:tier:front",
                "k8s:container-name:web");
        assertThat(strings(attestor.attest(process(101)))).contains("k8s:container-name:istio-proxy", "k8s:sa:web");
        assertThat(attestor.type()).isEqualTo("k8s");
    }

    @Test
    void resolvesThePod() throws Exception {
        assertThat(attestor.podOf(process(100))).contains(new KubernetesPod("shop", "web-1", webUid, "web"));
    }

    @Test
    void asksForThePodsOfItsNodeOnlyAndCachesThem() throws Exception {
        attestor.attest(process(100));
        attestor.attest(process(101));
        attestor.podOf(process(100));

        assertThat(podListQueries).containsExactly("fieldSelector=spec.nodeName%3Dnode-a");
    }

    @Test
    void aProcessOutsideAnyPodHasNoSelectorsAndNoPod() throws Exception {
        assertThat(attestor.attest(process(200))).isEmpty();
        assertThat(attestor.podOf(process(200))).isEmpty();
    }

    @Test
    void aPodOfAnotherNodeFailsAttestation() {
        assertThatThrownBy(() -> attestor.attest(process(300))).isInstanceOf(AttestationException.class)
                .hasMessage("process 300 runs in pod " + remoteUid + ", which is not among the pods of node node-a");
    }

    @Test
    void aPodStartedAfterTheLastListIsFoundByListingAgain() throws Exception {
        attestor.attest(process(100));
        String lateUid = create(pod("shop", "late", "node-a", null));
        cgroup(400, "0::/kubepods/besteffort/pod" + lateUid + "/" + WEB_CONTAINER);

        assertThat(strings(attestor.attest(process(400)))).contains("k8s:pod-name:late", "k8s:sa:default");
    }

    @Test
    void aVanishedProcessFailsAttestation() {
        assertThatThrownBy(() -> attestor.podOf(process(999))).isInstanceOf(AttestationException.class)
                .hasMessage("process 999 exited before it could be attested");
    }

    @Test
    void anApiErrorFailsAttestation() throws Exception {
        KubernetesMockServer forbidding = new KubernetesMockServer(false);
        forbidding.init();
        forbidding.expect().get().withPath("/api/v1/pods?fieldSelector=spec.nodeName%3Dnode-a").andReturn(403, "{}")
                .always();
        try (KubernetesClient denied = forbidding.createClient()) {
            KubernetesWorkloadAttestor noAccess = KubernetesWorkloadAttestor.builder(denied, "node-a").procRoot(proc).build();
            assertThatThrownBy(() -> noAccess.attest(process(100))).isInstanceOf(AttestationException.class)
                    .hasMessageStartingWith("cannot list the pods of node node-a");
        } finally {
            forbidding.destroy();
        }
    }

    @Test
    void theBuilderChecksItsArguments() {
        assertThatThrownBy(() -> KubernetesWorkloadAttestor.builder(client, "")).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("nodeName: empty");
        assertThatThrownBy(() -> KubernetesWorkloadAttestor.builder(client, "n").cacheTtl(Duration.ofSeconds(-1)))
                .isInstanceOf(IllegalArgumentException.class);
    }

    /**
     * The CRUD mock matches no pod for a {@code spec.nodeName} field selector, which the API server
     * supports for pods: this dispatcher records the selector and answers as if it were not there, so
     * the attestor's own node check is what keeps the other node's pod out.
     */
    private final class NodeFieldDispatcher extends KubernetesCrudDispatcher {

        NodeFieldDispatcher() {
            super(List.of());
        }

        @Override
        public MockResponse handleGet(String path) {
            int query = path.indexOf('?');
            if (path.startsWith("/api/v1/pods?") && path.contains("fieldSelector=spec.nodeName")) {
                podListQueries.add(path.substring(query + 1));
                return super.handleGet(path.substring(0, query));
            }
            return super.handleGet(path);
        }
    }

    private String create(Pod pod) {
        return client.pods().inNamespace(pod.getMetadata().getNamespace()).resource(pod).create().getMetadata().getUid();
    }

    private static Pod pod(String namespace, String name, String node, String serviceAccount) {
        return new PodBuilder()
                .withNewMetadata().withNamespace(namespace).withName(name)
                .withLabels(Map.of("app", "web", "tier", "front")).endMetadata()
                .withNewSpec().withNodeName(node).withServiceAccountName(serviceAccount).endSpec()
                .withNewStatus().withPhase("Running")
                .withContainerStatuses(
                        new ContainerStatusBuilder().withName("web").withContainerID("containerd://" + WEB_CONTAINER).build(),
                        new ContainerStatusBuilder().withName("istio-proxy")
                                .withContainerID("containerd://" + SIDECAR_CONTAINER).build())
                .endStatus().build();
    }

    private void cgroup(int pid, String content) throws Exception {
        Files.writeString(Files.createDirectories(proc.resolve(Integer.toString(pid))).resolve("cgroup"), content + "\n");
    }

    private static WorkloadProcess process(int pid) {
        return new WorkloadProcess(pid, 1000, 1000);
    }

    private static Set<String> strings(Set<Selector> selectors) {
        return selectors.stream().map(Selector::toString).collect(Collectors.toSet());
    }
}
