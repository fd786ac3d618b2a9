package dev.keel.proxy.tls;

import static org.assertj.core.api.Assertions.assertThatCode;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.keel.identity.BundleSource;
import dev.keel.identity.X509SvidValidationException;
import dev.keel.testing.TestPki;
import dev.keel.identity.KeyPairs;
import dev.keel.identity.KeyType;
import java.math.BigInteger;
import java.security.KeyPair;
import java.security.PrivateKey;
import java.security.SecureRandom;
import java.security.cert.CertificateException;
import java.time.Instant;
import java.util.Date;
import javax.security.auth.x500.X500Principal;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.ExtendedKeyUsage;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509ExtensionUtils;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import java.security.cert.X509Certificate;
import org.junit.jupiter.api.Test;

class SpiffeTrustManagerTest {

    static final String ID = "spiffe://cluster.local/ns/shop/sa/frontend";
    final TestPki pki = TestPki.create();
    final SpiffeTrustManager trust = SpiffeTrustManager.create(BundleSource.of(pki.bundle()));

    private static X509Certificate[] array(java.util.List<X509Certificate> chain) {
        return chain.toArray(new X509Certificate[0]);
    }

    @Test
    void acceptsAValidSvidAsClientAndAsServer() {
        X509Certificate[] chain = array(pki.leaf(ID).issue().chain());
        assertThatCode(() -> trust.checkClientTrusted(chain, "ECDHE_ECDSA")).doesNotThrowAnyException();
        assertThatCode(() -> trust.checkServerTrusted(chain, "ECDHE_ECDSA")).doesNotThrowAnyException();
    }

    @Test
    void requiresTheExtendedKeyUsageOfThePeersRole() throws Exception {
        X509Certificate[] serverOnly = leafWithEku(KeyPurposeId.id_kp_serverAuth);
        X509Certificate[] clientOnly = leafWithEku(KeyPurposeId.id_kp_clientAuth);

        assertThatCode(() -> trust.checkServerTrusted(serverOnly, "x")).doesNotThrowAnyException();
        assertThatThrownBy(() -> trust.checkClientTrusted(serverOnly, "x"))
                .hasMessageContaining("lacks extended key usage clientAuth");
        assertThatCode(() -> trust.checkClientTrusted(clientOnly, "x")).doesNotThrowAnyException();
        assertThatThrownBy(() -> trust.checkServerTrusted(clientOnly, "x"))
                .hasMessageContaining("lacks extended key usage serverAuth");
    }

    /** A leaf that is a valid X.509-SVID except that its EKU has only {@code purpose}. */
    private X509Certificate[] leafWithEku(KeyPurposeId purpose) throws Exception {
        KeyPair keys = KeyPairs.generate(KeyType.EC_P256);
        X509Certificate issuer = pki.intermediate();
        Instant now = Instant.now();
        JcaX509v3CertificateBuilder builder = new JcaX509v3CertificateBuilder(issuer.getSubjectX500Principal(),
                new BigInteger(128, new SecureRandom()), Date.from(now.minusSeconds(60)), Date.from(now.plusSeconds(3600)),
                new X500Principal("O=SPIFFE"), keys.getPublic());
        JcaX509ExtensionUtils utils = new JcaX509ExtensionUtils();
        builder.addExtension(Extension.basicConstraints, true, new BasicConstraints(false))
                .addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.digitalSignature))
                .addExtension(Extension.extendedKeyUsage, false, new ExtendedKeyUsage(purpose))
                .addExtension(Extension.subjectAlternativeName, true,
                        new GeneralNames(new GeneralName(GeneralName.uniformResourceIdentifier, ID)))
                .addExtension(Extension.authorityKeyIdentifier, false, utils.createAuthorityKeyIdentifier(issuer))
                .addExtension(Extension.subjectKeyIdentifier, false, utils.createSubjectKeyIdentifier(keys.getPublic()));
        PrivateKey issuerKey = pki.intermediateKeyPair().getPrivate();
        String algorithm = issuerKey.getAlgorithm().equals("EC") ? "SHA256withECDSA" : "SHA256withRSA";
        X509Certificate leaf = new JcaX509CertificateConverter()
                .getCertificate(builder.build(new JcaContentSignerBuilder(algorithm).build(issuerKey)));
        return new X509Certificate[] {leaf, issuer};
    }

    @Test
    void rejectsBrokenSvids() {
        assertThatThrownBy(() -> trust.checkClientTrusted(array(pki.leaf(ID).expired().issue().chain()), "x"))
                .isInstanceOf(X509SvidValidationException.class).hasMessageContaining("expired");
        assertThatThrownBy(() -> trust.checkClientTrusted(array(pki.leaf(ID).extraUriSan("spiffe://cluster.local/x").issue().chain()), "x"))
                .isInstanceOf(X509SvidValidationException.class).hasMessageContaining("URI SAN");
        assertThatThrownBy(() -> trust.checkClientTrusted(array(pki.leaf(ID).wrongTrustDomain().issue().chain()), "x"))
                .isInstanceOf(CertificateException.class);
        assertThatThrownBy(() -> trust.checkServerTrusted(array(pki.leaf(ID).caFlag().issue().chain()), "x"))
                .isInstanceOf(X509SvidValidationException.class).hasMessageContaining("CA");
        assertThatThrownBy(() -> trust.checkServerTrusted(array(pki.leaf(ID).signedByUntrustedRoot().issue().chain()), "x"))
                .isInstanceOf(X509SvidValidationException.class);
        assertThatThrownBy(() -> trust.checkServerTrusted(new X509Certificate[0], "x"))
                .hasMessageContaining("no certificate");
    }
}
