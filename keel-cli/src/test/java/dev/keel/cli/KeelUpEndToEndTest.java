package dev.keel.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.keel.cli.internal.up.UpLayout;
import dev.keel.cli.internal.up.UpState;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The main job as a new user runs it: {@code keel up} (its own JVM, starting the CA, the agent and three
 * proxies as processes of their own), then the three curl commands it prints run with the real curl,
 * {@code keel status}, {@code keel audit mtls} with its gate, the HTML report rendered in a real headless
 * Chromium, and Ctrl-C (SIGTERM) stopping everything.
 */
class KeelUpEndToEndTest {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Path CHROMIUM = Path.of("/usr/bin/chromium");

    @TempDir
    Path tmp;

    private final List<KeelProcess> processes = new ArrayList<>();

    @AfterEach
    void stop() throws InterruptedException {
        for (KeelProcess p : processes) {
            p.close();
        }
    }

    @Test
    void upServesTheDemoTheAuditGatesOnCoverageAndCtrlCStopsEverything() throws Exception {
        Path dir = tmp.resolve(".keel");
        int base = freeBlock();
        KeelProcess up = KeelProcess.start("up", tmp.resolve("logs"), Map.of(), "up", "--dir", dir.toString(),
                "--base-port", Integer.toString(base), "--policies", Path.of("..", "examples", "policies").toString());
        processes.add(up);
        up.await("Ctrl-C stops everything", Duration.ofSeconds(240));
        String printed = up.output();
        assertThat(printed).contains("spiffe://cluster.local/ns/shop/sa/frontend", "spiffe://cluster.local/ns/shop/sa/orders",
                "spiffe://cluster.local/ns/shop/sa/payments", "SVID expires 20");

        // The three commands exactly as printed, through a shell, with the real curl.
        List<String> commands = curlCommands(printed);
        assertThat(commands).hasSize(3);
        String allowed = sh(commands.get(0));
        assertThat(allowed).contains("\"served_by\" : \"payments\"", "\"caller\" : \"spiffe://cluster.local/ns/shop/sa/orders\"",
                "\"caller\" : \"spiffe://cluster.local/ns/shop/sa/frontend\"", "\"upstream_status\" : 200");
        String denied = sh(commands.get(1));
        assertThat(denied).contains("\"upstream_status\" : 403", "RBAC: access denied");
        String rejected = sh(commands.get(2));
        assertThat(rejected).startsWith("HTTP/1.1 401").containsIgnoringCase("www-authenticate: Bearer");

        Captured status = keel("status", "--dir", dir.toString());
        assertThat(status.exit()).as(status.out()).isZero();
        assertThat(status.out()).contains("all up", "PERMISSIVE on 127.0.0.1:" + (base + 101), "STRICT on 127.0.0.1:" + (base + 111),
                "policy version 1");
        JsonNode statusJson = JSON.readTree(keel("status", "--dir", dir.toString(), "-o", "json").out());
        assertThat(statusJson.path("workloads")).hasSize(3);
        assertThat(statusJson.path("workloads").get(2).path("svid").asText()).isEqualTo("spiffe://cluster.local/ns/shop/sa/payments");

        // frontend saw 3 plaintext requests (the edge); orders 1 and payments 2 over mTLS.
        Path out = tmp.resolve("audit");
        Captured gated = keel("audit", "mtls", "--dir", dir.toString(), "--out", out.toString(), "--min-mtls", "100");
        assertThat(gated.exit()).as(gated.out()).isEqualTo(AuditMtlsCommand.UNDER_THRESHOLD);
        assertThat(gated.out()).contains("FAIL", "frontend:" + (base + 100) + ": accepts plaintext (mode PERMISSIVE)");
        Captured report = keel("audit", "mtls", "--dir", dir.toString(), "--out", out.toString(), "--min-mtls", "50");
        assertThat(report.exit()).as(report.out()).isZero();
        JsonNode json = JSON.readTree(out.resolve("mtls-audit.json").toFile());
        JsonNode summary = json.path("summary");
        assertThat(summary.path("mtlsTraffic").asLong()).isEqualTo(3);
        assertThat(summary.path("plaintextTraffic").asLong()).isEqualTo(3);
        assertThat(summary.path("mtlsCoveragePercent").asDouble()).isEqualTo(50.0);
        assertThat(summary.path("strictPorts").asInt()).isEqualTo(2);
        assertThat(summary.path("identitiesIssued").asInt()).isEqualTo(4);
        assertThat(json.path("caAuditLog").path("chainVerified").asBoolean()).isTrue();
        JsonNode frontend = json.path("workloads").get(0);
        assertThat(frontend.path("name").asText()).isEqualTo("frontend");
        assertThat(frontend.path("plaintextPeers").get(0).path("address").asText()).isEqualTo("127.0.0.1");
        assertThat(frontend.path("plaintextPeers").get(0).path("count").asLong()).isEqualTo(3);
        assertThat(json.path("workloads").get(2).path("mtlsSources").get(0).asText())
                .isEqualTo("spiffe://cluster.local/ns/shop/sa/frontend");

        String dom = renderInChromium(out.resolve("mtls-audit.html"));
        assertThat(dom).contains("data-rendered=\"true\"");
        assertThat(percent(text(dom, "coverage"))).isEqualTo(summary.path("mtlsCoveragePercent").asDouble());
        assertThat(percent(text(dom, "strict-ports"))).isEqualTo(summary.path("strictPortsPercent").asDouble());
        assertThat(text(dom, "plaintext-traffic")).isEqualTo(summary.path("plaintextTraffic").asText());
        assertThat(text(dom, "identities-issued")).isEqualTo(summary.path("identitiesIssued").asText());
        assertThat(text(dom, "verdict")).isEqualTo("PASS");
        assertThat(dom).contains("data-namespace=\"shop\" data-coverage=\"50\"");
        assertThat(count(dom, "class=\"expiry\"")).isEqualTo(json.path("identities").size());
        assertThat(count(dom, "<tr data-workload=")).isEqualTo(3);
        assertThat(dom).contains("127.0.0.1 (3)");

        // Ctrl-C: every process it started is gone and the state file with them.
        UpState state = UpState.read(dir.resolve(UpState.FILE)).orElseThrow();
        List<Long> pids = new ArrayList<>(List.of(state.ca().pid(), state.agent().pid()));
        state.workloads().forEach(w -> pids.add(w.proxyPid()));
        assertThat(up.stop()).isIn(0, 130, 143);
        for (long pid : pids) {
            assertThat(ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false)).as("pid %d", pid).isFalse();
        }
        assertThat(dir.resolve(UpState.FILE)).doesNotExist();
        assertThat(keel("status", "--dir", dir.toString()).exit()).isEqualTo(3);
    }

    private static List<String> curlCommands(String printed) {
        List<String> commands = new ArrayList<>();
        for (String line : printed.split("\n")) {
            if (line.strip().startsWith("curl ")) {
                commands.add(line.strip());
            }
        }
        return commands;
    }

    private static String sh(String command) throws Exception {
        Process p = new ProcessBuilder("bash", "-c", command).redirectErrorStream(true).start();
        String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
        return output;
    }

    private record Captured(int exit, String out) {}

    private static synchronized Captured keel(String... args) {
        PrintStream saved = System.out;
        ByteArrayOutputStream buffer = new ByteArrayOutputStream();
        System.setOut(new PrintStream(buffer, true, StandardCharsets.UTF_8));
        try {
            int exit = Keel.run(args);
            return new Captured(exit, buffer.toString(StandardCharsets.UTF_8));
        } finally {
            System.setOut(saved);
        }
    }

    /** The DOM after the page's script ran, from Debian's Chromium started as the machine notes say. */
    private String renderInChromium(Path html) throws Exception {
        assertThat(CHROMIUM).as("Chromium is needed for this test: apt-get install chromium (.ci/run installs it)")
                .exists();
        Process p = new ProcessBuilder(CHROMIUM.toString(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--user-data-dir=" + Files.createDirectories(tmp.resolve("chromium-profile")), "--dump-dom",
                html.toUri().toString()).redirectError(tmp.resolve("chromium.log").toFile()).start();
        String dom = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(90, TimeUnit.SECONDS)).isTrue();
        return dom;
    }

    private static String text(String dom, String id) {
        Matcher m = Pattern.compile("id=\"" + id + "\"[^>]*>([^<]*)<").matcher(dom);
        assertThat(m.find()).as("element #%s in the rendered page", id).isTrue();
        return m.group(1);
    }

    private static double percent(String shown) {
        assertThat(shown).endsWith(" %");
        return Double.parseDouble(shown.substring(0, shown.length() - 2));
    }

    private static int count(String dom, String needle) {
        int n = 0;
        for (int i = dom.indexOf(needle); i >= 0; i = dom.indexOf(needle, i + 1)) {
            n++;
        }
        return n;
    }

    /** A base port whose whole block is free now. */
    private static int freeBlock() throws IOException {
        for (int attempt = 0; attempt < 50; attempt++) {
            int base = 20000 + 200 * ThreadLocalRandom.current().nextInt(100);
            UpLayout layout = UpLayout.demo(Path.of("/tmp/unused"), base);
            if (layout.allPorts().stream().allMatch(KeelUpEndToEndTest::free)) {
                return base;
            }
        }
        throw new IOException("no free port block");
    }

    private static boolean free(int port) {
        try (ServerSocket s = new ServerSocket()) {
            s.bind(new InetSocketAddress("127.0.0.1", port));
            return true;
        } catch (IOException e) {
            return false;
        }
    }
}
