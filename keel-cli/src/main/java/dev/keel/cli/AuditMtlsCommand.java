package dev.keel.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import dev.keel.cli.internal.audit.HtmlReport;
import dev.keel.cli.internal.audit.MtlsAudit;
import dev.keel.cli.internal.audit.MtlsAuditReport;
import dev.keel.cli.internal.up.AdminClient;
import dev.keel.cli.internal.up.UpState;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code keel audit mtls}: the mTLS coverage of a running mesh, as JSON and as a self-contained HTML
 * report, with an exit status that can gate a pipeline.
 */
@Command(name = "mtls", mixinStandardHelpOptions = true,
        description = {"Report mTLS coverage: per workload and port the PeerAuthentication mode in force, traffic",
                "observed by connection_security_policy, plaintext peers, identities issued and their expiry, and",
                "workloads no AuthorizationPolicy selects. Writes mtls-audit.json and mtls-audit.html to --out.",
                "Exit status: 0 passed, 5 coverage under --min-mtls (or a proxy unreachable), 1 error, 2 bad options."})
final class AuditMtlsCommand implements Callable<Integer> {

    /** Not 2: picocli answers a mistyped option with 2, and a pipeline gate must tell the two apart. */
    static final int UNDER_THRESHOLD = 5;
    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Option(names = "--dir", defaultValue = ".keel",
            description = "State directory of keel up: its proxies, CA and policies are audited (default: ${DEFAULT-VALUE})")
    Path dir;

    @Option(names = "--proxy", description = "NAME=http://HOST:ADMINPORT of a proxy to audit instead of keel up's (repeat)")
    List<String> proxies = new ArrayList<>();

    @Option(names = "--ca-dir", description = "CA data directory whose audit log lists the identities issued")
    Path caDir;

    @Option(names = "--policies", description = "Policy directory, to find workloads no AuthorizationPolicy selects")
    Path policies;

    @Option(names = "--root-namespace", defaultValue = "istio-system",
            description = "Istio's root namespace (default: ${DEFAULT-VALUE})")
    String rootNamespace;

    @Option(names = "--min-mtls", defaultValue = "0",
            description = "Fail (exit 5) when mTLS coverage in percent is under this (default: ${DEFAULT-VALUE})")
    double minMtls;

    @Option(names = "--out", defaultValue = ".keel/audit", description = "Directory for the reports (default: ${DEFAULT-VALUE})")
    Path out;

    @Override
    public Integer call() throws Exception {
        if (minMtls < 0 || minMtls > 100) {
            throw new CommandLine.ParameterException(spec.commandLine(), "--min-mtls: " + minMtls + " (expected 0..100)");
        }
        List<MtlsAudit.ProxyTarget> targets = new ArrayList<>();
        for (String proxy : proxies) {
            int eq = proxy.indexOf('=');
            if (eq <= 0 || !proxy.substring(eq + 1).startsWith("http://")) {
                throw new CommandLine.ParameterException(spec.commandLine(), "--proxy: \"" + proxy
                        + "\" (expected NAME=http://HOST:PORT)");
            }
            targets.add(new MtlsAudit.ProxyTarget(proxy.substring(0, eq), strip(proxy.substring(eq + 1))));
        }
        Optional<Path> ca = Optional.ofNullable(caDir);
        Optional<Path> policyDir = Optional.ofNullable(policies);
        String trustDomain = "unknown";
        if (targets.isEmpty()) {
            Optional<UpState> state = UpState.read(dir.resolve(UpState.FILE));
            if (state.isEmpty() || !state.get().running()) {
                System.err.println("keel: no mesh is up from " + dir.toAbsolutePath()
                        + " (start one with keel up, or name proxies with --proxy)");
                return 1;
            }
            UpState up = state.get();
            trustDomain = up.trustDomain();
            up.workloads().forEach(w -> targets.add(new MtlsAudit.ProxyTarget(w.name(), w.adminUrl())));
            if (ca.isEmpty()) {
                ca = Optional.of(Path.of(up.ca().addresses().get("data_dir")));
            }
            if (policyDir.isEmpty()) {
                policyDir = Optional.of(Path.of(up.policyDirectory()));
            }
        }
        MtlsAuditReport report = new MtlsAudit(new AdminClient(), Clock.systemUTC())
                .run(new MtlsAudit.Sources(targets, ca, policyDir, rootNamespace, trustDomain, minMtls));
        String json = JSON.writeValueAsString(report);
        Files.createDirectories(out);
        write(out.resolve("mtls-audit.json"), json + "\n");
        write(out.resolve("mtls-audit.html"), HtmlReport.render(json));
        MtlsAuditReport.Summary s = report.summary();
        System.out.println("mTLS audit of " + s.workloads() + " workload(s): observed traffic over mTLS "
                + (s.mtlsCoveragePercent() == null ? "n/a (no traffic)" : s.mtlsCoveragePercent() + " %") + " ("
                + s.mtlsTraffic() + " mTLS, " + s.plaintextTraffic() + " plaintext); ports STRICT "
                + (s.strictPortsPercent() == null ? "n/a" : s.strictPortsPercent() + " %") + " (" + s.strictPorts() + "/"
                + s.ports() + "); identities issued " + s.identitiesIssued() + " (" + s.identitiesExpiringWithin24h()
                + " expiring within 24 h); without an ALLOW AuthorizationPolicy: " + s.workloadsWithoutAuthorizationPolicy());
        report.findings().forEach(f -> System.out.println("  [" + f.severity() + "] " + f.subject() + ": " + f.message()));
        System.out.println("wrote " + out.resolve("mtls-audit.json") + " and " + out.resolve("mtls-audit.html"));
        if (!s.passed()) {
            System.out.println("FAIL: coverage under --min-mtls " + minMtls);
            return UNDER_THRESHOLD;
        }
        System.out.println("PASS (--min-mtls " + minMtls + ")");
        return 0;
    }

    private static String strip(String url) {
        return url.endsWith("/") ? url.substring(0, url.length() - 1) : url;
    }

    private static void write(Path file, String content) throws java.io.IOException {
        Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
        Files.writeString(tmp, content);
        Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    }
}
