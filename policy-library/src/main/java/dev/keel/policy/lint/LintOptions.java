package dev.keel.policy.lint;

import java.util.Objects;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * What the linter needs to know about the mesh. Immutable and thread-safe.
 *
 * @param trustDomain   the mesh's trust domain; principals of other trust domains are reported
 * @param rootNamespace Istio's root namespace (meshConfig.rootNamespace): policies there without a
 *                      selector apply mesh-wide
 * @param tcpPorts      ports the selected workloads serve as plain TCP (not HTTP); HTTP-only fields on them
 *                      are reported
 */
public record LintOptions(String trustDomain, String rootNamespace, Set<Integer> tcpPorts) {

    /** Istio's defaults. */
    public static final String DEFAULT_TRUST_DOMAIN = "cluster.local";
    public static final String DEFAULT_ROOT_NAMESPACE = "istio-system";

    private static final Pattern TRUST_DOMAIN = Pattern.compile("[a-z0-9._-]+");
    private static final Pattern NAMESPACE = Pattern.compile("[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?");

    public LintOptions {
        Objects.requireNonNull(trustDomain, "trustDomain");
        Objects.requireNonNull(rootNamespace, "rootNamespace");
        tcpPorts = Set.copyOf(tcpPorts);
        if (!TRUST_DOMAIN.matcher(trustDomain).matches()) {
            throw new IllegalArgumentException("trustDomain: \"" + trustDomain
                    + "\" (expected: lower-case letters, digits, '.', '-' and '_', as in a SPIFFE trust domain)");
        }
        if (!NAMESPACE.matcher(rootNamespace).matches()) {
            throw new IllegalArgumentException("rootNamespace: \"" + rootNamespace + "\" (expected: a Kubernetes namespace name)");
        }
        for (int port : tcpPorts) {
            if (port < 1 || port > 65535) {
                throw new IllegalArgumentException("tcpPorts: " + port + " (expected: 1..65535)");
            }
        }
    }

    /** {@code cluster.local}, {@code istio-system}, no TCP ports. */
    public static LintOptions defaults() {
        return new LintOptions(DEFAULT_TRUST_DOMAIN, DEFAULT_ROOT_NAMESPACE, Set.of());
    }

    public LintOptions withTcpPorts(Set<Integer> ports) {
        return new LintOptions(trustDomain, rootNamespace, ports);
    }
}
