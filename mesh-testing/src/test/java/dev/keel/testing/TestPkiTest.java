package dev.keel.testing;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.keel.identity.Bundle;
import dev.keel.identity.BundleJson;
import dev.keel.identity.BundleSource;
import dev.keel.identity.KeyType;
import dev.keel.identity.Pem;
import dev.keel.identity.SigningKeys;
import dev.keel.identity.SpiffeId;
import dev.keel.identity.TrustDomain;
import dev.keel.identity.WeakKeyException;
import dev.keel.identity.X509Svid;
import dev.keel.identity.X509SvidValidationException;
import dev.keel.identity.X509SvidValidationException.Rule;
import dev.keel.identity.X509SvidVerifier;
import java.security.SignatureException;
import java.security.cert.X509Certificate;
import java.security.interfaces.RSAPublicKey;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

class TestPkiTest {

    private static final String ID = "spiffe://cluster.local/ns/a/sa/x";
    private static final Instant T0 = Instant.parse("2030-06-01T12:00:00Z");
    private static final FakeClock CLOCK = FakeClock.at(T0);
    private static final TestPki PKI = TestPki.builder().trustDomain("cluster.local").clock(CLOCK).build();

    @ParameterizedTest
    @EnumSource(value = KeyType.class, names = {"EC_P256", "EC_P384", "RSA_2048"})
    void goodLeavesVerify(KeyType type) throws Exception {
        TestPki pki = TestPki.builder().trustDomain("example.org").keyType(type).build();

        TestLeaf leaf = pki.leaf("spiffe://example.org/ns/a/sa/x").ttl(Duration.ofHours(1)).issue();
        X509Svid svid = pki.verifier().verify(leaf.chain());

        assertThat(svid.spiffeId()).isEqualTo(SpiffeId.parse("spiffe://example.org/ns/a/sa/x"));
        assertThat(svid.chain()).containsExactly(leaf.certificate(), pki.intermediate());
        assertThat(KeyType.of(leaf.publicKey())).isEqualTo(type);
        assertThat(KeyType.of(pki.root().getPublicKey())).isEqualTo(type);
        assertThat(leaf.svid()).isEqualTo(svid);
    }

    @Test
    void theCasFollowTheArchitecture() throws Exception {
        X509Certificate root = PKI.root();
        X509Certificate intermediate = PKI.intermediate();

        root.verify(root.getPublicKey());
        intermediate.verify(root.getPublicKey());
        assertThat(root.getSubjectX500Principal()).isEqualTo(root.getIssuerX500Principal());
        assertThat(root.getBasicConstraints()).isEqualTo(Integer.MAX_VALUE);
        assertThat(intermediate.getBasicConstraints()).isZero();
        for (X509Certificate ca : PKI.caChain()) {
            assertThat(ca.getKeyUsage()).startsWith(false, false, false, false, false, true, true);
            assertThat(ca.getCriticalExtensionOIDs()).contains("2.5.29.15", "2.5.29.19");
            assertThat(uris(ca)).containsExactly("spiffe://cluster.local");
            assertThat(Duration.between(ca.getNotBefore().toInstant(), ca.getNotAfter().toInstant()))
                    .isLessThanOrEqualTo(Duration.ofHours(26));
            assertThat(ca.getNotBefore().toInstant()).isBefore(T0);
        }
        assertThat(PKI.caChain()).containsExactly(intermediate, root);
        assertThat(SigningKeys.matches(PKI.intermediateSigningKey(), intermediate.getPublicKey())).isTrue();
        assertThat(SigningKeys.matches(PKI.rootSigningKey(), root.getPublicKey())).isTrue();
        assertThat(PKI.intermediateKeyPair().getPublic()).isEqualTo(intermediate.getPublicKey());
        assertThat(PKI.rootKeyPair().getPublic()).isEqualTo(root.getPublicKey());
    }

    @Test
    void goodLeavesFollowTheArchitecture() throws Exception {
        TestLeaf leaf = PKI.leaf(ID).issue();
        X509Certificate cert = leaf.certificate();

        cert.verify(PKI.intermediate().getPublicKey());
        assertThat(cert.getBasicConstraints()).isEqualTo(-1);
        assertThat(cert.getKeyUsage()).startsWith(true, false, false, false, false, false, false);
        assertThat(cert.getExtendedKeyUsage()).containsExactly("1.3.6.1.5.5.7.3.1", "1.3.6.1.5.5.7.3.2");
        assertThat(uris(cert)).containsExactly(ID);
        assertThat(cert.getSubjectX500Principal().getName()).isEmpty();
        assertThat(cert.getCriticalExtensionOIDs()).contains("2.5.29.17");
        assertThat(cert.getExtensionValue("2.5.29.14")).isNotNull();
        assertThat(cert.getExtensionValue("2.5.29.35")).isNotNull();
        assertThat(cert.getNotBefore().toInstant()).isEqualTo(T0.minus(Duration.ofMinutes(5)));
        assertThat(cert.getNotAfter().toInstant()).isEqualTo(T0.plus(Duration.ofHours(1)));
        assertThat(cert.getSerialNumber().bitLength()).isEqualTo(128);
        assertThat(PKI.leaf(ID).issue().certificate().getSerialNumber()).isNotEqualTo(cert.getSerialNumber());
        assertThat(SigningKeys.matches(leaf.issuerSigningKey(), leaf.issuer().getPublicKey())).isTrue();
        assertThat(leaf.issuer()).isEqualTo(PKI.intermediate());
        assertThat(SigningKeys.matches(leaf.signingKey(), cert.getPublicKey())).isTrue();
        assertThat(PKI.verifier().verify(leaf.chain()).spiffeId().toString()).isEqualTo(ID);
    }

    @Test
    void rsaLeavesAlsoGetKeyEncipherment() {
        X509Certificate cert = PKI.leaf(ID).keyType(KeyType.RSA_2048).issue().certificate();

        assertThat(cert.getKeyUsage()).startsWith(true, false, true, false, false, false, false);
    }

    @Test
    void extraDnsSansAndSubjectsAreAllowed() throws Exception {
        TestLeaf leaf = PKI.leaf(ID).dnsSan("x.a.svc").subject("O=cluster.local").issue();

        assertThat(sans(leaf.certificate(), 2)).containsExactly("x.a.svc");
        assertThat(leaf.certificate().getCriticalExtensionOIDs()).doesNotContain("2.5.29.17");
        assertThat(PKI.verifier().verify(leaf.chain())).isNotNull();
    }

    @Test
    void expired() {
        X509Certificate cert = PKI.leaf(ID).expired().issue().certificate();

        assertThat(cert.getNotAfter().toInstant()).isBefore(T0);
        assertRejected(PKI.leaf(ID).expired().issue(), Rule.EXPIRED);
    }

    @Test
    void notYetValid() {
        X509Certificate cert = PKI.leaf(ID).notYetValid().issue().certificate();

        assertThat(cert.getNotBefore().toInstant()).isAfter(T0);
        assertRejected(PKI.leaf(ID).notYetValid().issue(), Rule.NOT_YET_VALID);
    }

    @Test
    void expiresWithTheFakeClock() throws Exception {
        FakeClock clock = FakeClock.at(T0);
        TestPki pki = TestPki.builder().clock(clock).build();
        TestLeaf leaf = pki.leaf(ID).ttl(Duration.ofMinutes(30)).issue();

        assertThat(pki.verifier().verify(leaf.chain())).isNotNull();
        clock.advance(Duration.ofMinutes(31));
        assertThatThrownBy(() -> pki.verifier().verify(leaf.chain()))
                .isInstanceOfSatisfying(X509SvidValidationException.class, e -> assertThat(e.rule()).isEqualTo(Rule.EXPIRED));
    }

    @Test
    void wrongTrustDomain() {
        TestLeaf leaf = PKI.leaf(ID).wrongTrustDomain().issue();
        TestPki wrong = TestPki.builder().trustDomain("wrong.example").build();

        assertThat(uris(leaf.certificate())).containsExactly("spiffe://wrong.example/ns/a/sa/x");
        assertRejected(leaf, Rule.NO_BUNDLE);
        assertThatThrownBy(() -> X509SvidVerifier.create(BundleSource.of(PKI.bundle(), wrong.bundle()), CLOCK)
                .verify(leaf.chain()))
                .isInstanceOfSatisfying(X509SvidValidationException.class,
                        e -> assertThat(e.rule()).isEqualTo(Rule.UNTRUSTED));
        assertThat(uris(wrong.leaf("spiffe://wrong.example/w").wrongTrustDomain().issue().certificate()))
                .containsExactly("spiffe://other.example/w");
    }

    @Test
    void caFlagOnALeaf() {
        TestLeaf leaf = PKI.leaf(ID).caFlag().issue();

        assertThat(leaf.certificate().getBasicConstraints()).isGreaterThanOrEqualTo(0);
        assertRejected(leaf, Rule.LEAF_CA);
    }

    @Test
    void twoUriSans() {
        TestLeaf leaf = PKI.leaf(ID).extraUriSan("spiffe://cluster.local/ns/b/sa/y").issue();

        assertThat(uris(leaf.certificate())).containsExactly(ID, "spiffe://cluster.local/ns/b/sa/y");
        assertRejected(leaf, Rule.LEAF_URI_SAN);
    }

    @Test
    void noUriSan() {
        TestLeaf leaf = PKI.leaf(ID).noUriSan().issue();

        assertThat(uris(leaf.certificate())).isEmpty();
        assertThat(leaf.certificate().getSubjectX500Principal().getName()).isEqualTo("CN=no-uri-san");
        assertRejected(leaf, Rule.LEAF_URI_SAN);
    }

    @Test
    void dnsSanOnly() {
        TestLeaf leaf = PKI.leaf(ID).dnsSanOnly("web.example.org").issue();

        assertThat(uris(leaf.certificate())).isEmpty();
        assertThat(sans(leaf.certificate(), 2)).containsExactly("web.example.org");
        assertRejected(leaf, Rule.LEAF_URI_SAN);
    }

    @Test
    void keyCertSignOnALeaf() {
        TestLeaf leaf = PKI.leaf(ID).keyCertSign().issue();

        assertThat(leaf.certificate().getKeyUsage()[5]).isTrue();
        assertRejected(leaf, Rule.LEAF_KEY_USAGE);
    }

    @Test
    void withoutDigitalSignature() {
        TestLeaf ec = PKI.leaf(ID).withoutDigitalSignature().issue();
        TestLeaf rsa = PKI.leaf(ID).keyType(KeyType.RSA_2048).withoutDigitalSignature().issue();

        assertThat(ec.certificate().getKeyUsage()[0]).isFalse();
        assertThat(ec.certificate().getKeyUsage()[4]).isTrue();
        assertThat(rsa.certificate().getKeyUsage()[0]).isFalse();
        assertThat(rsa.certificate().getKeyUsage()[2]).isTrue();
        assertRejected(ec, Rule.LEAF_KEY_USAGE);
        assertRejected(rsa, Rule.LEAF_KEY_USAGE);
    }

    @Test
    void signedByUntrustedRoot() throws Exception {
        TestLeaf leaf = PKI.leaf(ID).signedByUntrustedRoot().issue();

        assertThat(leaf.issuer()).isNotEqualTo(PKI.intermediate());
        assertThat(leaf.issuer().getSubjectX500Principal()).isEqualTo(PKI.intermediate().getSubjectX500Principal());
        assertThat(leaf.certificate().getIssuerX500Principal()).isEqualTo(PKI.intermediate().getSubjectX500Principal());
        leaf.certificate().verify(leaf.issuer().getPublicKey());
        assertThatThrownBy(() -> leaf.certificate().verify(PKI.intermediate().getPublicKey()))
                .isInstanceOf(SignatureException.class);
        assertRejected(leaf, Rule.UNTRUSTED);
        assertThat(PKI.leaf(ID).signedByUntrustedRoot().issue().issuer()).isEqualTo(leaf.issuer());
    }

    @Test
    void weakRsa1024Key() {
        TestLeaf leaf = PKI.leaf(ID).weakRsa1024Key().issue();

        assertThat(((RSAPublicKey) leaf.publicKey()).getModulus().bitLength()).isEqualTo(1024);
        assertThatThrownBy(leaf::signingKey).isInstanceOf(WeakKeyException.class);
        assertRejected(leaf, Rule.WEAK_KEY);
    }

    @Test
    void tamperedSignature() {
        TestLeaf leaf = PKI.leaf(ID).tamperedSignature().issue();

        assertThatThrownBy(() -> leaf.certificate().verify(PKI.intermediate().getPublicKey()))
                .isInstanceOf(SignatureException.class);
        assertRejected(leaf, Rule.SIGNATURE);
    }

    @Test
    void certifiesAGivenKeyWithExactValidity() throws Exception {
        TestCsr csr = PKI.csr(ID).build();
        Instant from = T0.minus(Duration.ofMinutes(1));
        Instant to = T0.plus(Duration.ofMinutes(10));

        TestLeaf leaf = PKI.leaf(SpiffeId.parse(ID)).keyPair(csr.keyPair()).validity(from, to).issue();

        assertThat(leaf.publicKey()).isEqualTo(csr.keyPair().getPublic());
        assertThat(leaf.certificate().getNotBefore().toInstant()).isEqualTo(from);
        assertThat(leaf.certificate().getNotAfter().toInstant()).isEqualTo(to);
        assertThat(PKI.verifier().verify(leaf.chain())).isNotNull();
    }

    @Test
    void pemHelpersRoundTrip() {
        TestLeaf leaf = PKI.leaf(ID).issue();

        assertThat(Pem.decodeCertificates(leaf.chainPem())).containsExactlyElementsOf(leaf.chain());
        assertThat(Pem.decodeCertificate(leaf.certificatePem())).isEqualTo(leaf.certificate());
        assertThat(Pem.decodePrivateKey(leaf.privateKeyPem())).isEqualTo(leaf.privateKey());
        assertThat(Pem.decodeCertificates(PKI.caChainPem())).containsExactly(PKI.intermediate(), PKI.root());
        assertThat(Pem.decodeCertificate(PKI.rootPem())).isEqualTo(PKI.root());
        assertThat(Pem.decodePrivateKey(PKI.intermediateKeyPem())).isEqualTo(PKI.intermediateKeyPair().getPrivate());
        assertThat(leaf.toString()).doesNotContain(leaf.privateKeyPem().substring(40, 80));
    }

    @Test
    void bundleHoldsTheRoot() {
        Bundle bundle = PKI.bundle();

        assertThat(bundle.trustDomain()).isEqualTo(TrustDomain.CLUSTER_LOCAL);
        assertThat(bundle.x509Authorities()).containsExactly(PKI.root());
        assertThat(bundle.sequenceNumber()).hasValue(1);
        assertThat(BundleJson.parse(bundle.trustDomain(), BundleJson.encode(bundle))).isEqualTo(bundle);
    }

    @Test
    void eachPkiHasItsOwnRoot() {
        TestPki other = TestPki.builder().clock(CLOCK).build();

        assertThat(other.root().getSubjectX500Principal()).isNotEqualTo(PKI.root().getSubjectX500Principal());
        assertThatThrownBy(() -> other.verifier().verify(PKI.leaf(ID).issue().chain()))
                .isInstanceOfSatisfying(X509SvidValidationException.class,
                        e -> assertThat(e.rule()).isEqualTo(Rule.UNTRUSTED));
    }

    @Test
    void refusesBadArguments() {
        assertThatThrownBy(() -> PKI.leaf(ID).ttl(Duration.ZERO)).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("ttl: PT0S (expected: > 0)");
        assertThatThrownBy(() -> PKI.leaf(ID).validity(T0, T0)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("expected: after notBefore");
        assertThatThrownBy(() -> TestPki.builder().caTtl(Duration.ofDays(365))).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("caTtl: PT8760H (expected: > 0 and <= PT720H)");
        assertThatThrownBy(() -> TestPki.builder().trustDomain("Bad Domain")).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> PKI.leaf((String) null)).isInstanceOf(NullPointerException.class).hasMessage("uri");
    }

    private static void assertRejected(TestLeaf leaf, Rule rule) {
        assertThatThrownBy(() -> PKI.verifier().verify(leaf.chain()))
                .isInstanceOfSatisfying(X509SvidValidationException.class, e -> assertThat(e.rule()).isEqualTo(rule));
    }

    static List<String> uris(X509Certificate certificate) {
        return sans(certificate, 6);
    }

    static List<String> sans(X509Certificate certificate, int type) {
        List<String> values = new ArrayList<>();
        try {
            Collection<List<?>> sans = certificate.getSubjectAlternativeNames();
            if (sans != null) {
                for (List<?> san : sans) {
                    if (((Integer) san.get(0)) == type) {
                        values.add((String) san.get(1));
                    }
                }
            }
        } catch (java.security.cert.CertificateParsingException e) {
            throw new IllegalStateException(e);
        }
        return values;
    }
}
