package dev.keel.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.keel.identity.Pem;
import dev.keel.testing.TestCsr;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.CertificateFactory;
import java.security.cert.X509CRL;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A CRL signed by a CA key that lives only in a SoftHSM2 token: {@code keel ca init --key pkcs11:…},
 * {@code keel ca issue} and {@code keel ca crl} run as child JVMs with {@code SOFTHSM2_CONF} pointing
 * at a token this test initialized in a temporary directory (SoftHSM reads it when the module loads,
 * and a JVM cannot set its own environment). {@code keel ca revoke} needs no key, so it runs in
 * process. The CRL must verify with the intermediate's public key and make {@code openssl verify}
 * reject the revoked leaf.
 */
class KeelCaCrlHsmTest extends ConsoleTest {

    private static final Path MODULE = Path.of("/usr/lib/softhsm/libsofthsm2.so");
    private static final String PIN = "5113-crl";

    @TempDir
    Path tmp;

    private Path conf;

    @Test
    void theCrlIsSignedInTheTokenAndOpensslHonoursIt() throws Exception {
        assertThat(MODULE).as("SoftHSM2 (apt-get install softhsm2; .ci/run installs it)").exists();
        initToken();
        Path pin = tmp.resolve("pin");
        Files.writeString(pin, PIN + "\n");
        String key = "pkcs11:token=keel-crl;object=ca?module-path=" + MODULE + "&pin-source=file:" + pin;
        Path ca = tmp.resolve("ca");
        Result init = keel("ca", "init", "--data-dir", ca.toString(), "--key", key);
        assertThat(init.exit()).as(init.output()).isZero();

        Path revokedChain = issue(ca, "orders");
        Path keptChain = issue(ca, "payments");
        BigInteger serial = leaf(revokedChain).getSerialNumber();
        assertThat(Keel.run("ca", "revoke", "--data-dir", ca.toString(), "--serial", serial.toString(16), "--reason",
                "keyCompromise")).as(stderr()).isZero();

        Path crlFile = tmp.resolve("crl.pem");
        Result crl = keel("ca", "crl", "--data-dir", ca.toString(), "--out", crlFile.toString());
        assertThat(crl.exit()).as(crl.output()).isZero();
        assertThat(crl.output()).doesNotContain(PIN);

        X509Certificate intermediate = Pem.decodeCertificate(Files.readString(ca.resolve("ca-cert.pem")));
        X509CRL parsed = (X509CRL) CertificateFactory.getInstance("X.509").generateCRL(
                new ByteArrayInputStream(Pem.decode(Files.readString(crlFile)).get(0).der()));
        parsed.verify(intermediate.getPublicKey());
        assertThat(parsed.getRevokedCertificate(serial)).isNotNull();
        try (Stream<Path> files = Files.list(ca)) {
            assertThat(files.map(p -> p.getFileName().toString())).noneMatch(name -> name.endsWith("key.pem"));
        }

        Path anchors = tmp.resolve("anchors.pem");
        Files.writeString(anchors, Files.readString(ca.resolve("root-cert.pem")) + Files.readString(ca.resolve("ca-cert.pem")));
        KeelCaCrlCommandsTest.Result rejected = KeelCaCrlCommandsTest.openssl("verify", "-crl_check", "-CRLfile",
                crlFile.toString(), "-CAfile", anchors.toString(), leafOnly(revokedChain).toString());
        assertThat(rejected.output()).contains("certificate revoked");
        assertThat(rejected.exit()).isNotZero();
        KeelCaCrlCommandsTest.Result accepted = KeelCaCrlCommandsTest.openssl("verify", "-crl_check", "-CRLfile",
                crlFile.toString(), "-CAfile", anchors.toString(), leafOnly(keptChain).toString());
        assertThat(accepted.output()).contains(": OK");
    }

    private Path issue(Path ca, String serviceAccount) throws Exception {
        Path csr = tmp.resolve(serviceAccount + ".csr");
        Files.writeString(csr, TestCsr.builder().uriSan("spiffe://cluster.local/ns/default/sa/" + serviceAccount).build().pem());
        Path chain = tmp.resolve(serviceAccount + ".pem");
        Result issued = keel("ca", "issue", "--data-dir", ca.toString(), "--csr", csr.toString(), "-o", chain.toString());
        assertThat(issued.exit()).as(issued.output()).isZero();
        return chain;
    }

    private static X509Certificate leaf(Path chain) throws Exception {
        return Pem.decodeCertificates(Files.readString(chain)).get(0);
    }

    private Path leafOnly(Path chain) throws Exception {
        Path leaf = tmp.resolve(chain.getFileName() + ".leaf");
        Files.writeString(leaf, Pem.encodeCertificate(leaf(chain)));
        return leaf;
    }

    private void initToken() throws Exception {
        Path tokens = Files.createDirectories(tmp.resolve("hsm/tokens"));
        conf = tmp.resolve("hsm/softhsm2.conf");
        Files.writeString(conf, "directories.tokendir = " + tokens + "\nobjectstore.backend = file\nlog.level = ERROR\n");
        Result init = run(List.of("softhsm2-util", "--init-token", "--free", "--label", "keel-crl", "--pin", PIN,
                "--so-pin", "so-" + PIN));
        assertThat(init.exit()).as(init.output()).isZero();
    }

    private record Result(int exit, String output) {
    }

    private Result keel(String... args) throws Exception {
        List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-cp", System.getProperty("surefire.test.class.path", System.getProperty("java.class.path")),
                Keel.class.getName()));
        command.addAll(List.of(args));
        return run(command);
    }

    private Result run(List<String> command) throws IOException, InterruptedException {
        ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true);
        builder.environment().put("SOFTHSM2_CONF", conf.toString());
        Process process = builder.start();
        process.getOutputStream().close();
        String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!process.waitFor(120, TimeUnit.SECONDS)) {
            process.destroyForcibly();
            throw new IOException(String.join(" ", command) + " did not finish in 120 s");
        }
        return new Result(process.exitValue(), output);
    }
}
