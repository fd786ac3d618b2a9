package dev.keel.proxy.pipeline;

import dev.keel.authz.AuthzConfig;
import dev.keel.authz.Workload;
import dev.keel.policy.PeerAuthentication.MutualTLS.Mode;
import dev.keel.proxy.ProxyConfig;
import java.util.HashMap;
import java.util.Map;
import java.util.Objects;

/**
 * What a pipeline is compiled for, besides the policies: the workload the policies select, the mesh
 * settings of authorization, and the PeerAuthentication modes that apply when no policy selects the
 * workload (the proxy config's {@code inbound.mode} and per-port modes). Immutable.
 */
public record PipelineSettings(Workload workload, AuthzConfig authzConfig, Mode defaultMode, Map<Integer, Mode> portModes) {

    public PipelineSettings {
        Objects.requireNonNull(workload, "workload");
        Objects.requireNonNull(authzConfig, "authzConfig");
        Objects.requireNonNull(defaultMode, "defaultMode");
        portModes = Map.copyOf(portModes);
    }

    /** The settings {@code config} describes. */
    public static PipelineSettings from(ProxyConfig config) {
        Map<Integer, Mode> ports = new HashMap<>();
        config.inbound().ports().forEach(p -> {
            if (p.mode() != Mode.UNSET) {
                ports.put(p.port(), p.mode());
            }
        });
        return new PipelineSettings(Workload.of(config.workload().namespace(), config.workload().labels()),
                AuthzConfig.defaults().withRootNamespace(config.rootNamespace())
                        .withPathNormalization(config.pathNormalization()),
                config.inbound().mode(), ports);
    }
}
