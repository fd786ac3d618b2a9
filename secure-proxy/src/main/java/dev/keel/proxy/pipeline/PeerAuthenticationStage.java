package dev.keel.proxy.pipeline;

import dev.keel.policy.PeerAuthentication;
import dev.keel.policy.PeerAuthentication.MutualTLS;
import dev.keel.policy.PeerAuthentication.MutualTLS.Mode;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The mutual TLS mode per port, as Istio resolves PeerAuthentication: the workload-specific policy
 * (selector with labels in the workload's namespace; its {@code portLevelMtls} first), then the
 * namespace-wide one, then the mesh-wide one in the root namespace; UNSET inherits. When no policy sets
 * a mode the proxy config's per-port and default modes apply, and PERMISSIVE after them. Immutable.
 */
final class PeerAuthenticationStage {

    private final PeerAuthentication workloadPolicy;
    private final PeerAuthentication namespacePolicy;
    private final PeerAuthentication meshPolicy;
    private final PipelineSettings settings;

    PeerAuthenticationStage(List<PeerAuthentication> policies, PipelineSettings settings) {
        this.settings = settings;
        String ns = settings.workload().namespace();
        Map<String, String> labels = settings.workload().labels();
        String root = settings.authzConfig().rootNamespace();
        List<PeerAuthentication> sorted = policies.stream()
                .sorted(Comparator.comparing((PeerAuthentication p) -> p.metadata().namespace())
                        .thenComparing(p -> p.metadata().name()))
                .toList();
        PeerAuthentication w = null;
        PeerAuthentication n = null;
        PeerAuthentication m = null;
        for (PeerAuthentication p : sorted) {
            boolean wide = p.selector().isEmpty() || p.selector().get().matchLabels().isEmpty();
            String pns = p.metadata().namespace();
            if (!wide && pns.equals(ns) && matches(p.selector().get().matchLabels(), labels)) {
                w = w == null ? p : w;
            } else if (wide && pns.equals(ns)) {
                n = n == null ? p : n;
            } else if (wide && pns.equals(root)) {
                m = m == null ? p : m;
            }
        }
        this.workloadPolicy = w;
        this.namespacePolicy = n;
        this.meshPolicy = m;
    }

    private static boolean matches(Map<String, String> selector, Map<String, String> labels) {
        return selector.entrySet().stream().allMatch(e -> e.getValue().equals(labels.get(e.getKey())));
    }

    Mode mode(int port) {
        if (workloadPolicy != null) {
            MutualTLS portLevel = workloadPolicy.portLevelMtls().get(port);
            if (portLevel != null && portLevel.mode() != Mode.UNSET) {
                return portLevel.mode();
            }
        }
        for (PeerAuthentication p : new PeerAuthentication[] {workloadPolicy, namespacePolicy, meshPolicy}) {
            Optional<Mode> mode = p == null ? Optional.empty() : p.mtls().map(MutualTLS::mode);
            if (mode.isPresent() && mode.get() != Mode.UNSET) {
                return mode.get();
            }
        }
        Mode configured = settings.portModes().get(port);
        if (configured != null && configured != Mode.UNSET) {
            return configured;
        }
        return settings.defaultMode() == Mode.UNSET ? Mode.PERMISSIVE : settings.defaultMode();
    }
}
