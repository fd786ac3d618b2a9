package dev.keel.cli.internal.audit;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.keel.ca.audit.AuditLogVerifier;
import dev.keel.ca.audit.VerificationReport;
import dev.keel.cli.internal.audit.MtlsAuditReport.CaLog;
import dev.keel.cli.internal.audit.MtlsAuditReport.Finding;
import dev.keel.cli.internal.audit.MtlsAuditReport.IssuedIdentity;
import dev.keel.cli.internal.audit.MtlsAuditReport.NamespaceCoverage;
import dev.keel.cli.internal.audit.MtlsAuditReport.Peer;
import dev.keel.cli.internal.audit.MtlsAuditReport.PortMode;
import dev.keel.cli.internal.audit.MtlsAuditReport.Summary;
import dev.keel.cli.internal.audit.MtlsAuditReport.WorkloadReport;
import dev.keel.cli.internal.up.AdminClient;
import dev.keel.policy.AuthorizationPolicy;
import dev.keel.policy.ParsedPolicy;
import dev.keel.policy.WorkloadSelector;
import dev.keel.policy.source.PolicyFiles;
import java.io.BufferedReader;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * Gathers the mTLS compliance picture: from each proxy's admin port the effective PeerAuthentication
 * mode per port ({@code /config}), the traffic it saw by {@code connection_security_policy}
 * ({@code /metrics}, reporter {@code destination}), its plaintext peers ({@code /peers}) and its SVID
 * ({@code /certs}); from the CA's audit log every identity issued (its hash chain verified first); from
 * the policy directory which workloads no AuthorizationPolicy selects.
 */
public final class MtlsAudit {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Duration SOON = Duration.ofHours(24);

    /** A proxy to ask: the workload's name and its admin base URL. */
    public record ProxyTarget(String name, String adminUrl) {}

    /** What to audit. {@code minMtls} is the coverage threshold in percent. */
    public record Sources(List<ProxyTarget> proxies, Optional<Path> caDir, Optional<Path> policyDir,
            String rootNamespace, String trustDomain, double minMtls) {
        public Sources {
            proxies = List.copyOf(proxies);
            Objects.requireNonNull(caDir, "caDir");
            Objects.requireNonNull(policyDir, "policyDir");
        }
    }

    private final AdminClient admin;
    private final Clock clock;

    public MtlsAudit(AdminClient admin, Clock clock) {
        this.admin = admin;
        this.clock = clock;
    }

    public MtlsAuditReport run(Sources sources) throws IOException {
        Instant now = clock.instant();
        List<Finding> findings = new ArrayList<>();
        List<ParsedPolicy> policies = List.of();
        if (sources.policyDir().isPresent()) {
            PolicyFiles.Result files = PolicyFiles.read(sources.policyDir().get(), "default");
            files.errors().forEach(e -> findings.add(new Finding("high", "policies", "does not load: " + e)));
            policies = files.policies();
        }
        List<WorkloadReport> workloads = new ArrayList<>();
        for (ProxyTarget target : sources.proxies()) {
            workloads.add(workload(target, policies, sources.rootNamespace(), findings));
        }
        CaLog caLog = null;
        List<IssuedIdentity> identities = List.of();
        if (sources.caDir().isPresent()) {
            Path log = sources.caDir().get().resolve("audit.log");
            caLog = verify(log);
            if (!caLog.chainVerified()) {
                findings.add(new Finding("high", "CA audit log", "hash chain does not verify: " + caLog.problems()));
            }
            identities = identities(log, now);
        }
        List<NamespaceCoverage> namespaces = namespaces(workloads);
        Summary summary = summary(workloads, identities, now, sources.minMtls());
        if (!summary.passed()) {
            findings.add(0, new Finding("high", "mesh", "mTLS coverage " + percent(summary.mtlsCoveragePercent(),
                    summary.strictPortsPercent()) + " is under the required " + sources.minMtls() + " %"));
        }
        return new MtlsAuditReport(now.toString(), sources.trustDomain(), summary, workloads, namespaces, identities,
                caLog, findings);
    }

    private WorkloadReport workload(ProxyTarget target, List<ParsedPolicy> policies, String rootNamespace,
            List<Finding> findings) {
        String name = target.name();
        try {
            JsonNode effective = admin.json(target.adminUrl() + "/config").path("effective");
            String namespace = effective.path("namespace").asText("default");
            String spiffeId = effective.path("spiffe_id").asText("");
            Map<String, String> labels = new LinkedHashMap<>();
            effective.path("labels").fields().forEachRemaining(e -> labels.put(e.getKey(), e.getValue().asText()));
            List<PortMode> ports = new ArrayList<>();
            for (JsonNode p : effective.path("ports")) {
                PortMode port = new PortMode(p.path("app_port").asInt(), p.path("listen_port").asInt(),
                        p.path("protocol").asText(), p.path("mode").asText());
                ports.add(port);
                if (!port.mode().equals("STRICT")) {
                    findings.add(new Finding("medium", name + ":" + port.appPort(), "accepts plaintext (mode "
                            + port.mode() + ")"));
                }
            }
            long mtlsRequests = 0;
            long plainRequests = 0;
            long mtlsConnections = 0;
            long plainConnections = 0;
            TreeSet<String> sourcesSeen = new TreeSet<>();
            AdminClient.Reply metrics = admin.get(target.adminUrl() + "/metrics");
            if (!metrics.ok()) {
                // Zero traffic read from an error page would hide plaintext: the proxy is not audited.
                throw new IOException(target.adminUrl() + "/metrics answered " + metrics.status());
            }
            for (PrometheusText.Sample s : PrometheusText.parse(metrics.body())) {
                if (!s.label("reporter").equals("destination")) {
                    continue;
                }
                boolean mutual = s.label("connection_security_policy").equals("mutual_tls");
                long count = Math.round(s.value());
                if (s.name().equals("istio_requests_total")) {
                    if (mutual) {
                        mtlsRequests += count;
                    } else {
                        plainRequests += count;
                    }
                } else if (s.name().equals("istio_tcp_connections_opened_total")) {
                    if (mutual) {
                        mtlsConnections += count;
                    } else {
                        plainConnections += count;
                    }
                } else {
                    continue;
                }
                if (mutual && !s.label("source_principal").isEmpty() && !s.label("source_principal").equals("unknown")) {
                    sourcesSeen.add(s.label("source_principal"));
                }
            }
            List<Peer> peers = peers(target);
            if (plainRequests + plainConnections > 0) {
                findings.add(new Finding("high", name, (plainRequests + plainConnections)
                        + " plaintext request(s)/connection(s) observed" + (peers.isEmpty() ? ""
                        : " from " + peers.stream().map(Peer::address).toList())));
            }
            String root = effective.path("root_namespace").asText(rootNamespace);
            List<String> authz = authorizationPolicies(policies, namespace, labels, root);
            if (authz.stream().noneMatch(policy -> policy.startsWith("ALLOW "))) {
                findings.add(new Finding("medium", name, "no ALLOW AuthorizationPolicy selects it: every peer may "
                        + "call every path not denied" + (authz.isEmpty() ? "" : " (" + String.join(", ", authz) + ")")));
            }
            String serial = null;
            String notAfter = null;
            try {
                JsonNode certs = admin.json(target.adminUrl() + "/certs");
                serial = certs.path("chain").path(0).path("serial").asText(null);
                notAfter = certs.path("chain").path(0).path("not_after").asText(null);
            } catch (IOException e) {
                findings.add(new Finding("high", name, "holds no SVID: " + e.getMessage()));
            }
            return new WorkloadReport(name, namespace, spiffeId, target.adminUrl(), true, null, ports, mtlsRequests,
                    plainRequests, mtlsConnections, plainConnections, List.copyOf(sourcesSeen), peers, authz, serial,
                    notAfter, effective.path("policy_version").asLong());
        } catch (IOException e) {
            findings.add(new Finding("high", name, "proxy admin port not answering: " + e.getMessage()));
            return new WorkloadReport(name, "unknown", "", target.adminUrl(), false, e.getMessage(), List.of(), 0, 0, 0, 0,
                    List.of(), List.of(), List.of(), null, null, 0);
        }
    }

    private List<Peer> peers(ProxyTarget target) throws IOException {
        AdminClient.Reply reply = admin.get(target.adminUrl() + "/peers");
        if (reply.status() == 404) {
            return List.of(); // a proxy without the endpoint: peers unknown, traffic still counted
        }
        if (!reply.ok()) {
            throw new IOException(target.adminUrl() + "/peers answered " + reply.status());
        }
        List<Peer> peers = new ArrayList<>();
        for (JsonNode p : JSON.readTree(reply.body()).path("plaintext")) {
            peers.add(new Peer(p.path("address").asText(), p.path("count").asLong(), p.path("last_seen").asText()));
        }
        return peers;
    }

    /**
     * Istio's selection: policies in the workload's namespace or the root namespace whose selector
     * matches, each as {@code "<ACTION> <namespace>/<name>"}.
     */
    static List<String> authorizationPolicies(List<ParsedPolicy> policies, String namespace, Map<String, String> labels,
            String rootNamespace) {
        List<String> names = new ArrayList<>();
        for (ParsedPolicy parsed : policies) {
            if (!(parsed.policy() instanceof AuthorizationPolicy policy)) {
                continue;
            }
            String ns = policy.metadata().namespace();
            if (!ns.equals(namespace) && !ns.equals(rootNamespace)) {
                continue;
            }
            if (policy.targetRef().isPresent() || !policy.targetRefs().isEmpty()) {
                continue; // targets gateways and waypoints, not sidecars
            }
            WorkloadSelector selector = policy.selector().orElse(null);
            boolean matches = selector == null || selector.isEmpty()
                    || selector.matchLabels().entrySet().stream().allMatch(e -> e.getValue().equals(labels.get(e.getKey())));
            if (matches) {
                names.add(policy.action() + " " + ns + "/" + policy.metadata().name());
            }
        }
        return names;
    }

    private static CaLog verify(Path log) {
        if (!Files.exists(log)) {
            return new CaLog(log.toString(), 0, false, List.of("no audit log at " + log));
        }
        VerificationReport report = AuditLogVerifier.verify(log);
        return new CaLog(log.toString(), report.lines(), report.ok(),
                report.problems().stream().limit(20).map(Object::toString).toList());
    }

    /** The latest issuance per SPIFFE ID; node identities ({@code /keel/node/}) included. */
    private static List<IssuedIdentity> identities(Path log, Instant now) throws IOException {
        if (!Files.exists(log)) {
            return List.of();
        }
        Map<String, JsonNode> latest = new TreeMap<>();
        Map<String, Long> counts = new TreeMap<>();
        java.util.Set<String> revoked = new java.util.HashSet<>();
        try (BufferedReader reader = Files.newBufferedReader(log, StandardCharsets.UTF_8)) {
            for (String line = reader.readLine(); line != null; line = reader.readLine()) {
                JsonNode record;
                try {
                    record = JSON.readTree(line);
                } catch (IOException e) {
                    continue; // the chain verification above reports it
                }
                String outcome = record.path("outcome").asText();
                if (outcome.equals("revoked")) {
                    revoked.add(record.path("serial").asText());
                    continue;
                }
                // JWT-SVIDs are logged as "jwt:<id>" issuances: minutes long, not the X.509 identity.
                if (!outcome.equals("issued") || !record.hasNonNull("spiffe_id")
                        || record.path("serial").asText().startsWith("jwt:")) {
                    continue;
                }
                String id = record.path("spiffe_id").asText();
                latest.put(id, record);
                counts.merge(id, 1L, Long::sum);
            }
        }
        List<IssuedIdentity> out = new ArrayList<>();
        latest.forEach((id, record) -> {
            String notAfter = record.path("not_after").asText();
            boolean expired = Instant.parse(notAfter).isBefore(now);
            String serial = record.path("serial").asText();
            out.add(new IssuedIdentity(id, serial, record.path("time").asText(), notAfter, counts.get(id), expired,
                    revoked.contains(serial)));
        });
        out.sort(Comparator.comparing(IssuedIdentity::notAfter));
        return out;
    }

    private static List<NamespaceCoverage> namespaces(List<WorkloadReport> workloads) {
        Map<String, long[]> byNamespace = new TreeMap<>();
        for (WorkloadReport w : workloads) {
            long[] t = byNamespace.computeIfAbsent(w.namespace(), k -> new long[3]);
            t[0]++;
            t[1] += w.mtlsTraffic();
            t[2] += w.plaintextTraffic();
        }
        List<NamespaceCoverage> out = new ArrayList<>();
        byNamespace.forEach((ns, t) -> out.add(new NamespaceCoverage(ns, (int) t[0], t[1], t[2], share(t[1], t[1] + t[2]))));
        return out;
    }

    private static Summary summary(List<WorkloadReport> workloads, List<IssuedIdentity> identities, Instant now,
            double minMtls) {
        int ports = 0;
        int strict = 0;
        long mtls = 0;
        long plain = 0;
        List<String> unprotected = new ArrayList<>();
        for (WorkloadReport w : workloads) {
            ports += w.ports().size();
            strict += (int) w.ports().stream().filter(p -> p.mode().equals("STRICT")).count();
            mtls += w.mtlsTraffic();
            plain += w.plaintextTraffic();
            if (w.reachable() && w.authorizationPolicies().stream().noneMatch(p -> p.startsWith("ALLOW "))) {
                unprotected.add(w.name());
            }
        }
        Double coverage = share(mtls, mtls + plain);
        Double strictShare = share(strict, ports);
        int reachable = (int) workloads.stream().filter(WorkloadReport::reachable).count();
        // Judged on the exact counts (the shares are rounded for display: 1 plaintext request in 30,000
        // shows as 100.0 but does not meet 100). With no traffic, the ports decide: a PERMISSIVE port is
        // plaintext waiting to happen.
        boolean met = mtls + plain > 0 ? meets(mtls, mtls + plain, minMtls)
                : ports > 0 ? meets(strict, ports, minMtls) : minMtls == 0;
        boolean passed = reachable == workloads.size() && met;
        long soon = identities.stream().filter(i -> !i.expired()
                && Instant.parse(i.notAfter()).isBefore(now.plus(SOON))).count();
        return new Summary(workloads.size(), reachable, ports, strict, strictShare, mtls, plain, coverage, unprotected,
                identities.size(), (int) soon, minMtls, passed);
    }

    private static boolean meets(long part, long whole, double minPercent) {
        return part * 100.0 >= minPercent * whole;
    }

    private static Double share(long part, long whole) {
        return whole == 0 ? null : Math.round(10_000.0 * part / whole) / 100.0;
    }

    private static String percent(Double coverage, Double strictPorts) {
        if (coverage != null) {
            return coverage + " % of observed traffic";
        }
        return strictPorts == null ? "unknown (no workloads)" : strictPorts + " % of ports STRICT (no traffic observed)";
    }
}
