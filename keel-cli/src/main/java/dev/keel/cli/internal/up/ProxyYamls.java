package dev.keel.cli.internal.up;

import dev.keel.cli.internal.up.UpLayout.DemoWorkload;

/**
 * The {@code proxy.yaml} of each demo workload: inbound on its own port in front of its app, an
 * outbound listener with a route (and the SPIFFE ID it must present) to every other workload, the
 * shared policy directory and the agent's socket.
 */
public final class ProxyYamls {

    private ProxyYamls() {
    }

    public static String of(UpLayout layout, DemoWorkload self) {
        StringBuilder routes = new StringBuilder();
        for (DemoWorkload other : layout.workloads()) {
            if (other.equals(self)) {
                continue;
            }
            routes.append("    - {host: ").append(other.serviceHost()).append(", port: 80, address: \"")
                    .append(layout.host()).append(':').append(layout.inboundPort(other)).append("\", identities: [")
                    .append(other.spiffeId(layout.trustDomain())).append("]}\n");
        }
        return """
                # Written by keel up for %s.
                workload: {namespace: %s, serviceAccount: %s, labels: {app: %s}, trustDomain: %s}
                inbound: {host: %s, port: %d, mode: PERMISSIVE}
                app: {host: %s, port: %d}
                policyDirectory: "%s"
                adminPort: %d
                workloadApiSocket: "unix://%s"
                outbound:
                  host: %s
                  port: %d
                  routes:
                %s""".formatted(self.name(), self.namespace(), self.name(), self.name(), layout.trustDomain(),
                layout.host(), layout.inboundPort(self), layout.host(), layout.appPort(self), layout.policyDir(),
                layout.adminPort(self), layout.socket(), layout.host(), layout.outboundPort(self), routes);
    }
}
