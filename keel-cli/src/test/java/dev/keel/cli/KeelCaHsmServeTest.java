package dev.keel.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.keel.identity.Pem;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * End to end with the CA key in SoftHSM2: {@code keel ca init --key pkcs11:…}, {@code keel ca serve}
 * (a child JVM, since SoftHSM reads {@code SOFTHSM2_CONF} from the environment), a node attests with
 * a join token through the real node agent ({@code keel agent run}), the workload fetches its X.509-SVID
 * with {@code keel svid fetch}, and the real {@code openssl verify} accepts it against the root whose
 * key is only in the token.
 */
class KeelCaHsmServeTest extends ConsoleTest {

    private static final Path MODULE = Path.of("/usr/lib/softhsm/libsofthsm2.so");
    private static final String PIN = "2718-serve";

    @TempDir
    Path tmp;

    @Test
    void aNodeGetsAWorkloadSvidFromACaWhoseKeysAreInTheToken() throws Exception {
        Path conf = initToken();
        Path pin = tmp.resolve("pin");
        Files.writeString(pin, PIN + "\n");
        String key = "pkcs11:token=keel-serve;object=ca?module-path=" + MODULE + "&pin-source=file:" + pin;
        Path dir = tmp.resolve("ca");
        Process init = child(conf, Keel.class.getName(), "ca", "init", "--data-dir", dir.toString(), "--key", key);
        String initOutput = new String(init.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(init.waitFor(120, TimeUnit.SECONDS)).isTrue();
        assertThat(init.exitValue()).as(initOutput).isZero();

        Process serve = child(conf, Keel.class.getName(), "ca", "serve", "--data-dir", dir.toString(), "--host", "127.0.0.1",
                "--port", "0", "--bundle-port", "-1");
        try {
            int port = grpcPort(serve);

            assertThat(Keel.run("ca", "token", "create", "--dir", dir.toString(), "--node", "worker-1")).isZero();
            Matcher token = Pattern.compile("(?m)^token: +(\\S+)$").matcher(stdout());
            assertThat(token.find()).isTrue();
            out.reset();
            Path tokenFile = tmp.resolve("join-token");
            Files.writeString(tokenFile, token.group(1));
            assertThat(Keel.run("ca", "entry", "create", "--dir", dir.toString(), "--spiffe-id",
                    "spiffe://cluster.local/ns/shop/sa/web", "--parent-id", "spiffe://cluster.local/keel/node/worker-1",
                    "--selector", "unix:uid:" + new com.sun.security.auth.module.UnixSystem().getUid())).isZero();

            // The real node agent, as its own process: attests with the token, gets the workload SVID
            // for this process's uid from the CA whose keys are in the token.
            Path socketDir = Files.createTempDirectory(Path.of("/tmp"), "keel-hsm-");
            Path socket = socketDir.resolve("agent.sock");
            try (KeelProcess agent = KeelProcess.start("agent", tmp.resolve("logs"), java.util.Map.of(), "agent", "run",
                    "--ca", "127.0.0.1:" + port, "--ca-bundle", dir.resolve("root-cert.pem").toString(),
                    "--data-dir", tmp.resolve("agent").toString(), "--socket", "unix://" + socket,
                    "--join-token-file", tokenFile.toString(), "--admin-port", "-1")) {
                agent.await("Workload API: unix://", java.time.Duration.ofSeconds(60));
                out.reset();
                assertThat(Keel.run("svid", "fetch", "--socket", "unix://" + socket, "--timeout", "30s", "--write",
                        tmp.resolve("svid").toString())).as(stderr()).isZero();
                assertThat(stdout()).contains("spiffe://cluster.local/ns/shop/sa/web");
            } finally {
                Files.deleteIfExists(socket);
                Files.deleteIfExists(socketDir);
            }
            Path chain = tmp.resolve("svid").resolve("svid.0.pem");
            Path leaf = tmp.resolve("leaf.pem");
            Files.writeString(leaf, Pem.encodeCertificate(Pem.decodeCertificates(Files.readString(chain)).get(0)));
            Process verify = new ProcessBuilder("openssl", "verify", "-CAfile", dir.resolve("root-cert.pem").toString(),
                    "-untrusted", chain.toString(), leaf.toString()).redirectErrorStream(true).start();
            String verified = new String(verify.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertThat(verify.waitFor(30, TimeUnit.SECONDS)).isTrue();
            assertThat(verified).contains(": OK");
            try (var files = Files.list(dir)) {
                assertThat(files.map(p -> p.getFileName().toString())).noneMatch(name -> name.endsWith("key.pem"));
            }
        } finally {
            serve.destroy(); // the CA's shutdown hook closes the server and the audit log
            if (!serve.waitFor(30, TimeUnit.SECONDS)) {
                serve.destroyForcibly();
            }
        }
    }

    private Path initToken() throws Exception {
        Path tokens = Files.createDirectories(tmp.resolve("hsm/tokens"));
        Path conf = tmp.resolve("hsm/softhsm2.conf");
        Files.writeString(conf, "directories.tokendir = " + tokens + "\nobjectstore.backend = file\nlog.level = ERROR\n");
        ProcessBuilder builder = new ProcessBuilder("softhsm2-util", "--init-token", "--free", "--label", "keel-serve",
                "--pin", PIN, "--so-pin", "so-" + PIN).redirectErrorStream(true);
        builder.environment().put("SOFTHSM2_CONF", conf.toString());
        Process process = builder.start();
        String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(process.waitFor()).as(output).isZero();
        return conf;
    }

    private static Process child(Path conf, String... args) throws Exception {
        List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-cp", System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"))));
        command.addAll(List.of(args));
        ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true);
        builder.environment().put("SOFTHSM2_CONF", conf.toString());
        Process process = builder.start();
        process.getOutputStream().close();
        return process;
    }

    /** Reads the serving CA's output until it names its gRPC port. */
    private static int grpcPort(Process serve) throws Exception {
        BufferedReader lines = new BufferedReader(new InputStreamReader(serve.getInputStream(), StandardCharsets.UTF_8));
        Pattern grpc = Pattern.compile("gRPC .*:(\\d+)\\s*$");
        StringBuilder seen = new StringBuilder();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(90);
        String line;
        while (System.nanoTime() < deadline && (line = lines.readLine()) != null) {
            seen.append(line).append('\n');
            Matcher m = grpc.matcher(line);
            if (m.find()) {
                Thread drain = new Thread(() -> {
                    try {
                        lines.transferTo(java.io.Writer.nullWriter());
                    } catch (java.io.IOException ignored) {
                        // the process ended
                    }
                }, "keel-ca-serve-output");
                drain.setDaemon(true);
                drain.start();
                return Integer.parseInt(m.group(1));
            }
        }
        throw new AssertionError("keel ca serve did not report its port:\n" + seen);
    }
}
