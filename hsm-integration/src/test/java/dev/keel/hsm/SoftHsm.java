package dev.keel.hsm;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A SoftHSM2 token for this module's tests. Surefire sets {@code SOFTHSM2_CONF} to a file under
 * {@code target/softhsm2} (SoftHSM reads it when the JVM first loads the module, and a JVM cannot
 * change its own environment); the first test to ask writes that file, wipes the token directory
 * and initializes one token with {@code softhsm2-util}. Tests then make keys with distinct labels.
 */
final class SoftHsm {

    static final Path MODULE = Path.of("/usr/lib/softhsm/libsofthsm2.so");
    static final String TOKEN = "keel-test";
    static final String PIN = "4711-test";

    private static Path pinFile;

    private SoftHsm() {
    }

    /** Initializes the token on first use; returns the PIN file. */
    static synchronized Path pinFile() throws IOException, InterruptedException {
        if (pinFile != null) {
            return pinFile;
        }
        String conf = System.getenv("SOFTHSM2_CONF");
        if (conf == null) {
            throw new IllegalStateException("SOFTHSM2_CONF is not set: run these tests through Maven (surefire sets it)");
        }
        if (!Files.exists(MODULE)) {
            throw new IllegalStateException(MODULE + " is missing: install SoftHSM2 (apt-get install softhsm2; .ci/run does)");
        }
        Path dir = Path.of(conf).getParent();
        Path tokens = dir.resolve("tokens");
        if (Files.exists(tokens)) {
            try (var walk = Files.walk(tokens)) {
                for (Path p : walk.sorted(java.util.Comparator.reverseOrder()).toList()) {
                    Files.delete(p);
                }
            }
        }
        Files.createDirectories(tokens);
        Files.writeString(Path.of(conf), "directories.tokendir = " + tokens.toAbsolutePath() + "\n"
                + "objectstore.backend = file\nlog.level = ERROR\nslots.removable = false\n", StandardCharsets.UTF_8);
        run(conf, "softhsm2-util", "--init-token", "--free", "--label", TOKEN, "--pin", PIN, "--so-pin", "so-" + PIN);
        pinFile = dir.resolve("user.pin");
        Files.writeString(pinFile, PIN + "\n", StandardCharsets.UTF_8);
        return pinFile;
    }

    /** The URI of {@code object} on the test token, PIN read from the PIN file. */
    static Pkcs11Uri uri(String object) throws IOException, InterruptedException {
        return Pkcs11Uri.parse("pkcs11:token=" + TOKEN + ";object=" + object + "?module-path=" + MODULE
                + "&pin-source=file:" + pinFile().toAbsolutePath());
    }

    static String run(String conf, String... command) throws IOException, InterruptedException {
        ProcessBuilder builder = new ProcessBuilder(List.of(command)).redirectErrorStream(true);
        builder.environment().put("SOFTHSM2_CONF", conf);
        Process process = builder.start();
        process.getOutputStream().close();
        String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!process.waitFor(60, TimeUnit.SECONDS) || process.exitValue() != 0) {
            throw new IOException(String.join(" ", command) + " failed: " + output);
        }
        return output;
    }
}
