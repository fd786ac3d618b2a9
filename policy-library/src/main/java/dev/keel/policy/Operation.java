package dev.keel.policy;

import java.util.List;

/**
 * Istio's {@code Operation}: fields AND, values within a field OR; {@code not*} fields match when none of
 * their values do. {@code ports} are decimal strings; {@code paths} may use Istio's {@code {*}} and
 * {@code {**}} templates. An empty list places no constraint. Immutable and thread-safe.
 */
public record Operation(
        List<String> hosts,
        List<String> notHosts,
        List<String> ports,
        List<String> notPorts,
        List<String> methods,
        List<String> notMethods,
        List<String> paths,
        List<String> notPaths) {

    public Operation {
        hosts = Models.list(hosts, "hosts");
        notHosts = Models.list(notHosts, "notHosts");
        ports = Models.list(ports, "ports");
        notPorts = Models.list(notPorts, "notPorts");
        methods = Models.list(methods, "methods");
        notMethods = Models.list(notMethods, "notMethods");
        paths = Models.list(paths, "paths");
        notPaths = Models.list(notPaths, "notPaths");
    }

    /** True when no field is set (Istio refuses such an operation). */
    public boolean isEmpty() {
        return hosts.isEmpty() && notHosts.isEmpty() && ports.isEmpty() && notPorts.isEmpty() && methods.isEmpty()
                && notMethods.isEmpty() && paths.isEmpty() && notPaths.isEmpty();
    }
}
