package dev.keel.policy.lint;

import dev.keel.policy.ParsedPolicy;
import dev.keel.policy.PeerAuthentication;
import dev.keel.policy.PeerAuthentication.MutualTLS;
import dev.keel.policy.PeerAuthentication.MutualTLS.Mode;
import dev.keel.policy.WorkloadSelector;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * KEEL-L004 and KEEL-L005: PeerAuthentications that let plaintext in. PERMISSIVE accepts plaintext
 * next to mTLS, DISABLE accepts only plaintext, and an UNSET mesh-wide policy falls back to the mesh
 * default, PERMISSIVE. Without a mesh-wide STRICT policy, every namespace without its own STRICT one is
 * PERMISSIVE.
 */
final class MtlsChecks {

    static final String REFERENCE = "https://istio.io/latest/docs/concepts/security/#peer-authentication";

    private MtlsChecks() {
    }

    static void check(List<ParsedPolicy> peerAuthentications, LintOptions options, Report report) {
        boolean meshWidePresent = false;
        for (ParsedPolicy parsed : peerAuthentications) {
            PeerAuthentication pa = (PeerAuthentication) parsed.policy();
            boolean meshWide = isMeshWide(pa, options);
            meshWidePresent |= meshWide;
            String scope = meshWide ? "mesh-wide" : pa.selector().map(WorkloadSelector::isEmpty).orElse(true)
                    ? "for namespace " + pa.metadata().namespace() : "for the selected workloads";
            Optional<Mode> mode = pa.mtls().map(MutualTLS::mode);
            if (mode.isPresent() && mode.get() != Mode.UNSET) {
                mode(parsed, "spec.mtls.mode", mode.get(), scope, report);
            } else if (meshWide) {
                report.add(parsed, mode.isPresent() ? "spec.mtls.mode" : "spec", LintCode.PERMISSIVE_MTLS, "the mesh-wide"
                        + " PeerAuthentication leaves the mode unset, which means Istio's default, PERMISSIVE: every"
                        + " workload without a STRICT policy of its own accepts plaintext; set mtls.mode: STRICT",
                        REFERENCE);
            }
            for (Map.Entry<Integer, MutualTLS> e : pa.portLevelMtls().entrySet()) {
                mode(parsed, "spec.portLevelMtls[\"" + e.getKey() + "\"].mode", e.getValue().mode(),
                        "on port " + e.getKey() + " of the selected workloads", report);
            }
        }
        if (!meshWidePresent && !peerAuthentications.isEmpty()) {
            report.add(peerAuthentications.get(0), "", LintCode.NO_MESH_WIDE_STRICT, "these policies have no mesh-wide"
                    + " PeerAuthentication (namespace " + options.rootNamespace() + ", no selector, mode STRICT), so"
                    + " every workload they do not cover runs with Istio's default, PERMISSIVE, and accepts plaintext;"
                    + " add one (keel policy catalog strict-mtls) unless it is managed elsewhere", REFERENCE);
        }
    }

    private static void mode(ParsedPolicy parsed, String path, Mode mode, String scope, Report report) {
        if (mode == Mode.PERMISSIVE) {
            report.add(parsed, path, LintCode.PERMISSIVE_MTLS, "PERMISSIVE " + scope + " accepts plaintext as well as"
                    + " mutual TLS, so callers without an identity get in and policies on principals or namespaces"
                    + " can be bypassed with plaintext; it is meant for migrations, switch to STRICT when they end",
                    REFERENCE);
        } else if (mode == Mode.DISABLE) {
            report.add(parsed, path, LintCode.PERMISSIVE_MTLS, "DISABLE " + scope + " turns mutual TLS off: traffic"
                    + " is plaintext, unauthenticated and unencrypted, and policies on principals or namespaces cannot"
                    + " match it", REFERENCE);
        }
    }

    private static boolean isMeshWide(PeerAuthentication pa, LintOptions options) {
        return pa.metadata().namespace().equals(options.rootNamespace())
                && pa.selector().map(WorkloadSelector::isEmpty).orElse(true);
    }
}
