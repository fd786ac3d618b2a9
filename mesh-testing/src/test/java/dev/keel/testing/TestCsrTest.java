package dev.keel.testing;

import static org.assertj.core.api.Assertions.assertThat;

import dev.keel.identity.KeyType;
import dev.keel.identity.Pem;
import java.security.PublicKey;
import java.security.interfaces.RSAPublicKey;
import java.util.ArrayList;
import java.util.List;
import org.bouncycastle.asn1.pkcs.PKCSObjectIdentifiers;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.Extensions;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.operator.jcajce.JcaContentVerifierProviderBuilder;
import org.bouncycastle.pkcs.PKCS10CertificationRequest;
import org.bouncycastle.pkcs.jcajce.JcaPKCS10CertificationRequest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

class TestCsrTest {

    private static final String ID = "spiffe://cluster.local/ns/a/sa/x";

    @ParameterizedTest
    @EnumSource(value = KeyType.class, names = {"EC_P256", "EC_P384", "RSA_2048"})
    void wellFormedRequestsVerify(KeyType type) throws Exception {
        TestCsr csr = TestCsr.builder().keyType(type).uriSan(ID).build();

        assertThat(signatureValid(csr)).isTrue();
        assertThat(KeyType.of(csr.keyPair().getPublic())).isEqualTo(type);
        assertThat(csr.request().getSubject().getRDNs()).isEmpty();
        assertThat(uris(csr)).containsExactly(ID);
        Extension san = extensions(csr).getExtension(Extension.subjectAlternativeName);
        assertThat(san.isCritical()).isTrue();
        assertThat(extensions(csr).getExtension(Extension.basicConstraints)).isNull();
        assertThat(Pem.decodeCertificateRequest(csr.pem())).isEqualTo(csr.der());
    }

    @Test
    void severalSansAndASubject() throws Exception {
        TestCsr csr = TestCsr.builder().subject("O=cluster.local").uriSan(ID).uriSan("spiffe://cluster.local/other")
                .dnsSan("x.a.svc").build();

        assertThat(uris(csr)).containsExactly(ID, "spiffe://cluster.local/other");
        assertThat(csr.request().getSubject().toString()).isEqualTo("O=cluster.local");
        assertThat(extensions(csr).getExtension(Extension.subjectAlternativeName).isCritical()).isFalse();
        assertThat(signatureValid(csr)).isTrue();
    }

    @Test
    void dnsOnlyAndNoSans() throws Exception {
        assertThat(uris(TestCsr.builder().dnsSan("web.example.org").build())).isEmpty();
        TestCsr bare = TestCsr.builder().subject("CN=bare").build();
        assertThat(bare.request().getAttributes(PKCSObjectIdentifiers.pkcs_9_at_extensionRequest)).isEmpty();
        assertThat(signatureValid(bare)).isTrue();
    }

    @Test
    void requestCaAsksForBasicConstraintsCaTrue() throws Exception {
        TestCsr csr = TestCsr.builder().uriSan(ID).requestCa().build();

        Extension bc = extensions(csr).getExtension(Extension.basicConstraints);
        assertThat(BasicConstraints.getInstance(bc.getParsedValue()).isCA()).isTrue();
        assertThat(signatureValid(csr)).isTrue();
    }

    @Test
    void brokenSignatureDoesNotVerify() throws Exception {
        TestCsr csr = TestCsr.builder().uriSan(ID).brokenSignature().build();

        assertThat(uris(csr)).containsExactly(ID);
        assertThat(signatureValid(csr)).isFalse();
    }

    @Test
    void weakKey() throws Exception {
        TestCsr csr = TestCsr.builder().uriSan(ID).weakRsa1024Key().build();

        assertThat(((RSAPublicKey) csr.keyPair().getPublic()).getModulus().bitLength()).isEqualTo(1024);
        assertThat(signatureValid(csr)).isTrue();
    }

    @Test
    void givenKeyPairAndDerCopies() {
        TestCsr first = TestCsr.builder().build();
        TestCsr csr = TestCsr.builder().keyPair(first.keyPair()).build();

        assertThat(csr.keyPair()).isSameAs(first.keyPair());
        byte[] der = csr.der();
        der[0] = 0;
        assertThat(csr.der()[0]).isEqualTo((byte) 0x30);
        assertThat(csr.toString()).startsWith("TestCsr{").doesNotContain("PRIVATE");
    }

    private static boolean signatureValid(TestCsr csr) throws Exception {
        PKCS10CertificationRequest request = csr.request();
        PublicKey key = new JcaPKCS10CertificationRequest(request).getPublicKey();
        assertThat(key).isEqualTo(csr.keyPair().getPublic());
        return request.isSignatureValid(new JcaContentVerifierProviderBuilder().build(key));
    }

    private static Extensions extensions(TestCsr csr) {
        return Extensions.getInstance(csr.request().getAttributes(PKCSObjectIdentifiers.pkcs_9_at_extensionRequest)[0]
                .getAttrValues().getObjectAt(0));
    }

    private static List<String> uris(TestCsr csr) {
        List<String> uris = new ArrayList<>();
        if (csr.request().getAttributes(PKCSObjectIdentifiers.pkcs_9_at_extensionRequest).length == 0) {
            return uris;
        }
        Extension san = extensions(csr).getExtension(Extension.subjectAlternativeName);
        if (san == null) {
            return uris;
        }
        for (GeneralName name : GeneralNames.getInstance(san.getParsedValue()).getNames()) {
            if (name.getTagNo() == GeneralName.uniformResourceIdentifier) {
                uris.add(name.getName().toString());
            }
        }
        return uris;
    }
}
