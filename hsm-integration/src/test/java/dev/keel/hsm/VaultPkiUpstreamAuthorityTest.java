package dev.keel.hsm;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.keel.identity.KeyPairs;
import dev.keel.identity.KeyType;
import dev.keel.identity.Pem;
import dev.keel.testing.FakeVault;
import java.security.KeyPair;
import java.time.Duration;
import org.bouncycastle.asn1.pkcs.PKCSObjectIdentifiers;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.ExtensionsGenerator;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.bouncycastle.pkcs.jcajce.JcaPKCS10CertificationRequestBuilder;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Vault PKI signs an intermediate from a CSR; outages and refusals are told apart; no secret is shown. */
class VaultPkiUpstreamAuthorityTest {

    private FakeVault vault;

    @BeforeEach
    void start() throws Exception {
        vault = new FakeVault();
    }

    @AfterEach
    void stop() {
        vault.close();
    }

    private VaultPkiUpstreamAuthority upstream() {
        return VaultPkiUpstreamAuthority.builder(vault.address()).trustedCertificatesPem(vault.caPem())
                .credentials(VaultCredentials.token(vault.rootToken)).retries(2, Duration.ofMillis(10)).build();
    }

    private static String csr(KeyPair pair) throws Exception {
        ExtensionsGenerator extensions = new ExtensionsGenerator();
        extensions.addExtension(Extension.basicConstraints, true, new BasicConstraints(0));
        extensions.addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.keyCertSign | KeyUsage.cRLSign));
        var request = new JcaPKCS10CertificationRequestBuilder(new X500Name("O=Keel,CN=Keel Intermediate CA"),
                pair.getPublic()).addAttribute(PKCSObjectIdentifiers.pkcs_9_at_extensionRequest, extensions.generate())
                .build(new JcaContentSignerBuilder("SHA256withECDSA").build(pair.getPrivate()));
        return Pem.encode("CERTIFICATE REQUEST", request.getEncoded());
    }

    @Test
    void vaultSignsTheIntermediateAndReturnsItsChainToTheRoot() throws Exception {
        KeyPair pair = KeyPairs.generate(KeyType.EC_P256);

        VaultPkiUpstreamAuthority.SignedIntermediate signed = upstream().signIntermediate(csr(pair), "Keel Intermediate CA",
                Duration.ofHours(2));

        assertThat(signed.certificate().getPublicKey()).isEqualTo(pair.getPublic());
        assertThat(signed.certificate().getBasicConstraints()).isZero();
        assertThat(signed.root()).isEqualTo(vault.pkiRoot());
        signed.certificate().verify(vault.pkiRoot().getPublicKey());
        assertThat(Duration.between(signed.certificate().getNotBefore().toInstant(),
                signed.certificate().getNotAfter().toInstant())).isEqualTo(Duration.ofHours(2).plusSeconds(30));
    }

    @Test
    void aSealedVaultIsRetriedThenUnavailable() throws Exception {
        vault.sealed = true;
        assertThatThrownBy(() -> upstream().signIntermediate(csr(KeyPairs.generate(KeyType.EC_P256)), "cn",
                Duration.ofHours(1)))
                .isInstanceOfSatisfying(UpstreamAuthorityException.class, e -> assertThat(e.unavailable()).isTrue())
                .hasMessageContaining("Vault PKI pki").hasMessageContaining("HTTP 503").hasMessageContaining("after 2 attempts");
    }

    @Test
    void permissionDeniedIsARefusalWithoutTheToken() {
        vault.denied = true;
        assertThatThrownBy(() -> upstream().signIntermediate(csr(KeyPairs.generate(KeyType.EC_P256)), "cn",
                Duration.ofHours(1)))
                .isInstanceOfSatisfying(UpstreamAuthorityException.class, e -> assertThat(e.unavailable()).isFalse())
                .hasMessageContaining("HTTP 403 (permission denied)").hasMessageNotContaining(vault.rootToken);
        assertThat(vault.requests.get()).isEqualTo(1); // a refusal is not retried
    }
}
