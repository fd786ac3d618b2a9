package dev.keel.ca.crl;

import static org.assertj.core.api.Assertions.assertThat;

import dev.keel.ca.CaDirectory;
import dev.keel.ca.IssuedX509Svid;
import dev.keel.ca.server.CaServer;
import dev.keel.identity.KeyType;
import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.CertificateFactory;
import java.security.cert.X509CRL;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code /crl} on the bundle endpoint, fetched over HTTPS by the real {@code curl}. */
class CrlEndpointTest {

    @TempDir
    Path dir;

    @Test
    void theBundleEndpointServesTheCurrentCrlAsDer() throws Exception {
        try (TestCa ca = TestCa.create(dir.resolve("ca"), KeyType.EC_P256)) {
            IssuedX509Svid svid = ca.issue("orders", Duration.ofHours(1));
            new Revoker(RevocationList.open(ca.dir), ca.ca.audit(), ca.clock)
                    .revoke(svid.serial(), RevocationReason.KEY_COMPROMISE, ca.clock.instant(), "alice");
            try (CaServer server = CaServer.builder(ca.ca).host("127.0.0.1").grpcPort(0).bundlePort(0)
                    .clock(ca.clock).build().start()) {
                Path body = dir.resolve("crl.der");
                Path headers = dir.resolve("headers.txt");
                Curl get = curl(ca, "-D", headers.toString(), "-o", body.toString(),
                        "https://localhost:" + server.bundlePort() + "/crl");
                assertThat(get.exit()).as(get.output()).isZero();

                assertThat(Files.readString(headers, StandardCharsets.US_ASCII).toLowerCase())
                        .contains("200", "content-type: application/pkix-crl");
                X509CRL crl = (X509CRL) CertificateFactory.getInstance("X.509")
                        .generateCRL(new ByteArrayInputStream(Files.readAllBytes(body)));
                crl.verify(ca.signingCa().certificate().getPublicKey());
                assertThat(crl.getRevokedCertificate(svid.serial())).isNotNull();

                Curl head = curl(ca, "-I", "https://localhost:" + server.bundlePort() + "/crl");
                assertThat(head.output().toLowerCase()).contains("content-length: " + Files.size(body));

                Curl missing = curl(ca, "-o", "/dev/null", "-w", "%{http_code}",
                        "https://localhost:" + server.bundlePort() + "/crl/other");
                assertThat(missing.output()).isEqualTo("404");
            }
        }
    }

    @Test
    void withoutASignedCrlTheEndpointSays503AndStillServesTheBundle() throws Exception {
        try (TestCa ca = TestCa.create(dir.resolve("ca"), KeyType.EC_P256)) {
            Files.writeString(ca.dir.resolve(RevocationList.FILE), "{");
            try (CaServer server = CaServer.builder(ca.ca).host("127.0.0.1").grpcPort(0).bundlePort(0)
                    .clock(ca.clock).build().start()) {
                Curl crl = curl(ca, "-o", "/dev/null", "-w", "%{http_code}", "https://localhost:" + server.bundlePort() + "/crl");
                assertThat(crl.output()).isEqualTo("503");
                Curl bundle = curl(ca, "-o", "/dev/null", "-w", "%{http_code}", "https://localhost:" + server.bundlePort() + "/");
                assertThat(bundle.output()).isEqualTo("200");
            }
        }
    }

    private record Curl(int exit, String output) {
    }

    private static Curl curl(TestCa ca, String... args) throws Exception {
        List<String> command = new java.util.ArrayList<>(List.of("curl", "-sS", "--cacert",
                ca.dir.resolve(CaDirectory.ROOT_CERT).toString()));
        command.addAll(List.of(args));
        Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
        String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(process.waitFor(30, TimeUnit.SECONDS)).isTrue();
        return new Curl(process.exitValue(), output);
    }
}
