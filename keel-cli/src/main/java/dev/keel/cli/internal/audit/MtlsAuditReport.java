package dev.keel.cli.internal.audit;

import java.util.List;

/**
 * The mTLS compliance report of {@code keel audit mtls}, as written to JSON (and embedded in the HTML
 * report, which renders exactly these numbers). Percentages are null when there is nothing to divide.
 */
public record MtlsAuditReport(String generatedAt, String trustDomain, Summary summary, List<WorkloadReport> workloads,
        List<NamespaceCoverage> namespaces, List<IssuedIdentity> identities, CaLog caAuditLog, List<Finding> findings) {

    public MtlsAuditReport {
        workloads = List.copyOf(workloads);
        namespaces = List.copyOf(namespaces);
        identities = List.copyOf(identities);
        findings = List.copyOf(findings);
    }

    /**
     * @param mtlsCoveragePercent share of observed inbound traffic (requests plus TCP connections) that
     *     was mutual TLS; null when no traffic was observed
     * @param strictPortsPercent share of inbound ports whose effective PeerAuthentication mode is STRICT
     * @param passed whether coverage met {@code minMtls} (no traffic observed: judged on the ports instead)
     */
    public record Summary(int workloads, int workloadsReachable, int ports, int strictPorts, Double strictPortsPercent,
            long mtlsTraffic, long plaintextTraffic, Double mtlsCoveragePercent,
            List<String> workloadsWithoutAuthorizationPolicy, int identitiesIssued, int identitiesExpiringWithin24h,
            double minMtls, boolean passed) {
        public Summary {
            workloadsWithoutAuthorizationPolicy = List.copyOf(workloadsWithoutAuthorizationPolicy);
        }
    }

    /** One workload's proxy: its ports and modes, what it saw, and what governs it. */
    public record WorkloadReport(String name, String namespace, String spiffeId, String admin, boolean reachable,
            String error, List<PortMode> ports, long mtlsRequests, long plaintextRequests, long mtlsConnections,
            long plaintextConnections, List<String> mtlsSources, List<Peer> plaintextPeers,
            List<String> authorizationPolicies, String svidSerial, String svidNotAfter, long policyVersion) {
        public WorkloadReport {
            ports = List.copyOf(ports);
            mtlsSources = List.copyOf(mtlsSources);
            plaintextPeers = List.copyOf(plaintextPeers);
            authorizationPolicies = List.copyOf(authorizationPolicies);
        }

        public long mtlsTraffic() {
            return mtlsRequests + mtlsConnections;
        }

        public long plaintextTraffic() {
            return plaintextRequests + plaintextConnections;
        }
    }

    /** The PeerAuthentication mode in force on one inbound port. */
    public record PortMode(int appPort, int listenPort, String protocol, String mode) {}

    /** A peer that reached the workload without TLS. */
    public record Peer(String address, long count, String lastSeen) {}

    public record NamespaceCoverage(String namespace, int workloads, long mtls, long plaintext, Double coveragePercent) {}

    /** The latest X.509-SVID the CA issued for a SPIFFE ID, from its audit log, and whether it was revoked. */
    public record IssuedIdentity(String spiffeId, String serial, String issuedAt, String notAfter, long issuances,
            boolean expired, boolean revoked) {}

    /** The CA audit log read: its hash chain verified or the problems found. */
    public record CaLog(String path, long lines, boolean chainVerified, List<String> problems) {
        public CaLog {
            problems = List.copyOf(problems);
        }
    }

    /** Something an auditor should look at: severity {@code high}, {@code medium} or {@code info}. */
    public record Finding(String severity, String subject, String message) {}
}
