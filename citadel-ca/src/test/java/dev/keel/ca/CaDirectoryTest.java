package dev.keel.ca;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.keel.identity.KeyPairs;
import dev.keel.identity.KeyType;
import dev.keel.identity.SpiffeId;
import dev.keel.identity.TrustDomain;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Root modes: self-signed, and an enterprise root plugged in through Istio's cacerts layout made
 * with the real openssl tool, each bad file named in the error.
 */
class CaDirectoryTest {

    @TempDir
    Path tmp;

    @Test
    void selfSignedInitWritesIstiosLayoutWithPrivateKeysOwnerOnly() throws Exception {
        Path dir = tmp.resolve("ca");
        CaDirectory.LoadedCa ca = CaDirectory.initSelfSigned(dir, TrustDomain.parse("example.org"), KeyType.EC_P256,
                Clock.systemUTC());
        for (String name : new String[] {"ca-cert.pem", "ca-key.pem", "cert-chain.pem", "root-cert.pem", "jwt-key.pem"}) {
            assertThat(dir.resolve(name)).exists();
        }
        assertThat(Files.getPosixFilePermissions(dir.resolve("ca-key.pem")))
                .containsExactlyInAnyOrder(PosixFilePermission.OWNER_READ, PosixFilePermission.OWNER_WRITE);
        assertThat(ca.signingCa().certificate().getBasicConstraints()).isZero();
        assertThat(ca.signingCa().roots().get(0).getBasicConstraints()).isEqualTo(1);
        assertThat(new java.util.ArrayList<Object>(ca.signingCa().certificate().getSubjectAlternativeNames().iterator().next()))
                .containsExactly(6, "spiffe://example.org");
        assertThat(ca.config().trustDomain()).isEqualTo(TrustDomain.parse("example.org"));

        CaDirectory.LoadedCa again = CaDirectory.load(dir, Clock.systemUTC(), KeyResolver.files(dir));
        assertThat(again.signingCa().certificate()).isEqualTo(ca.signingCa().certificate());
        assertThat(again.jwtKeyId()).isEqualTo(ca.jwtKeyId());
    }

    @Test
    void initRefusesToOverwriteAnExistingCa() throws Exception {
        Path dir = tmp.resolve("ca");
        CaDirectory.initSelfSigned(dir, TrustDomain.CLUSTER_LOCAL, KeyType.EC_P256, Clock.systemUTC());
        assertThatThrownBy(() -> CaDirectory.initSelfSigned(dir, TrustDomain.CLUSTER_LOCAL, KeyType.EC_P256, Clock.systemUTC()))
                .isInstanceOf(IOException.class).hasMessageContaining("already holds a CA");
    }

    @Test
    void loadOfAnEmptyDirectorySaysToRunInit() {
        assertThatThrownBy(() -> CaDirectory.load(tmp, Clock.systemUTC(), KeyResolver.files(tmp)))
                .isInstanceOf(IOException.class).hasMessageContaining("ca.properties").hasMessageContaining("keel ca init");
    }

    @Test
    void pluggedRsaEnterpriseRootWithPkcs1KeyIssuesChainsOpensslAccepts() throws Exception {
        Path cacerts = enterpriseCacerts(tmp.resolve("cacerts"), "rsa");
        Path dir = tmp.resolve("ca");
        CaDirectory.LoadedCa ca = CaDirectory.importCacerts(dir, cacerts, TrustDomain.CLUSTER_LOCAL, Clock.systemUTC());
        assertThat(ca.config().mode()).isEqualTo("plugged");
        assertThat(Files.readString(cacerts.resolve("ca-key.pem"))).contains("BEGIN RSA PRIVATE KEY");

        X509SvidIssuer issuer = new X509SvidIssuer(ca.signingCa(), IssuancePolicy.DEFAULT, Clock.systemUTC());
        IssuedX509Svid svid = issuer.issue(new X509SvidParams(SpiffeId.parse("spiffe://cluster.local/ns/a/sa/x"),
                KeyPairs.generate(KeyType.EC_P256).getPublic(), Duration.ZERO));
        Path chain = tmp.resolve("chain.pem");
        dev.keel.ca.internal.PemFiles.writeCertificates(chain, svid.chain());
        OpenSsl.Result verify = OpenSsl.run("verify", "-CAfile", cacerts.resolve("root-cert.pem").toString(),
                "-untrusted", chain.toString(), chain.toString());
        assertThat(verify.output()).contains(": OK");
        assertThat(svid.leaf().getSigAlgName()).isEqualTo("SHA256withRSA");
    }

    @Test
    void pluggedEcEnterpriseRootWithSec1KeyLoads() throws Exception {
        Path cacerts = enterpriseCacerts(tmp.resolve("cacerts"), "ec");
        assertThat(Files.readString(cacerts.resolve("ca-key.pem"))).contains("BEGIN EC PRIVATE KEY");
        CaDirectory.LoadedCa ca = CaDirectory.importCacerts(tmp.resolve("ca"), cacerts, TrustDomain.CLUSTER_LOCAL,
                Clock.systemUTC());
        assertThat(ca.signingCa().key().keyType()).isEqualTo(KeyType.EC_P256);
    }

    @Test
    void keyThatDoesNotMatchTheCertificateIsNamed() throws Exception {
        Path cacerts = enterpriseCacerts(tmp.resolve("cacerts"), "ec");
        openssl(cacerts, "ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", "ca-key.pem");
        assertImportFails(cacerts, "ca-key.pem: does not match ca-cert.pem");
    }

    @Test
    void chainThatDoesNotVerifyToTheRootIsNamed() throws Exception {
        Path cacerts = enterpriseCacerts(tmp.resolve("cacerts"), "ec");
        Path other = enterpriseCacerts(tmp.resolve("other"), "ec");
        Files.copy(other.resolve("root-cert.pem"), cacerts.resolve("root-cert.pem"),
                java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        assertImportFails(cacerts, "cert-chain.pem: does not verify to root-cert.pem");
    }

    @Test
    void caCertificateWithoutTheCaFlagIsNamed() throws Exception {
        Path cacerts = enterpriseCacerts(tmp.resolve("cacerts"), "ec", "basicConstraints=critical,CA:false");
        assertImportFails(cacerts, "ca-cert.pem is not a CA");
    }

    @Test
    void caCertificateWithoutKeyCertSignIsNamed() throws Exception {
        Path cacerts = enterpriseCacerts(tmp.resolve("cacerts"), "ec",
                "basicConstraints=critical,CA:true,pathlen:0\nkeyUsage=critical,digitalSignature");
        assertImportFails(cacerts, "ca-cert.pem lacks the keyCertSign key usage");
    }

    @Test
    void expiredCaCertificateIsNamed() throws Exception {
        Path cacerts = enterpriseCacerts(tmp.resolve("cacerts"), "ec");
        Clock later = Clock.fixed(Instant.now().plus(Duration.ofDays(60)), ZoneOffset.UTC);
        assertThatThrownBy(() -> CaDirectory.importCacerts(tmp.resolve("ca"), cacerts, TrustDomain.CLUSTER_LOCAL, later))
                .isInstanceOf(IOException.class).hasMessageContaining("ca-cert.pem expired at");
    }

    @Test
    void missingAndGarbageFilesAreNamed() throws Exception {
        Path cacerts = enterpriseCacerts(tmp.resolve("cacerts"), "ec");
        Files.writeString(cacerts.resolve("ca-key.pem"), "-----BEGIN PRIVATE KEY-----\nnot base64!\n-----END PRIVATE KEY-----\n");
        assertImportFails(cacerts, "ca-key.pem: not a PEM private key");
        Files.delete(cacerts.resolve("root-cert.pem"));
        assertImportFails(cacerts, "root-cert.pem: missing");
        assertThat(tmp.resolve("ca")).doesNotExist();
    }

    @Test
    void selfSignedIntermediateIsRenewedAfterTwoThirdsOfItsLifeUnderTheSameRoot() throws Exception {
        Path dir = tmp.resolve("ca");
        dev.keel.testing.FakeClock clock = dev.keel.testing.FakeClock.at(Instant.now());
        CaDirectory.LoadedCa ca = CaDirectory.initSelfSigned(dir, TrustDomain.CLUSTER_LOCAL, KeyType.EC_P256, clock);
        assertThat(CaDirectory.renewIntermediateIfDue(ca, clock, KeyResolver.files(dir))).isEmpty();

        clock.advance(Duration.ofDays(250));
        CaDirectory.LoadedCa renewed = CaDirectory.renewIntermediateIfDue(ca, clock, KeyResolver.files(dir)).orElseThrow();
        assertThat(renewed.signingCa().certificate()).isNotEqualTo(ca.signingCa().certificate());
        assertThat(renewed.signingCa().certificate().getPublicKey()).isNotEqualTo(ca.signingCa().certificate().getPublicKey());
        assertThat(renewed.signingCa().roots()).isEqualTo(ca.signingCa().roots());
        assertThat(renewed.signingCa().certificate().getNotAfter().toInstant())
                .isAfter(clock.instant().plus(Duration.ofDays(364)));
        assertThat(dir.resolve("ca-key.pem.next")).doesNotExist();
        assertThat(CaDirectory.load(dir, clock, KeyResolver.files(dir)).signingCa().certificate())
                .isEqualTo(renewed.signingCa().certificate());
    }

    @Test
    void renewalInterruptedBeforeItsCommitPointLeavesTheOldCa() throws Exception {
        Path dir = tmp.resolve("ca");
        CaDirectory.LoadedCa ca = CaDirectory.initSelfSigned(dir, TrustDomain.CLUSTER_LOCAL, KeyType.EC_P256, Clock.systemUTC());
        Files.copy(dir.resolve("root-cert.pem"), dir.resolve("ca-cert.pem.next"));
        Files.writeString(dir.resolve("ca-key.pem.next"), "half-written");
        assertThat(CaDirectory.load(dir, Clock.systemUTC(), KeyResolver.files(dir)).signingCa().certificate())
                .isEqualTo(ca.signingCa().certificate());
        assertThat(dir.resolve("ca-cert.pem.next")).doesNotExist();
    }

    @Test
    void certificatesLeftWithoutTheirKeyByACrashAreDiscarded() throws Exception {
        Path dir = tmp.resolve("ca");
        CaDirectory.LoadedCa ca = CaDirectory.initSelfSigned(dir, TrustDomain.CLUSTER_LOCAL, KeyType.EC_P256, Clock.systemUTC());
        Files.copy(dir.resolve("root-cert.pem"), dir.resolve("ca-cert.pem.next"));
        Files.copy(dir.resolve("root-cert.pem"), dir.resolve("cert-chain.pem.next"));
        assertThat(CaDirectory.load(dir, Clock.systemUTC(), KeyResolver.files(dir)).signingCa().certificate())
                .isEqualTo(ca.signingCa().certificate());
        assertThat(dir.resolve("ca-cert.pem.next")).doesNotExist();
        assertThat(dir.resolve("cert-chain.pem.next")).doesNotExist();
    }

    @Test
    void pluggedCaIsNeverRenewedByKeel() throws Exception {
        Path cacerts = enterpriseCacerts(tmp.resolve("cacerts"), "ec");
        CaDirectory.LoadedCa ca = CaDirectory.importCacerts(tmp.resolve("ca"), cacerts, TrustDomain.CLUSTER_LOCAL,
                Clock.systemUTC());
        Clock late = Clock.fixed(Instant.now().plus(Duration.ofDays(25)), ZoneOffset.UTC);
        assertThat(CaDirectory.renewIntermediateIfDue(ca, late, KeyResolver.files(tmp.resolve("ca")))).isEmpty();
    }

    private void assertImportFails(Path cacerts, String message) {
        assertThatThrownBy(() -> CaDirectory.importCacerts(tmp.resolve("ca"), cacerts, TrustDomain.CLUSTER_LOCAL,
                Clock.systemUTC()))
                .isInstanceOf(IOException.class).hasMessageContaining(message);
    }

    /** Istio's cacerts made the way an enterprise PKI team would, with openssl. */
    static Path enterpriseCacerts(Path dir, String keyKind) throws Exception {
        return enterpriseCacerts(dir, keyKind,
                "basicConstraints=critical,CA:true,pathlen:0\nkeyUsage=critical,keyCertSign,cRLSign\n"
                        + "subjectAltName=URI:spiffe://cluster.local");
    }

    static Path enterpriseCacerts(Path dir, String keyKind, String intermediateExtensions) throws Exception {
        Files.createDirectories(dir);
        String newkey = keyKind.equals("rsa") ? "rsa:2048" : "ec";
        if (keyKind.equals("rsa")) {
            openssl(dir, "req", "-x509", "-newkey", newkey, "-nodes", "-keyout", "root-key.pem", "-out", "root-cert.pem",
                    "-days", "30", "-subj", "/O=Enterprise/CN=Enterprise Root CA",
                    "-addext", "basicConstraints=critical,CA:true", "-addext", "keyUsage=critical,keyCertSign,cRLSign");
            openssl(dir, "genrsa", "-traditional", "-out", "ca-key.pem", "2048");
        } else {
            openssl(dir, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                    "-keyout", "root-key.pem", "-out", "root-cert.pem", "-days", "30",
                    "-subj", "/O=Enterprise/CN=Enterprise Root CA",
                    "-addext", "basicConstraints=critical,CA:true", "-addext", "keyUsage=critical,keyCertSign,cRLSign");
            openssl(dir, "ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", "ca-key.pem");
        }
        openssl(dir, "req", "-new", "-key", "ca-key.pem", "-subj", "/O=Enterprise/CN=Mesh Intermediate CA", "-out", "ca.csr");
        Files.writeString(dir.resolve("ext.cnf"), intermediateExtensions + "\n");
        openssl(dir, "x509", "-req", "-in", "ca.csr", "-CA", "root-cert.pem", "-CAkey", "root-key.pem",
                "-set_serial", "0x" + Long.toHexString(System.nanoTime()), "-days", "30", "-extfile", "ext.cnf",
                "-out", "ca-cert.pem");
        Files.writeString(dir.resolve("cert-chain.pem"),
                Files.readString(dir.resolve("ca-cert.pem")) + Files.readString(dir.resolve("root-cert.pem")));
        return dir;
    }

    private static void openssl(Path dir, String... args) throws Exception {
        java.util.List<String> command = new java.util.ArrayList<>(java.util.List.of("openssl"));
        command.addAll(java.util.List.of(args));
        Process p = new ProcessBuilder(command).directory(dir.toFile()).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes());
        if (p.waitFor() != 0) {
            throw new IllegalStateException("openssl " + String.join(" ", args) + " failed: " + out);
        }
    }

}
