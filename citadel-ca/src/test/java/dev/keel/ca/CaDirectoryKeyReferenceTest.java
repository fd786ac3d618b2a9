package dev.keel.ca;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.keel.identity.KeyType;
import dev.keel.identity.SignatureAlgorithm;
import dev.keel.identity.SigningException;
import dev.keel.identity.SigningKey;
import dev.keel.identity.SoftwareSigningKey;
import dev.keel.identity.SpiffeId;
import dev.keel.identity.TrustDomain;
import dev.keel.testing.FakeClock;
import dev.keel.testing.TestCsr;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.PublicKey;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * CA keys held outside the data directory, named by references a {@link KeyResolver} knows (what the
 * PKCS#11 and Vault backends plug in through). Here a {@code mem:} scheme stands in for the HSM.
 */
class CaDirectoryKeyReferenceTest {

    @TempDir
    Path tmp;

    /** An "HSM": keys in a map, reachable until it goes down. */
    static final class MemoryCustody implements KeyResolver {
        final Map<String, SigningKey> keys = new ConcurrentHashMap<>();
        volatile boolean down;

        String generate(String name, KeyType type) {
            String reference = "mem:" + name;
            SoftwareSigningKey key = SoftwareSigningKey.generate(reference, type);
            keys.put(reference, new SigningKey() {
                @Override
                public String id() {
                    return reference;
                }

                @Override
                public PublicKey publicKey() {
                    return key.publicKey();
                }

                @Override
                public byte[] sign(SignatureAlgorithm algorithm, byte[] data) throws SigningException {
                    if (down) {
                        throw new SigningException("key " + reference + ": token unavailable", true);
                    }
                    return key.sign(algorithm, data);
                }
            });
            return reference;
        }

        @Override
        public SigningKey resolve(String reference) throws IOException {
            if (!reference.startsWith("mem:")) {
                throw new IllegalArgumentException("key reference " + reference + ": unknown scheme (expected: mem:)");
            }
            SigningKey key = keys.get(reference);
            if (key == null) {
                throw new IOException("key reference " + reference + ": no such key");
            }
            return key;
        }
    }

    @Test
    void selfSignedWithReferencedKeysWritesNoKeyAndResolvesThemOnLoad() throws Exception {
        MemoryCustody hsm = new MemoryCustody();
        CaDirectory.KeyReferences refs = new CaDirectory.KeyReferences(hsm.generate("root", KeyType.EC_P384),
                hsm.generate("ca", KeyType.EC_P256), hsm.generate("jwt", KeyType.EC_P256));
        Path dir = tmp.resolve("ca");
        KeyResolver keys = KeyResolver.files(dir).or(hsm);

        CaDirectory.LoadedCa ca = CaDirectory.initSelfSigned(dir, TrustDomain.CLUSTER_LOCAL, refs, keys, Clock.systemUTC());

        assertThat(ca.signingCa().key().id()).isEqualTo("mem:ca");
        assertThat(ca.jwtKey().id()).isEqualTo("mem:jwt");
        assertThat(ca.signingCa().roots().get(0).getPublicKey()).isEqualTo(hsm.resolve("mem:root").publicKey());
        try (Stream<Path> files = Files.list(dir)) {
            assertThat(files.map(p -> p.getFileName().toString()))
                    .containsExactlyInAnyOrder("ca.properties", "ca-cert.pem", "cert-chain.pem", "root-cert.pem");
        }
        assertThat(Files.readString(dir.resolve("ca.properties")))
                .contains("ca_key=mem\\:ca", "root_key=mem\\:root", "jwt_key=mem\\:jwt");
        assertThat(CaDirectory.load(dir, Clock.systemUTC(), keys).signingCa().certificate())
                .isEqualTo(ca.signingCa().certificate());
        assertThatThrownBy(() -> CaDirectory.load(dir, Clock.systemUTC(), KeyResolver.files(dir)))
                .isInstanceOf(IOException.class).hasMessageContaining("mem:ca").hasMessageContaining("unknown scheme");
    }

    @Test
    void anIntermediateWhoseKeyIsHeldElsewhereIsNeverRenewedByWritingAFileKey() throws Exception {
        MemoryCustody hsm = new MemoryCustody();
        CaDirectory.KeyReferences refs = new CaDirectory.KeyReferences(hsm.generate("root", KeyType.EC_P256),
                hsm.generate("ca", KeyType.EC_P256), hsm.generate("jwt", KeyType.EC_P256));
        Path dir = tmp.resolve("ca");
        KeyResolver keys = KeyResolver.files(dir).or(hsm);
        FakeClock clock = FakeClock.at(Instant.now());
        CaDirectory.LoadedCa ca = CaDirectory.initSelfSigned(dir, TrustDomain.CLUSTER_LOCAL, refs, keys, clock);

        clock.advance(Duration.ofDays(250));

        // Renewal makes the new key in the custodian (CaIntermediateRenewalTest); without one that can, it says so.
        assertThatThrownBy(() -> CaDirectory.renewIntermediateIfDue(ca, clock, keys)).isInstanceOf(IOException.class)
                .hasMessageContaining("no backend here can make a new key");
        assertThat(dir.resolve("ca-key.pem")).doesNotExist();
    }

    @Test
    void csrForAnEnterpriseRootThenImportWithTheKeyStillHeldElsewhere() throws Exception {
        MemoryCustody hsm = new MemoryCustody();
        String caRef = hsm.generate("ca", KeyType.EC_P256);
        String jwtRef = hsm.generate("jwt", KeyType.EC_P256);
        String csr = CaDirectory.intermediateCsr(TrustDomain.CLUSTER_LOCAL, hsm.resolve(caRef));
        Path cacerts = Files.createDirectories(tmp.resolve("cacerts"));
        Files.writeString(cacerts.resolve("ca.csr"), csr);

        assertThat(OpenSsl.run("req", "-in", cacerts.resolve("ca.csr").toString(), "-verify", "-noout").output())
                .contains("verify OK");
        // The enterprise PKI signs it with openssl, granting the extensions asked for.
        openssl(cacerts, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                "-keyout", "root-key.pem", "-out", "root-cert.pem", "-days", "30", "-subj", "/O=Enterprise/CN=Root",
                "-addext", "basicConstraints=critical,CA:true", "-addext", "keyUsage=critical,keyCertSign,cRLSign");
        openssl(cacerts, "x509", "-req", "-in", "ca.csr", "-CA", "root-cert.pem", "-CAkey", "root-key.pem",
                "-set_serial", "7", "-days", "30", "-copy_extensions", "copy", "-out", "ca-cert.pem");
        Files.writeString(cacerts.resolve("cert-chain.pem"),
                Files.readString(cacerts.resolve("ca-cert.pem")) + Files.readString(cacerts.resolve("root-cert.pem")));
        Files.delete(cacerts.resolve("root-key.pem"));
        Path dir = tmp.resolve("ca");
        KeyResolver keys = KeyResolver.files(dir).or(hsm);

        CaDirectory.LoadedCa ca = CaDirectory.importCacerts(dir, cacerts, TrustDomain.CLUSTER_LOCAL, caRef, jwtRef, keys,
                Clock.systemUTC());

        assertThat(ca.config().mode()).isEqualTo("plugged");
        assertThat(ca.signingCa().certificate().getBasicConstraints()).isZero();
        assertThat(dir.resolve("ca-key.pem")).doesNotExist();
        IssuedX509Svid svid = new X509SvidIssuer(ca.signingCa(), IssuancePolicy.DEFAULT, Clock.systemUTC())
                .issue(new X509SvidParams(SpiffeId.parse("spiffe://cluster.local/ns/a/sa/x"),
                        dev.keel.identity.KeyPairs.generate(KeyType.EC_P256).getPublic(), Duration.ZERO));
        Path chain = tmp.resolve("chain.pem");
        dev.keel.ca.internal.PemFiles.writeCertificates(chain, svid.chain());
        assertThat(OpenSsl.run("verify", "-CAfile", cacerts.resolve("root-cert.pem").toString(), "-untrusted",
                chain.toString(), chain.toString()).output()).contains(": OK");
    }

    @Test
    void importWithAReferencedKeyThatDoesNotMatchNamesTheReference() throws Exception {
        MemoryCustody hsm = new MemoryCustody();
        Path cacerts = CaDirectoryTest.enterpriseCacerts(tmp.resolve("cacerts"), "ec");
        String other = hsm.generate("other", KeyType.EC_P256);
        assertThatThrownBy(() -> CaDirectory.importCacerts(tmp.resolve("ca"), cacerts, TrustDomain.CLUSTER_LOCAL, other,
                other, KeyResolver.files(tmp.resolve("ca")).or(hsm), Clock.systemUTC()))
                .isInstanceOf(IOException.class).hasMessageContaining("mem:other: does not match ca-cert.pem");
        assertThat(tmp.resolve("ca")).doesNotExist();
    }

    @Test
    void aKeyThatBecomesUnavailableRefusesIssuanceWithUnavailableAndAuditsIt() throws Exception {
        MemoryCustody hsm = new MemoryCustody();
        CaDirectory.KeyReferences refs = new CaDirectory.KeyReferences(hsm.generate("root", KeyType.EC_P256),
                hsm.generate("ca", KeyType.EC_P256), hsm.generate("jwt", KeyType.EC_P256));
        Path dir = tmp.resolve("ca");
        KeyResolver keys = KeyResolver.files(dir).or(hsm);
        CaDirectory.LoadedCa loaded = CaDirectory.initSelfSigned(dir, TrustDomain.CLUSTER_LOCAL, refs, keys, Clock.systemUTC());
        try (CitadelCa ca = CitadelCa.open(loaded, keys, IssuancePolicy.DEFAULT, List.of(), Clock.systemUTC())) {
            String csr = TestCsr.builder().uriSan("spiffe://cluster.local/ns/a/sa/x").build().pem();
            assertThat(ca.service().issueAsOperator("op", csr, Duration.ZERO).join().leaf()).isNotNull();

            hsm.down = true;

            assertThatThrownBy(() -> ca.service().issueAsOperator("op", csr, Duration.ZERO).join())
                    .isInstanceOf(CompletionException.class).cause().isInstanceOfSatisfying(CaException.class,
                            e -> assertThat(e.code()).isEqualTo(CaException.Code.UNAVAILABLE));
            List<String> audit = Files.readAllLines(loaded.auditLog());
            assertThat(audit).hasSize(2);
            assertThat(audit.get(1)).contains("\"outcome\":\"refused\"", "UNAVAILABLE");
        }
    }

    private static void openssl(Path dir, String... args) throws Exception {
        List<String> command = new java.util.ArrayList<>(List.of("openssl"));
        command.addAll(List.of(args));
        Process p = new ProcessBuilder(command).directory(dir.toFile()).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes());
        if (p.waitFor() != 0) {
            throw new IllegalStateException("openssl " + String.join(" ", args) + " failed: " + out);
        }
    }
}
