package dev.keel.agent.ca;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.keel.agent.ca.internal.BundleFiles;
import dev.keel.agent.ca.internal.Csrs;
import dev.keel.identity.Bundle;
import dev.keel.identity.BundleJson;
import dev.keel.identity.KeyType;
import dev.keel.identity.Pem;
import dev.keel.testing.TestPki;
import java.nio.file.Files;
import java.nio.file.Path;
import org.bouncycastle.operator.jcajce.JcaContentVerifierProviderBuilder;
import org.bouncycastle.pkcs.jcajce.JcaPKCS10CertificationRequest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The bootstrap bundle file, and the CSRs the agent sends. */
class BundleFilesTest {

    @TempDir
    Path dir;

    final TestPki pki = TestPki.create();

    @Test
    void readsPemRootsOrSpiffeBundleJson() throws Exception {
        Path pem = Files.writeString(dir.resolve("root.pem"), "# the CA root\n" + pki.rootPem());
        Path json = Files.writeString(dir.resolve("bundle.json"), BundleJson.encode(pki.bundle()));

        assertThat(BundleFiles.read(pem, pki.trustDomain()).x509Authorities()).containsExactly(pki.root());
        Bundle fromJson = BundleFiles.read(json, pki.trustDomain());
        assertThat(fromJson).isEqualTo(pki.bundle());
    }

    @Test
    void refusesFilesWithoutRoots() throws Exception {
        Path empty = Files.writeString(dir.resolve("empty.pem"), "nothing here\n");
        Path noKeys = Files.writeString(dir.resolve("empty.json"), "{\"keys\":[]}");
        Path key = Files.writeString(dir.resolve("key.pem"), pki.intermediateKeyPem());

        assertThatThrownBy(() -> BundleFiles.read(empty, pki.trustDomain())).hasMessageStartingWith("bundle file " + empty);
        assertThatThrownBy(() -> BundleFiles.read(noKeys, pki.trustDomain())).hasMessageContaining("no X.509 authority");
        assertThatThrownBy(() -> BundleFiles.read(key, pki.trustDomain())).hasMessageStartingWith("bundle file " + key);
    }

    @Test
    void csrsCarryTheNewPublicKeyAndProveItsPossession() throws Exception {
        for (KeyType type : new KeyType[] {KeyType.EC_P256, KeyType.RSA_2048}) {
            Csrs.KeyAndCsr key = Csrs.generate(type);
            JcaPKCS10CertificationRequest csr = new JcaPKCS10CertificationRequest(
                    Pem.decodeCertificateRequest(key.csrPem()));
            assertThat(csr.getPublicKey()).isEqualTo(key.keyPair().getPublic());
            assertThat(csr.isSignatureValid(new JcaContentVerifierProviderBuilder().build(csr.getPublicKey()))).isTrue();
            assertThat(csr.getSubject().getRDNs()).isEmpty();
            assertThat(key.toString()).doesNotContain("PRIVATE");
        }
    }
}
