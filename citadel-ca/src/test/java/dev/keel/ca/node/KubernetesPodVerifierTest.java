package dev.keel.ca.node;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.keel.ca.CaException;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodBuilder;
import io.fabric8.kubernetes.client.ConfigBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import io.fabric8.kubernetes.client.server.mock.KubernetesCrudDispatcher;
import io.fabric8.kubernetes.client.server.mock.KubernetesMockServer;
import io.fabric8.mockwebserver.Context;
import io.fabric8.mockwebserver.MockWebServer;
import java.net.ServerSocket;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The pod rules, apart from the API, and the API's failures: unreachable or forbidden is UNAVAILABLE. */
class KubernetesPodVerifierTest {

    static final PodReference WEB = new PodReference("shop", "web-1", "uid-1");

    static Pod pod(String uid, String node, String phase, String serviceAccount) {
        return new PodBuilder().withNewMetadata().withNamespace("shop").withName("web-1").withUid(uid).endMetadata()
                .withNewSpec().withNodeName(node).withServiceAccountName(serviceAccount).endSpec()
                .withNewStatus().withPhase(phase).endStatus().build();
    }

    static void assertDenied(Pod pod, String message) {
        assertThatThrownBy(() -> KubernetesPodVerifier.check(WEB, "node-a", pod))
                .isInstanceOfSatisfying(CaException.class, e -> {
                    assertThat(e.code()).isEqualTo(CaException.Code.PERMISSION_DENIED);
                    assertThat(e.getMessage()).startsWith("kubernetes_pod: pod shop/web-1").contains(message);
                });
    }

    @Test
    void aRunningPodOnTheNodeWithItsUidPasses() throws Exception {
        VerifiedPod verified = KubernetesPodVerifier.check(WEB, "node-a", pod("uid-1", "node-a", "Running", "web"));
        assertThat(verified.serviceAccount()).isEqualTo("web");
        assertThat(KubernetesPodVerifier.check(WEB, "node-a", pod("uid-1", "node-a", null, "web")).nodeName())
                .isEqualTo("node-a");
    }

    @Test
    void everyRuleNamesWhatFailed() {
        assertDenied(null, "does not exist");
        assertDenied(pod("uid-2", "node-a", "Running", "web"), "has uid uid-2, not uid-1");
        assertDenied(pod("uid-1", "node-b", "Running", "web"), "runs on node node-b, not on the caller's node node-a");
        assertDenied(pod("uid-1", null, "Pending", "web"), "runs on node (none yet)");
        assertDenied(pod("uid-1", "node-a", "Failed", "web"), "has terminated (phase Failed)");
        assertDenied(pod("uid-1", "node-a", "Succeeded", "web"), "has terminated (phase Succeeded)");
        assertDenied(pod("uid-1", "node-a", "Running", null), "no spec.serviceAccountName");
    }

    @Test
    void readsThePodFromTheApiInCrudMode() throws Exception {
        KubernetesMockServer server = new KubernetesMockServer(new Context(), new MockWebServer(), new HashMap<>(),
                new KubernetesCrudDispatcher(List.of()), false);
        server.init();
        try (KubernetesClient client = server.createClient()) {
            Pod created = client.pods().inNamespace("shop").resource(new PodBuilder().withNewMetadata()
                    .withNamespace("shop").withName("web-1").endMetadata().withNewSpec().withNodeName("node-a")
                    .withServiceAccountName("web").endSpec().build()).create();
            KubernetesPodVerifier verifier = KubernetesPodVerifier.create(client);
            PodReference ref = new PodReference("shop", "web-1", created.getMetadata().getUid());
            assertThat(verifier.verify(ref, "node-a").serviceAccount()).isEqualTo("web");
            assertThatThrownBy(() -> verifier.verify(ref, "node-b")).isInstanceOfSatisfying(CaException.class,
                    e -> assertThat(e.code()).isEqualTo(CaException.Code.PERMISSION_DENIED));
        } finally {
            server.destroy();
        }
    }

    @Test
    void aForbiddenReadIsUnavailableAndSaysWhichPermissionIsMissing() throws Exception {
        KubernetesMockServer server = new KubernetesMockServer(false);
        server.init();
        server.expect().get().withPath("/api/v1/namespaces/shop/pods/web-1").andReturn(403, "{}").always();
        try (KubernetesClient client = server.createClient()) {
            assertThatThrownBy(() -> KubernetesPodVerifier.create(client).verify(WEB, "node-a"))
                    .isInstanceOfSatisfying(CaException.class, e -> {
                        assertThat(e.code()).isEqualTo(CaException.Code.UNAVAILABLE);
                        assertThat(e.getMessage()).contains("HTTP 403", "'get' on pods");
                    });
        } finally {
            server.destroy();
        }
    }

    @Test
    void anUnreachableApiIsUnavailableWithinTheTimeout() throws Exception {
        int port;
        try (ServerSocket socket = new ServerSocket(0)) {
            port = socket.getLocalPort();
        }
        try (KubernetesClient client = new KubernetesClientBuilder().withConfig(new ConfigBuilder()
                .withMasterUrl("http://127.0.0.1:" + port).withRequestRetryBackoffLimit(0).build()).build()) {
            long start = System.nanoTime();
            assertThatThrownBy(() -> KubernetesPodVerifier.create(client, Duration.ofSeconds(2)).verify(WEB, "node-a"))
                    .isInstanceOfSatisfying(CaException.class,
                            e -> assertThat(e.code()).isEqualTo(CaException.Code.UNAVAILABLE));
            assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(10));
        }
    }
}
