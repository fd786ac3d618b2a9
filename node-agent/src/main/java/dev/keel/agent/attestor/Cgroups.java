package dev.keel.agent.attestor;

import dev.keel.agent.AttestationException;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Finds the pod UID, and the container ID when present, in the lines of {@code /proc/<pid>/cgroup},
 * for the layouts the kubelet creates:
 * <ul>
 *   <li>cgroupfs driver, v1 or v2: {@code /kubepods/burstable/pod<uid>/<container id>}, also
 *       {@code besteffort} and guaranteed ({@code /kubepods/pod<uid>/...});</li>
 *   <li>systemd driver: {@code /kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod<uid with
 *       underscores>.slice/cri-containerd-<id>.scope} (also {@code docker-}, {@code crio-}), and
 *       guaranteed {@code kubepods-pod<uid>.slice};</li>
 *   <li>either nested under another slice, as kind's {@code kubelet.slice/kubelet-kubepods.slice}.</li>
 * </ul>
 * A pod segment counts only below a {@code kubepods} segment. Stateless.
 */
final class Cgroups {

    /** A process's pod, and its container when the cgroup path names one (else null). */
    record PodContainer(String podUid, String containerId) {
    }

    private static final Pattern POD_SEGMENT = Pattern.compile(
            "(?:.*-)?pod([0-9a-f]{8}[-_][0-9a-f]{4}[-_][0-9a-f]{4}[-_][0-9a-f]{4}[-_][0-9a-f]{12})(?:\\.slice)?");
    private static final Pattern CONTAINER_SEGMENT = Pattern.compile(
            "(?:cri-containerd-|containerd-|docker-|crio-)?([0-9a-f]{64})(?:\\.scope)?");

    private Cgroups() {
    }

    /**
     * @return the pod (and container) of the process, empty when it is not in a pod
     * @throws AttestationException when the lines name two different pods or containers
     */
    static Optional<PodContainer> parse(List<String> lines) throws AttestationException {
        String podUid = null;
        String containerId = null;
        for (String line : lines) {
            // hierarchy-ID:controller-list:cgroup-path; the path may itself contain ':'.
            int first = line.indexOf(':');
            int second = first < 0 ? -1 : line.indexOf(':', first + 1);
            if (second < 0) {
                continue;
            }
            PodContainer found = parsePath(line.substring(second + 1));
            if (found == null) {
                continue;
            }
            if (podUid != null && !podUid.equals(found.podUid())) {
                throw new AttestationException("the process's cgroups name two pods, " + podUid + " and " + found.podUid());
            }
            podUid = found.podUid();
            if (found.containerId() != null) {
                if (containerId != null && !containerId.equals(found.containerId())) {
                    throw new AttestationException("the process's cgroups name two containers of pod " + podUid);
                }
                containerId = found.containerId();
            }
        }
        return podUid == null ? Optional.empty() : Optional.of(new PodContainer(podUid, containerId));
    }

    private static PodContainer parsePath(String path) {
        String[] segments = path.toLowerCase(Locale.ROOT).split("/");
        boolean underKubepods = false;
        for (int i = 0; i < segments.length; i++) {
            if (!underKubepods) {
                underKubepods = segments[i].contains("kubepods");
                if (!underKubepods) {
                    continue;
                }
            }
            Matcher pod = POD_SEGMENT.matcher(segments[i]);
            if (!pod.matches()) {
                continue;
            }
            String uid = pod.group(1).replace('_', '-');
            String containerId = null;
            if (i + 1 < segments.length) {
                Matcher container = CONTAINER_SEGMENT.matcher(segments[i + 1]);
                if (container.matches()) {
                    containerId = container.group(1);
                }
            }
            return new PodContainer(uid, containerId);
        }
        return null;
    }
}
