package dev.keel.cli.internal.up;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * The SoftHSM2 token behind {@code keel up --hsm}: its own token directory and configuration under the
 * state directory, a random user PIN in a 0600 file (the CA reads it through {@code pin-source=file:}),
 * and the PKCS#11 URI of the CA key inside it. Created once; later starts reuse it.
 */
public record SoftHsmToken(Path conf, Path pinFile, Path module, String label) {

    static final List<Path> MODULES = List.of(Path.of("/usr/lib/softhsm/libsofthsm2.so"),
            Path.of("/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so"),
            Path.of("/usr/lib/aarch64-linux-gnu/softhsm/libsofthsm2.so"), Path.of("/usr/local/lib/softhsm/libsofthsm2.so"));

    /** What SoftHSM reads its configuration from; the CA's JVM gets it in its environment. */
    public Map<String, String> environment() {
        return Map.of("SOFTHSM2_CONF", conf.toString());
    }

    /** The CA key reference: objects {@code ca}, {@code ca-root} and {@code ca-jwt} in the token. */
    public String keyReference() {
        return "pkcs11:token=" + label + ";object=ca?module-path=" + module + "&pin-source=file:" + pinFile;
    }

    /** Opens the token in {@code dir}, initializing it on first use. */
    public static SoftHsmToken openOrCreate(Path dir) throws IOException, InterruptedException {
        Path module = MODULES.stream().filter(Files::isReadable).findFirst().orElseThrow(() -> new IOException(
                "--hsm needs SoftHSM2 (apt-get install softhsm2): no libsofthsm2.so in " + MODULES));
        Path tokens = dir.resolve("tokens");
        Path conf = dir.resolve("softhsm2.conf");
        Path pinFile = dir.resolve("user.pin");
        SoftHsmToken token = new SoftHsmToken(conf, pinFile, module, "keel-up");
        if (Files.exists(conf) && Files.exists(pinFile)) {
            return token;
        }
        if (Files.exists(tokens) && Files.exists(conf)) {
            // A token may have been initialized without its PIN being saved: initializing again would make a
            // second token with the same label, and the first one's keys would be unreachable.
            throw new IOException(dir + " holds a SoftHSM token without its PIN file (an interrupted first start); "
                    + "remove " + dir + " and the CA in " + dir.resolveSibling("ca") + " to start over");
        }
        Files.createDirectories(tokens, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
        Files.writeString(conf, "directories.tokendir = " + tokens + "\nobjectstore.backend = file\nlog.level = ERROR\n");
        SecureRandom random = new SecureRandom();
        byte[] pin = new byte[12];
        random.nextBytes(pin);
        String userPin = HexFormat.of().formatHex(pin);
        random.nextBytes(pin);
        String soPin = HexFormat.of().formatHex(pin);
        // softhsm2-util takes PINs only as arguments or at a terminal; this runs once, on the user's own
        // machine, for a development token.
        ProcessBuilder init = new ProcessBuilder("softhsm2-util", "--init-token", "--free", "--label", token.label(),
                "--pin", userPin, "--so-pin", soPin).redirectErrorStream(true);
        init.environment().putAll(token.environment());
        Process process;
        try {
            process = init.start();
        } catch (IOException e) {
            throw new IOException("--hsm needs softhsm2-util (apt-get install softhsm2): " + e.getMessage(), e);
        }
        String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!process.waitFor(60, TimeUnit.SECONDS)) {
            process.destroyForcibly();
            throw new IOException("softhsm2-util --init-token did not finish within 60 s");
        }
        if (process.exitValue() != 0) {
            throw new IOException("softhsm2-util --init-token failed: " + output.replace(userPin, "***").replace(soPin, "***"));
        }
        Path tmp = dir.resolve(".user.pin.tmp");
        Files.deleteIfExists(tmp);
        Files.createFile(tmp, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
        Files.writeString(tmp, userPin + "\n");
        Files.move(tmp, pinFile);
        return token;
    }
}
