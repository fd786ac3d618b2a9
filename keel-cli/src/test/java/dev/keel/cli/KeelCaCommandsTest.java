package dev.keel.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.keel.testing.TestCsr;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The {@code keel ca} commands as an operator runs them, in process. */
class KeelCaCommandsTest extends ConsoleTest {

    @TempDir
    Path tmp;

    @Test
    void initIssueInspectAndVerifyTheAuditLog() throws Exception {
        Path ca = tmp.resolve("ca");
        assertThat(Keel.run("ca", "init", "--data-dir", ca.toString(), "--trust-domain", "example.org")).isZero();
        assertThat(stdout()).contains("self-signed CA for trust domain example.org");

        Path csr = tmp.resolve("w.csr");
        Files.writeString(csr, TestCsr.builder().uriSan("spiffe://example.org/ns/default/sa/orders").build().pem());
        Path chain = tmp.resolve("chain.pem");
        assertThat(Keel.run("ca", "issue", "--data-dir", ca.toString(), "--csr", csr.toString(), "--ttl", "2h",
                "-o", chain.toString())).isZero();
        assertThat(stderr()).contains("issued spiffe://example.org/ns/default/sa/orders");

        out.reset();
        assertThat(Keel.run("ca", "inspect", chain.toString())).isZero();
        assertThat(stdout()).contains("[0] leaf", "SPIFFE ID:  spiffe://example.org/ns/default/sa/orders",
                "[1] intermediate CA", "remaining:  1h 59m");

        out.reset();
        assertThat(Keel.run("ca", "audit", "verify", "--data-dir", ca.toString())).isZero();
        assertThat(stdout()).contains("ok: 1 line");
    }

    @Test
    void issueRefusesACsrForAnotherTrustDomainAndAuditsIt() throws Exception {
        Path ca = tmp.resolve("ca");
        Keel.run("ca", "init", "--data-dir", ca.toString());
        Path csr = tmp.resolve("w.csr");
        Files.writeString(csr, TestCsr.builder().uriSan("spiffe://evil.example/ns/a/sa/x").build().pem());
        assertThat(Keel.run("ca", "issue", "--data-dir", ca.toString(), "--csr", csr.toString())).isEqualTo(1);
        assertThat(stderr()).contains("outside this CA's trust domain");
        assertThat(Files.readAllLines(ca.resolve("audit.log"))).singleElement().asString().contains("\"outcome\":\"refused\"");
    }

    @Test
    void auditVerifyNamesAnEditedLineAndExits4() throws Exception {
        Path ca = tmp.resolve("ca");
        Keel.run("ca", "init", "--data-dir", ca.toString());
        for (String sa : List.of("a", "b", "c")) {
            Path csr = tmp.resolve(sa + ".csr");
            Files.writeString(csr, TestCsr.builder().uriSan("spiffe://cluster.local/ns/default/sa/" + sa).build().pem());
            assertThat(Keel.run("ca", "issue", "--data-dir", ca.toString(), "--csr", csr.toString(), "-o",
                    tmp.resolve(sa + ".pem").toString())).isZero();
        }
        Path log = ca.resolve("audit.log");
        List<String> lines = Files.readAllLines(log);
        lines.set(1, lines.get(1).replace("/sa/b", "/sa/z"));
        Files.write(log, lines);

        out.reset();
        assertThat(Keel.run("ca", "audit", "verify", log.toString())).isEqualTo(4);
        assertThat(stdout()).contains("line 3").contains("line 2");
    }

    @Test
    void initWithBadCacertsNamesTheFile() throws Exception {
        Path cacerts = Files.createDirectories(tmp.resolve("cacerts"));
        Files.writeString(cacerts.resolve("ca-cert.pem"), "not a certificate");
        assertThat(Keel.run("ca", "init", "--data-dir", tmp.resolve("ca").toString(), "--cacerts", cacerts.toString()))
                .isEqualTo(1);
        assertThat(stderr()).contains("ca-cert.pem");
    }

    @Test
    void badOptionsGiveUsageErrors() {
        assertThat(Keel.run("ca", "init", "--key-type", "dsa-512")).isEqualTo(2);
        assertThat(stderr()).contains("key type");
        assertThat(Keel.run("ca", "issue", "--csr", "x", "--ttl", "5y")).isEqualTo(2);
    }
}
