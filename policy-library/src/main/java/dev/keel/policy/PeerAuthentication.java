package dev.keel.policy;

import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * Istio's {@code PeerAuthentication}: the mutual TLS mode of the selected workloads, optionally per port.
 * Port-level settings require a selector with labels. Immutable and thread-safe.
 *
 * @param selector      {@code spec.selector}; present even when empty
 * @param mtls          {@code spec.mtls}; absent means inherit from the parent (namespace, then mesh)
 * @param portLevelMtls {@code spec.portLevelMtls}, by port number, in file order
 */
public record PeerAuthentication(
        ApiVersion apiVersion,
        PolicyMetadata metadata,
        Optional<WorkloadSelector> selector,
        Optional<MutualTLS> mtls,
        Map<Integer, MutualTLS> portLevelMtls) implements IstioPolicy {

    /** Istio's {@code PeerAuthentication.MutualTLS}. */
    public record MutualTLS(Mode mode) {

        /** Istio's {@code PeerAuthentication.MutualTLS.Mode}. */
        public enum Mode {
            /** Inherit from the parent; plain PERMISSIVE when there is none. */
            UNSET,
            /** Connections are not tunneled through mutual TLS. */
            DISABLE,
            /** Mutual TLS or plaintext. */
            PERMISSIVE,
            /** Mutual TLS only. */
            STRICT
        }

        public MutualTLS {
            Objects.requireNonNull(mode, "mode");
        }
    }

    public PeerAuthentication {
        Objects.requireNonNull(apiVersion, "apiVersion");
        Objects.requireNonNull(metadata, "metadata");
        Objects.requireNonNull(selector, "selector");
        Objects.requireNonNull(mtls, "mtls");
        portLevelMtls = Models.map(portLevelMtls, "portLevelMtls");
    }

    @Override
    public PolicyKind kind() {
        return PolicyKind.PEER_AUTHENTICATION;
    }
}
