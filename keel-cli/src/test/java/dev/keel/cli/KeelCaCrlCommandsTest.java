package dev.keel.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.keel.identity.Pem;
import dev.keel.testing.TestCsr;
import java.io.ByteArrayInputStream;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.CRLReason;
import java.security.cert.CertificateFactory;
import java.security.cert.X509CRL;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code keel ca revoke} and {@code keel ca crl} end to end with file keys: init, issue two leaves,
 * revoke one, sign a CRL, and let the real {@code openssl verify -crl_check} decide; and the CRL
 * that {@code keel ca serve} publishes at {@code /crl}, fetched with the real {@code curl}.
 */
class KeelCaCrlCommandsTest extends ConsoleTest {

    @TempDir
    Path tmp;

    @Test
    void opensslRejectsTheRevokedLeafAndAcceptsTheOtherWithTheCrlFromKeelCaCrl() throws Exception {
        Path ca = init();
        Path revoked = issue(ca, "orders");
        Path kept = issue(ca, "payments");
        BigInteger serial = leaf(revoked).getSerialNumber();

        out.reset();
        assertThat(Keel.run("ca", "revoke", "--data-dir", ca.toString(), "--serial", serial.toString(16).toUpperCase(),
                "--reason", "keyCompromise")).as(stderr()).isZero();
        assertThat(stdout()).contains("revoked serial " + serial.toString(16) + " (keyCompromise): "
                + "spiffe://cluster.local/ns/default/sa/orders, expires ");
        assertThat(Files.readString(ca.resolve("audit.log"))).contains("\"outcome\":\"revoked\"", "\"serial\":\"" + serial.toString(16) + "\"");

        Path crl = tmp.resolve("crl.pem");
        assertThat(Keel.run("ca", "crl", "--data-dir", ca.toString(), "--out", crl.toString())).as(stderr()).isZero();
        assertThat(stderr()).contains("CRL number 1 signed by CN=Keel Intermediate CA", "1 revoked");
        assertThat(Files.readString(crl)).startsWith("-----BEGIN X509 CRL-----");

        Path anchors = tmp.resolve("root-and-intermediate.pem");
        Files.writeString(anchors, Files.readString(ca.resolve("root-cert.pem")) + Files.readString(ca.resolve("ca-cert.pem")));
        Result rejected = openssl("verify", "-crl_check", "-CRLfile", crl.toString(), "-CAfile", anchors.toString(),
                leafOnly(revoked).toString());
        assertThat(rejected.exit()).as(rejected.output()).isNotZero();
        assertThat(rejected.output()).contains("certificate revoked");
        Result accepted = openssl("verify", "-crl_check", "-CRLfile", crl.toString(), "-CAfile", anchors.toString(),
                leafOnly(kept).toString());
        assertThat(accepted.exit()).as(accepted.output()).isZero();
        assertThat(accepted.output()).contains(": OK");
    }

    @Test
    void derOutputNumbersThatIncreaseAndReasonCodesOpensslCanRead() throws Exception {
        Path ca = init();
        BigInteger serial = leaf(issue(ca, "orders")).getSerialNumber();
        assertThat(Keel.run("ca", "revoke", "--data-dir", ca.toString(), "--serial", serial.toString(16), "--reason",
                "superseded")).isZero();
        Path first = tmp.resolve("first.crl");
        Path second = tmp.resolve("second.crl");
        assertThat(Keel.run("ca", "crl", "--data-dir", ca.toString(), "--out", first.toString(), "--format", "der"))
                .as(stderr()).isZero();
        assertThat(Keel.run("ca", "crl", "--data-dir", ca.toString(), "--out", second.toString(), "--format", "DER",
                "--validity", "2h")).as(stderr()).isZero();

        X509CRL crl = (X509CRL) CertificateFactory.getInstance("X.509")
                .generateCRL(new ByteArrayInputStream(Files.readAllBytes(second)));
        crl.verify(Pem.decodeCertificate(Files.readString(ca.resolve("ca-cert.pem"))).getPublicKey());
        assertThat(crl.getRevokedCertificate(serial).getRevocationReason()).isEqualTo(CRLReason.SUPERSEDED);
        assertThat(crl.getNextUpdate().getTime() - crl.getThisUpdate().getTime()).isEqualTo(TimeUnit.HOURS.toMillis(2));

        Result text = openssl("crl", "-inform", "DER", "-in", second.toString(), "-noout", "-text");
        assertThat(text.exit()).as(text.output()).isZero();
        assertThat(text.output()).contains("X509v3 CRL Number: \n                2", "Superseded",
                "X509v3 Authority Key Identifier");
        assertThat(openssl("crl", "-inform", "DER", "-in", first.toString(), "-noout", "-crlnumber").output())
                .contains("crlNumber=0x01");
    }

    @Test
    void revokingTwiceOrAnUnknownSerialIsReportedAndBadArgumentsAreUsageErrors() throws Exception {
        Path ca = init();
        BigInteger serial = leaf(issue(ca, "orders")).getSerialNumber();
        assertThat(Keel.run("ca", "revoke", "--data-dir", ca.toString(), "--serial", serial.toString(16))).isZero();
        out.reset();
        assertThat(Keel.run("ca", "revoke", "--data-dir", ca.toString(), "--serial", serial.toString(16), "--reason",
                "keyCompromise")).isZero();
        assertThat(stdout()).contains("was already revoked (unspecified)", "nothing changed");

        out.reset();
        assertThat(Keel.run("ca", "revoke", "--data-dir", ca.toString(), "--serial", "de:ad:be:ef")).isZero();
        assertThat(stdout()).contains("revoked serial deadbeef (unspecified): not found among this CA's issuances");

        err.reset();
        assertThat(Keel.run("ca", "revoke", "--data-dir", ca.toString(), "--serial", "12", "--reason", "certificateHold"))
                .isEqualTo(2);
        assertThat(stderr()).contains("certificateHold is not supported");
        err.reset();
        assertThat(Keel.run("ca", "revoke", "--data-dir", ca.toString(), "--serial", "nothex")).isEqualTo(2);
        assertThat(stderr()).contains("serial: \"nothex\" (expected: hex digits");
        err.reset();
        assertThat(Keel.run("ca", "crl", "--data-dir", ca.toString(), "--out", tmp.resolve("x").toString(), "--validity",
                "90d")).isEqualTo(2);
        assertThat(stderr()).contains("--validity: validity: PT2160H (expected: 1m to 30d)");
    }

    @Test
    void aCorruptRevocationListStopsCrlSigningAndIsLeftAlone() throws Exception {
        Path ca = init();
        Path list = ca.resolve("revocations.json");
        Files.writeString(list, "{\"format\":1,\"crl_number\":4,\"revocations\":[{\"serial\":\"0a\"}]}");

        err.reset();
        assertThat(Keel.run("ca", "crl", "--data-dir", ca.toString(), "--out", tmp.resolve("crl.pem").toString()))
                .isEqualTo(1);
        assertThat(stderr()).contains("keel: revocations.json is corrupt: revocations[0]: \"reason\" is missing",
                "Nothing was changed");
        assertThat(Keel.run("ca", "revoke", "--data-dir", ca.toString(), "--serial", "0b")).isEqualTo(1);
        assertThat(Files.readString(list)).isEqualTo("{\"format\":1,\"crl_number\":4,\"revocations\":[{\"serial\":\"0a\"}]}");
        assertThat(tmp.resolve("crl.pem")).doesNotExist();
    }

    @Test
    void theRunningCaServesTheCrlAtSlashCrlAndAuditsRevocationsQueuedWhileItRuns() throws Exception {
        Path ca = init();
        Path revoked = issue(ca, "orders");
        BigInteger serial = leaf(revoked).getSerialNumber();
        BigInteger secondSerial = leaf(issue(ca, "payments")).getSerialNumber();
        assertThat(Keel.run("ca", "revoke", "--data-dir", ca.toString(), "--serial", serial.toString(16), "--reason",
                "keyCompromise")).isZero();

        try (KeelProcess serve = KeelProcess.start("ca-serve", tmp.resolve("logs"), Map.of(), "ca", "serve",
                "--data-dir", ca.toString(), "--host", "127.0.0.1", "--port", "0", "--bundle-port", "0")) {
            Matcher bundle = serve.await("SPIFFE bundle endpoint: +https://127\\.0\\.0\\.1:(\\d+)/",
                    Duration.ofSeconds(60));
            Path der = tmp.resolve("served.crl");
            Result curl = run(List.of("curl", "-sS", "--fail", "--cacert", ca.resolve("root-cert.pem").toString(), "-o",
                    der.toString(), "-w", "%{content_type}", "https://127.0.0.1:" + bundle.group(1) + "/crl"));
            assertThat(curl.exit()).as(curl.output()).isZero();
            assertThat(curl.output()).isEqualTo("application/pkix-crl");
            Path pem = tmp.resolve("served.pem");
            assertThat(openssl("crl", "-inform", "DER", "-in", der.toString(), "-out", pem.toString()).exit()).isZero();
            Path anchors = tmp.resolve("anchors.pem");
            Files.writeString(anchors, Files.readString(ca.resolve("root-cert.pem")) + Files.readString(ca.resolve("ca-cert.pem")));
            assertThat(openssl("verify", "-crl_check", "-CRLfile", pem.toString(), "-CAfile", anchors.toString(),
                    leafOnly(revoked).toString()).output()).contains("certificate revoked");

            // The running CA holds the audit log: the command queues the revocation, the CA audits it
            // and signs a new CRL within seconds, and the command reports it only once it is in force.
            out.reset();
            assertThat(Keel.run("ca", "revoke", "--data-dir", ca.toString(), "--serial", secondSerial.toString(16),
                    "--reason", "superseded")).as(stderr()).isZero();
            assertThat(stdout()).contains("queued serial " + secondSerial.toString(16),
                    "revoked serial " + secondSerial.toString(16) + " (superseded): spiffe://cluster.local/ns/default/sa/payments",
                    "(audited by the running CA)");
            X509CRL served = null;
            for (int attempt = 0; attempt < 100; attempt++) {
                Result again = run(List.of("curl", "-sS", "--fail", "--cacert", ca.resolve("root-cert.pem").toString(),
                        "-o", der.toString(), "https://127.0.0.1:" + bundle.group(1) + "/crl"));
                assertThat(again.exit()).as(again.output()).isZero();
                served = (X509CRL) CertificateFactory.getInstance("X.509")
                        .generateCRL(new ByteArrayInputStream(Files.readAllBytes(der)));
                if (served.getRevokedCertificate(secondSerial) != null) {
                    break;
                }
                Thread.sleep(100);
            }
            assertThat(served.getRevokedCertificate(secondSerial).getRevocationReason()).isEqualTo(CRLReason.SUPERSEDED);
            assertThat(served.getRevokedCertificate(serial)).isNotNull();
            serve.stop(); // SIGTERM: the shutdown hook closes the server and the audit log
            assertThat(Files.readString(ca.resolve("audit.log")))
                    .contains("\"outcome\":\"revoked\"", "\"serial\":\"" + secondSerial.toString(16) + "\"");
        }
    }

    private Path init() throws Exception {
        Path ca = tmp.resolve("ca");
        assertThat(Keel.run("ca", "init", "--data-dir", ca.toString())).as(stderr()).isZero();
        return ca;
    }

    private Path issue(Path ca, String serviceAccount) throws Exception {
        Path csr = tmp.resolve(serviceAccount + ".csr");
        Files.writeString(csr, TestCsr.builder().uriSan("spiffe://cluster.local/ns/default/sa/" + serviceAccount).build().pem());
        Path chain = tmp.resolve(serviceAccount + ".pem");
        assertThat(Keel.run("ca", "issue", "--data-dir", ca.toString(), "--csr", csr.toString(), "-o", chain.toString()))
                .as(stderr()).isZero();
        return chain;
    }

    static X509Certificate leaf(Path chain) throws Exception {
        return Pem.decodeCertificates(Files.readString(chain)).get(0);
    }

    private Path leafOnly(Path chain) throws Exception {
        Path leaf = tmp.resolve(chain.getFileName() + ".leaf");
        Files.writeString(leaf, Pem.encodeCertificate(leaf(chain)));
        return leaf;
    }

    record Result(int exit, String output) {
    }

    static Result openssl(String... args) throws Exception {
        List<String> command = new ArrayList<>(List.of("openssl"));
        command.addAll(List.of(args));
        return run(command);
    }

    private static Result run(List<String> command) throws Exception {
        Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
        process.getOutputStream().close();
        String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(process.waitFor(30, TimeUnit.SECONDS)).isTrue();
        return new Result(process.exitValue(), output);
    }
}
