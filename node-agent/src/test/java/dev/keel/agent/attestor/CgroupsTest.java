package dev.keel.agent.attestor;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.keel.agent.AttestationException;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class CgroupsTest {

    private static final String UID = "2c48913c-b29f-11e7-9350-020968147796";
    private static final String UNDERSCORED = "2c48913c_b29f_11e7_9350_020968147796";
    private static final String CONTAINER = "9bca8d63d5fa610783847915bcff0ecac1273e5b4bed3f6fa1b07350e0135961";

    @ParameterizedTest
    @ValueSource(strings = {
        // cgroup v1, cgroupfs driver: burstable, besteffort, guaranteed
        "12:memory:/kubepods/burstable/pod" + UID + "/" + CONTAINER,
        "4:cpu,cpuacct:/kubepods/besteffort/pod" + UID + "/" + CONTAINER,
        "3:pids:/kubepods/pod" + UID + "/" + CONTAINER,
        // cgroup v2, systemd driver
        "0::/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" + UNDERSCORED
                + ".slice/cri-containerd-" + CONTAINER + ".scope",
        "0::/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod" + UNDERSCORED
                + ".slice/crio-" + CONTAINER + ".scope",
        "0::/kubepods.slice/kubepods-pod" + UNDERSCORED + ".slice/docker-" + CONTAINER + ".scope",
        // kind: the kubelet's slices nested in another
        "0::/kubelet.slice/kubelet-kubepods.slice/kubelet-kubepods-besteffort.slice/kubelet-kubepods-besteffort-pod"
                + UNDERSCORED + ".slice/cri-containerd-" + CONTAINER + ".scope",
        // cgroup v2, cgroupfs driver
        "0::/kubepods/burstable/pod" + UID + "/" + CONTAINER
    })
    void findsThePodAndContainer(String line) throws Exception {
        assertThat(Cgroups.parse(List.of(line))).contains(new Cgroups.PodContainer(UID, CONTAINER));
    }

    @Test
    void aCgroupV1FileHasTheSamePathOnEveryController() throws Exception {
        List<String> lines = List.of(
                "12:hugetlb:/kubepods/burstable/pod" + UID + "/" + CONTAINER,
                "11:memory:/kubepods/burstable/pod" + UID + "/" + CONTAINER,
                "1:name=systemd:/kubepods/burstable/pod" + UID + "/" + CONTAINER);

        assertThat(Cgroups.parse(lines)).contains(new Cgroups.PodContainer(UID, CONTAINER));
    }

    @Test
    void aPodWithoutAContainerSegment() throws Exception {
        assertThat(Cgroups.parse(List.of("0::/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod"
                + UNDERSCORED + ".slice/crio-conmon-" + CONTAINER + ".scope")))
                .contains(new Cgroups.PodContainer(UID, null));
    }

    @ParameterizedTest
    @ValueSource(strings = {
        "0::/user.slice/user-1000.slice/session-3.scope",
        "0::/system.slice/containerd.service",
        "12:memory:/docker/" + CONTAINER,
        // A pod-looking segment outside the kubelet's hierarchy counts for nothing.
        "0::/system.slice/pod" + UID + ".slice",
        "0::/",
        "garbage"
    })
    void aProcessOutsideAnyPod(String line) throws Exception {
        assertThat(Cgroups.parse(List.of(line))).isEmpty();
    }

    @Test
    void twoPodsAreAnError() {
        String other = "3f4a5b6c-0000-11e7-9350-020968147796";

        assertThatThrownBy(() -> Cgroups.parse(List.of("1:cpu:/kubepods/pod" + UID + "/" + CONTAINER,
                "2:memory:/kubepods/pod" + other + "/" + CONTAINER)))
                .isInstanceOf(AttestationException.class).hasMessageContaining("two pods");
    }
}
