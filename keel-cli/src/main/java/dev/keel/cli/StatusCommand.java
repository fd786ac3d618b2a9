package dev.keel.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.keel.cli.internal.DurationConverter;
import dev.keel.cli.internal.audit.PrometheusText;
import dev.keel.cli.internal.up.AdminClient;
import dev.keel.cli.internal.up.UpState;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.Optional;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code keel status}: what a {@code keel up} is running, read from its state file and asked of each
 * process: liveness, the identities the proxies hold and when they expire, the CA's own certificates,
 * and the policy version in force at each proxy (with the reason if the last update was refused).
 */
@Command(name = "status", mixinStandardHelpOptions = true,
        description = "Show the processes of the mesh keel up started, their identities, certificate expiries and "
                + "policy versions. Exit status 0 when everything is up, 3 when no mesh is up, 1 when a part is down.")
final class StatusCommand implements Callable<Integer> {

    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    @Option(names = "--dir", defaultValue = ".keel", description = "State directory of keel up (default: ${DEFAULT-VALUE})")
    Path dir;

    @Option(names = {"-o", "--output"}, defaultValue = "text", description = "text or json (default: ${DEFAULT-VALUE})")
    String output;

    @Override
    public Integer call() throws Exception {
        Optional<UpState> read = UpState.read(dir.resolve(UpState.FILE));
        if (read.isEmpty()) {
            System.err.println("keel: no mesh is up from " + dir.toAbsolutePath() + " (start one with keel up)");
            return 3;
        }
        UpState state = read.get();
        if (!state.running()) {
            System.err.println("keel: the keel up that wrote " + dir.resolve(UpState.FILE) + " (pid " + state.pid()
                    + ") is no longer running");
            return 3;
        }
        ObjectNode status = collect(state, new AdminClient());
        if (output.equals("json")) {
            System.out.println(JSON.writeValueAsString(status));
        } else {
            print(status);
        }
        return status.path("healthy").asBoolean() ? 0 : 1;
    }

    static ObjectNode collect(UpState state, AdminClient admin) {
        Instant now = Instant.now();
        ObjectNode out = JSON.createObjectNode();
        out.put("trust_domain", state.trustDomain()).put("started", state.started()).put("key_custody", state.keyCustody())
                .put("policy_directory", state.policyDirectory());
        boolean healthy = true;

        ObjectNode ca = out.putObject("ca").put("pid", state.ca().pid()).put("alive", alive(state.ca().pid()));
        ca.put("grpc", state.ca().addresses().get("grpc"));
        Path caDir = Path.of(state.ca().addresses().get("data_dir"));
        certificate(ca.putObject("issuing_ca"), caDir.resolve("ca-cert.pem"), now);
        certificate(ca.putObject("root"), caDir.resolve("root-cert.pem"), now);
        healthy &= ca.path("alive").asBoolean();

        ObjectNode agent = out.putObject("agent").put("pid", state.agent().pid()).put("alive", alive(state.agent().pid()));
        agent.put("workload_api", state.agent().addresses().get("workload_api"));
        try {
            AdminClient.Reply metrics = admin.get(state.agent().addresses().get("admin") + "/metrics");
            for (PrometheusText.Sample s : PrometheusText.parse(metrics.body())) {
                if (s.name().equals("keel_agent_ca_reachable")) {
                    agent.put("ca_reachable", s.value() == 1.0);
                }
            }
        } catch (IOException e) {
            agent.put("error", "admin port: " + e.getMessage());
        }
        // Unknown reachability (admin port down) is not "up".
        healthy &= agent.path("alive").asBoolean() && agent.path("ca_reachable").asBoolean(false);

        ArrayNode workloads = out.putArray("workloads");
        for (UpState.Workload w : state.workloads()) {
            ObjectNode node = workloads.addObject().put("name", w.name()).put("spiffe_id", w.spiffeId())
                    .put("proxy_pid", w.proxyPid()).put("alive", alive(w.proxyPid()))
                    .put("inbound", "127.0.0.1:" + w.inboundPort()).put("admin", w.adminUrl());
            try {
                AdminClient.Reply ready = admin.get(w.adminUrl() + "/ready");
                node.put("ready", ready.ok());
                if (!ready.ok()) {
                    node.put("not_ready", ready.body().strip());
                }
                JsonNode certs = admin.json(w.adminUrl() + "/certs");
                node.put("svid", certs.path("spiffe_id").asText());
                node.put("svid_serial", certs.path("chain").path(0).path("serial").asText());
                node.put("svid_not_after", certs.path("chain").path(0).path("not_after").asText());
                node.put("svid_expires_in_seconds", certs.path("expires_in_seconds").asLong());
                JsonNode effective = admin.json(w.adminUrl() + "/config").path("effective");
                node.put("policy_version", effective.path("policy_version").asLong());
                node.set("policy_errors", effective.path("policy_errors"));
                node.put("mtls_mode", effective.path("ports").path(0).path("mode").asText());
            } catch (IOException e) {
                node.put("ready", false).put("error", "admin port: " + e.getMessage());
            }
            healthy &= node.path("alive").asBoolean() && node.path("ready").asBoolean();
        }
        out.put("healthy", healthy);
        return out;
    }

    private static void certificate(ObjectNode node, Path pem, Instant now) {
        try (InputStream in = Files.newInputStream(pem)) {
            X509Certificate cert = (X509Certificate) CertificateFactory.getInstance("X.509").generateCertificate(in);
            node.put("subject", cert.getSubjectX500Principal().getName());
            node.put("not_after", cert.getNotAfter().toInstant().toString());
            node.put("expires_in_seconds", Duration.between(now, cert.getNotAfter().toInstant()).toSeconds());
        } catch (IOException | CertificateException e) {
            node.put("error", pem + ": " + e.getMessage());
        }
    }

    private static boolean alive(long pid) {
        return ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false);
    }

    private static void print(ObjectNode s) {
        System.out.println("mesh " + s.path("trust_domain").asText() + ", up since " + s.path("started").asText()
                + ", CA keys: " + s.path("key_custody").asText() + ", policies: " + s.path("policy_directory").asText());
        JsonNode ca = s.path("ca");
        System.out.printf("%-10s %-8s %-6s %s%n", "PROCESS", "PID", "STATE", "DETAILS");
        System.out.printf("%-10s %-8d %-6s gRPC %s; issuing CA expires %s (in %s), root %s%n", "ca", ca.path("pid").asLong(),
                state(ca.path("alive").asBoolean()), ca.path("grpc").asText(), ca.path("issuing_ca").path("not_after").asText(),
                human(ca.path("issuing_ca").path("expires_in_seconds").asLong()), ca.path("root").path("not_after").asText());
        JsonNode agent = s.path("agent");
        System.out.printf("%-10s %-8d %-6s %s; CA reachable: %s%n", "agent", agent.path("pid").asLong(),
                state(agent.path("alive").asBoolean()), agent.path("workload_api").asText(),
                agent.has("ca_reachable") ? (agent.path("ca_reachable").asBoolean() ? "yes" : "NO") : "?");
        for (JsonNode w : s.path("workloads")) {
            String state = !w.path("alive").asBoolean() ? "DOWN" : w.path("ready").asBoolean() ? "ready" : "NOT READY";
            System.out.printf("%-10s %-8d %-6s %s, SVID %s expires %s (in %s); %s on %s; policy version %d%s%n",
                    w.path("name").asText(), w.path("proxy_pid").asLong(), state, w.path("spiffe_id").asText(),
                    w.path("svid_serial").asText("?"), w.path("svid_not_after").asText("?"),
                    human(w.path("svid_expires_in_seconds").asLong()), w.path("mtls_mode").asText("?"),
                    w.path("inbound").asText(), w.path("policy_version").asLong(),
                    w.path("policy_errors").isArray() && !w.path("policy_errors").isEmpty()
                            ? " (last update refused: " + w.path("policy_errors").get(0).asText() + ")" : "");
            if (w.has("error")) {
                System.out.println("           " + w.path("error").asText());
            }
        }
        System.out.println(s.path("healthy").asBoolean() ? "all up" : "NOT all up");
    }

    private static String state(boolean alive) {
        return alive ? "up" : "DOWN";
    }

    private static String human(long seconds) {
        return seconds <= 0 ? "expired" : DurationConverter.human(Duration.ofSeconds(seconds));
    }
}
