package dev.keel.agent.cache;

import static org.assertj.core.api.Assertions.assertThat;

import dev.keel.agent.KubernetesPod;
import dev.keel.agent.RegistrationEntry;
import dev.keel.agent.Selector;
import dev.keel.agent.ca.Await;
import dev.keel.identity.SpiffeId;
import dev.keel.identity.X509Svid;
import dev.keel.proto.ca.v1.MintJWTSVIDRequest;
import dev.keel.proto.ca.v1.SignWorkloadSVIDRequest;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Kubernetes mode: a pod's service account identity without a registration entry. */
class KubernetesModeTest extends AgentFixture {

    final KubernetesPod web = new KubernetesPod("shop", "web-0", "7f3c-uid", "web");

    @BeforeEach
    void startAgent() throws Exception {
        startReady(config().kubernetesMode(true).podIdleTimeout(Duration.ofMinutes(10)).build());
    }

    @Test
    void anAdmittedPodGetsItsServiceAccountIdentityIssuedForThePod() throws Exception {
        RegistrationEntry entry = manager.admitPod(web);

        assertThat(entry.id()).isEqualTo("k8s:7f3c-uid");
        assertThat(entry.spiffeId()).isEqualTo(SpiffeId.parse("spiffe://cluster.local/ns/shop/sa/web"));
        assertThat(entry.selectors()).containsExactly(Selector.parse("k8s:pod-uid:7f3c-uid"));
        Await.until("the pod's SVID", () -> svid(entry.id()) != null);
        assertThat(X509Svid.of(svid(entry.id()).chain()).spiffeId()).isEqualTo(entry.spiffeId());
        SignWorkloadSVIDRequest request = ca.signRequests.peek();
        assertThat(request.getEntryId()).isEmpty();
        assertThat(request.getKubernetesPod().getUid()).isEqualTo("7f3c-uid");
        assertThat(request.getKubernetesPod().getNamespace()).isEqualTo("shop");
        assertThat(request.getKubernetesPod().getName()).isEqualTo("web-0");

        assertThat(manager.admitPod(web)).isEqualTo(entry);
        settle();
        assertThat(ca.calls("SignWorkloadSVID")).isEqualTo(1);

        manager.fetchJwtSvid(entry, List.of("payments")).get(15, TimeUnit.SECONDS);
        MintJWTSVIDRequest mint = ca.mintRequests.peek();
        assertThat(mint.getEntryId()).isEmpty();
        assertThat(mint.getKubernetesPod().getUid()).isEqualTo("7f3c-uid");
    }

    @Test
    void aPodIdentityIsDroppedWhenUnusedForTheIdleTimeout() throws Exception {
        RegistrationEntry entry = manager.admitPod(web);
        Await.until("the pod's SVID", () -> svid(entry.id()) != null);

        advance(Duration.ofMinutes(6));
        manager.admitPod(web); // used again
        advance(Duration.ofMinutes(6));
        settle();
        assertThat(manager.current().entries()).contains(entry);

        advance(Duration.ofMinutes(11));
        Await.until("the idle pod is dropped", () -> !manager.current().entries().contains(entry));
        assertThat(manager.current().svidsByEntryId()).doesNotContainKey(entry.id());
    }

    @Test
    void aPodThatIsGoneIsDroppedAtOnceAndSyncsDoNotTouchPods() throws Exception {
        RegistrationEntry entry = manager.admitPod(web);
        Await.until("the pod's SVID", () -> svid(entry.id()) != null);
        ca.setEntries(List.of(ca.entry("a", X, "unix:uid:1000")));
        sync();
        Await.until("both", () -> manager.current().svidsByEntryId().size() == 2);

        manager.forgetPod(web.uid());

        Await.until("the pod is dropped", () -> manager.current().entries().size() == 1);
        assertThat(manager.current().svidsByEntryId()).containsOnlyKeys("a");
    }
}
