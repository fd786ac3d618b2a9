package dev.keel.identity;

import static dev.keel.identity.TestCerts.NOW;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.keel.identity.X509SvidValidationException.Rule;
import java.security.KeyPairGenerator;
import java.security.PublicKey;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.junit.jupiter.api.Test;

class X509SvidVerifierTest {

    private static final String ID = "spiffe://example.org/ns/a/sa/x";
    private static final TestCerts.Ca ROOT = TestCerts.root("example.org", KeyType.EC_P256);
    private static final TestCerts.Ca INTERMEDIATE = TestCerts.intermediate(ROOT, "example.org", KeyType.EC_P256);
    private static final PublicKey KEY = KeyPairs.generate(KeyType.EC_P256).getPublic();
    private static final Bundle BUNDLE = Bundle.of(TrustDomain.parse("example.org"), List.of(ROOT.certificate()));
    private static final X509SvidVerifier VERIFIER =
            X509SvidVerifier.create(BundleSource.of(BUNDLE), Clock.fixed(NOW, ZoneOffset.UTC));

    private static TestCerts.Builder leaf() {
        return TestCerts.builder(KEY).uri(ID).keyUsage(KeyUsage.digitalSignature | KeyUsage.keyEncipherment)
                .issuer(INTERMEDIATE);
    }

    @Test
    void acceptsAGoodChain() throws Exception {
        X509Certificate leaf = leaf().build();

        X509Svid svid = VERIFIER.verify(List.of(leaf, INTERMEDIATE.certificate()));

        assertThat(svid.spiffeId()).isEqualTo(SpiffeId.parse(ID));
        assertThat(svid.chain()).containsExactly(leaf, INTERMEDIATE.certificate());
    }

    @Test
    void dropsTheRootWhenThePeerSendsIt() throws Exception {
        X509Svid svid = VERIFIER.verify(List.of(leaf().build(), INTERMEDIATE.certificate(), ROOT.certificate()));

        assertThat(svid.chain()).hasSize(2);
    }

    @Test
    void acceptsLeavesIssuedByTheRootAndRsaHierarchies() throws Exception {
        X509Certificate direct = TestCerts.leaf(ROOT, ID, KEY);
        TestCerts.Ca rsaRoot = TestCerts.root("rsa.example", KeyType.RSA_2048);
        TestCerts.Ca rsaIntermediate = TestCerts.intermediate(rsaRoot, "rsa.example", KeyType.RSA_3072);
        X509Certificate rsaLeaf = TestCerts.leaf(rsaIntermediate, "spiffe://rsa.example/w",
                KeyPairs.generate(KeyType.RSA_2048).getPublic());
        X509SvidVerifier verifier = X509SvidVerifier.create(
                BundleSource.of(BUNDLE, Bundle.of(TrustDomain.parse("rsa.example"), List.of(rsaRoot.certificate()))));

        assertThat(VERIFIER.verify(List.of(direct)).spiffeId().toString()).isEqualTo(ID);
        assertThat(verifier.verify(List.of(rsaLeaf, rsaIntermediate.certificate()), NOW).spiffeId().toString())
                .isEqualTo("spiffe://rsa.example/w");
    }

    @Test
    void leafMustHaveExactlyOneUriSan() {
        assertRejected(TestCerts.builder(KEY).subject("CN=x").dns("x.example.org")
                        .keyUsage(KeyUsage.digitalSignature).issuer(INTERMEDIATE).build(),
                Rule.LEAF_URI_SAN, "has 0 URI SANs (expected: exactly one)");
        assertRejected(TestCerts.builder(KEY).subject("CN=x").keyUsage(KeyUsage.digitalSignature).issuer(INTERMEDIATE)
                .build(), Rule.LEAF_URI_SAN, "has 0 URI SANs");
        assertRejected(leaf().uri("spiffe://example.org/other").build(), Rule.LEAF_URI_SAN, "has 2 URI SANs");
    }

    @Test
    void leafSpiffeIdMustBeValidWithAPath() {
        assertRejected(TestCerts.builder(KEY).uri("https://example.org/x").keyUsage(KeyUsage.digitalSignature)
                .issuer(INTERMEDIATE).build(), Rule.LEAF_SPIFFE_ID, "does not start with \"spiffe://\"");
        assertRejected(TestCerts.builder(KEY).uri("spiffe://example.org/a/").keyUsage(KeyUsage.digitalSignature)
                .issuer(INTERMEDIATE).build(), Rule.LEAF_SPIFFE_ID, "trailing slash");
        assertRejected(TestCerts.builder(KEY).uri("spiffe://example.org").keyUsage(KeyUsage.digitalSignature)
                .issuer(INTERMEDIATE).build(), Rule.LEAF_SPIFFE_ID, "has no path");
    }

    @Test
    void leafMustNotBeACa() {
        assertRejected(leaf().ca(-1).build(), Rule.LEAF_CA, "is a CA certificate (expected: CA:false)");
        assertRejected(leaf().ca(0).build(), Rule.LEAF_CA, "CA:false");
    }

    @Test
    void leafKeyUsageMustBeDigitalSignatureOnly() {
        assertRejected(TestCerts.builder(KEY).uri(ID).issuer(INTERMEDIATE).build(), Rule.LEAF_KEY_USAGE,
                "has no key usage extension");
        assertRejected(leaf().keyUsage(KeyUsage.keyEncipherment).build(), Rule.LEAF_KEY_USAGE,
                "lacks key usage digitalSignature");
        assertRejected(leaf().keyUsage(KeyUsage.digitalSignature | KeyUsage.keyCertSign).build(), Rule.LEAF_KEY_USAGE,
                "has key usage keyCertSign (not allowed on a leaf)");
        assertRejected(leaf().keyUsage(KeyUsage.digitalSignature | KeyUsage.cRLSign).build(), Rule.LEAF_KEY_USAGE,
                "has key usage cRLSign");
    }

    @Test
    void signingCertificatesMustBeCasWithKeyCertSign() {
        TestCerts.Ca notCa = new TestCerts.Ca(TestCerts.builder(INTERMEDIATE.key().publicKey()).subject("CN=not a CA")
                .uri("spiffe://example.org").keyUsage(KeyUsage.keyCertSign).issuer(ROOT).build(), INTERMEDIATE.key());
        TestCerts.Ca noKeyCertSign = new TestCerts.Ca(TestCerts.builder(INTERMEDIATE.key().publicKey())
                .subject("CN=no keyCertSign").uri("spiffe://example.org").ca(0).keyUsage(KeyUsage.cRLSign)
                .issuer(ROOT).build(), INTERMEDIATE.key());

        assertThatRejected(List.of(TestCerts.leaf(notCa, ID, KEY), notCa.certificate()), Rule.SIGNING_CERTIFICATE,
                "certificate [1] serial");
        assertThatRejected(List.of(TestCerts.leaf(notCa, ID, KEY), notCa.certificate()), Rule.SIGNING_CERTIFICATE,
                "is not a CA (expected: CA:true)");
        assertThatRejected(List.of(TestCerts.leaf(noKeyCertSign, ID, KEY), noKeyCertSign.certificate()),
                Rule.SIGNING_CERTIFICATE, "lacks key usage keyCertSign");
    }

    @Test
    void refusesWeakKeys() throws Exception {
        KeyPairGenerator generator = KeyPairGenerator.getInstance("RSA");
        generator.initialize(1024);
        PublicKey weak = generator.generateKeyPair().getPublic();

        assertRejected(TestCerts.builder(weak).uri(ID).keyUsage(KeyUsage.digitalSignature).issuer(INTERMEDIATE).build(),
                Rule.WEAK_KEY, "RSA key of 1024 bits (expected: >= 2048)");
    }

    @Test
    void needsABundleWithX509AuthoritiesForTheLeafsTrustDomain() {
        X509Certificate other = TestCerts.builder(KEY).uri("spiffe://other.org/w").keyUsage(KeyUsage.digitalSignature)
                .issuer(INTERMEDIATE).build();
        TrustDomain td = TrustDomain.parse("example.org");

        assertThatRejected(List.of(other, INTERMEDIATE.certificate()), Rule.NO_BUNDLE, "no bundle for trust domain other.org");
        assertThatThrownBy(() -> X509SvidVerifier.create(t -> Optional.of(Bundle.builder(td).build()))
                .verify(List.of(leaf().build()), NOW))
                .isInstanceOfSatisfying(X509SvidValidationException.class, e -> assertThat(e.rule()).isEqualTo(Rule.NO_BUNDLE))
                .hasMessageContaining("has no X.509 authorities");
        assertThatThrownBy(() -> X509SvidVerifier.create(t -> Optional.of(BUNDLE)).verify(List.of(other), NOW))
                .isInstanceOfSatisfying(X509SvidValidationException.class, e -> assertThat(e.rule()).isEqualTo(Rule.NO_BUNDLE))
                .hasMessageContaining("returned the bundle of example.org for trust domain other.org");
    }

    @Test
    void leafOfAnotherTrustDomainDoesNotVerifyUnderItsOwnBundle() {
        TestCerts.Ca otherRoot = TestCerts.root("other.org", KeyType.EC_P256);
        X509Certificate leaf = TestCerts.leaf(INTERMEDIATE, "spiffe://other.org/w", KEY);
        X509SvidVerifier verifier = X509SvidVerifier.create(BundleSource.of(BUNDLE,
                Bundle.of(TrustDomain.parse("other.org"), List.of(otherRoot.certificate()))));

        assertThatThrownBy(() -> verifier.verify(List.of(leaf, INTERMEDIATE.certificate()), NOW))
                .isInstanceOfSatisfying(X509SvidValidationException.class, e -> assertThat(e.rule()).isEqualTo(Rule.UNTRUSTED))
                .hasMessageContaining("does not verify up to the X.509 authorities of trust domain other.org");
    }

    @Test
    void checksValidityAtTheGivenTime() throws Exception {
        X509Certificate leaf = leaf().validity(NOW.minus(Duration.ofHours(2)), NOW.minus(Duration.ofSeconds(1))).build();
        X509Certificate future = leaf().validity(NOW.plusSeconds(60), NOW.plus(Duration.ofHours(1))).build();

        assertRejected(leaf, Rule.EXPIRED, "certificate [0] (leaf " + ID + ") expired at");
        assertRejected(future, Rule.NOT_YET_VALID, "is not valid before");
        assertThat(VERIFIER.verify(List.of(leaf, INTERMEDIATE.certificate()), NOW.minus(Duration.ofHours(1)))).isNotNull();
        assertThat(X509SvidVerifier.create(BundleSource.of(BUNDLE), Clock.fixed(NOW.minusSeconds(30), ZoneOffset.UTC))
                .verify(List.of(leaf, INTERMEDIATE.certificate()))).isNotNull();
    }

    @Test
    void expiredIntermediatesAndAuthoritiesAreRejected() {
        Instant past = NOW.minus(Duration.ofHours(3));
        TestCerts.Ca expiredIntermediate = new TestCerts.Ca(TestCerts.builder(INTERMEDIATE.key().publicKey())
                .subject("CN=expired intermediate").ca(0).keyUsage(KeyUsage.keyCertSign).validity(past, NOW.minusSeconds(1))
                .issuer(ROOT).build(), INTERMEDIATE.key());
        SigningKey rootKey = SoftwareSigningKey.generate("old-root", KeyType.EC_P256);
        TestCerts.Ca expiredRoot = new TestCerts.Ca(TestCerts.builder(rootKey.publicKey()).subject("CN=old root").ca(-1)
                .keyUsage(KeyUsage.keyCertSign).validity(past, NOW.minusSeconds(1)).selfSigned(rootKey).build(), rootKey);
        X509SvidVerifier verifier = X509SvidVerifier.create(BundleSource.of(
                Bundle.of(TrustDomain.parse("example.org"), List.of(ROOT.certificate(), expiredRoot.certificate()))));

        assertThatRejected(List.of(TestCerts.leaf(expiredIntermediate, ID, KEY), expiredIntermediate.certificate()),
                Rule.EXPIRED, "certificate [1] expired at");
        assertThatThrownBy(() -> verifier.verify(List.of(TestCerts.leaf(expiredRoot, ID, KEY)), NOW))
                .isInstanceOfSatisfying(X509SvidValidationException.class, e -> assertThat(e.rule()).isEqualTo(Rule.EXPIRED))
                .hasMessageContaining("X.509 authority serial");
    }

    @Test
    void tamperedSignaturesAreRejected() {
        X509Certificate tampered = TestCerts.tampered(leaf().build());

        assertThatRejected(List.of(tampered, INTERMEDIATE.certificate()), Rule.SIGNATURE,
                "the signature of certificate [0] in the chain of " + ID + " does not verify");
    }

    @Test
    void chainsToOtherRootsAreUntrusted() {
        TestCerts.Ca stranger = TestCerts.root("example.org", KeyType.EC_P256);
        TestCerts.Ca strangerIntermediate = TestCerts.intermediate(stranger, "example.org", KeyType.EC_P256);
        SigningKey impostorKey = SoftwareSigningKey.generate("impostor", KeyType.EC_P256);
        X509Certificate impostorRoot = TestCerts.builder(impostorKey.publicKey())
                .subject(ROOT.certificate().getSubjectX500Principal().getName()).uri("spiffe://example.org").ca(-1)
                .keyUsage(KeyUsage.keyCertSign).selfSigned(impostorKey).build();
        TestCerts.Ca impostorIntermediate = TestCerts.intermediate(new TestCerts.Ca(impostorRoot, impostorKey),
                "example.org", KeyType.EC_P256);

        assertThatRejected(List.of(TestCerts.leaf(strangerIntermediate, ID, KEY), strangerIntermediate.certificate()),
                Rule.UNTRUSTED, "does not verify up to the X.509 authorities of trust domain example.org");
        // Same issuer name as the real root, different key: caught by the signature check against the authority.
        assertThatRejected(List.of(TestCerts.leaf(impostorIntermediate, ID, KEY), impostorIntermediate.certificate()),
                Rule.UNTRUSTED, "does not verify up to");
        assertThatRejected(List.of(TestCerts.leaf(stranger, ID, KEY), stranger.certificate()), Rule.UNTRUSTED,
                "does not verify up to");
    }

    @Test
    void emptyChainsAreRejected() {
        assertThatRejected(List.of(), Rule.EMPTY_CHAIN, "the chain is empty");
        assertThatRejected(Arrays.asList(leaf().build(), null), Rule.EMPTY_CHAIN, "contains null");
    }

    @Test
    void theExceptionIsACertificateExceptionNamingTheRule() {
        assertThatThrownBy(() -> VERIFIER.verify(List.of(leaf().ca(-1).build(), INTERMEDIATE.certificate())))
                .isInstanceOf(CertificateException.class)
                .hasMessageStartingWith("X.509-SVID rejected [LEAF_CA]: leaf " + ID);
    }

    private static void assertRejected(X509Certificate leaf, Rule rule, String fragment) {
        assertThatRejected(List.of(leaf, INTERMEDIATE.certificate()), rule, fragment);
    }

    private static void assertThatRejected(List<X509Certificate> chain, Rule rule, String fragment) {
        assertThatThrownBy(() -> VERIFIER.verify(chain))
                .isInstanceOfSatisfying(X509SvidValidationException.class, e -> assertThat(e.rule()).isEqualTo(rule))
                .hasMessageContaining(fragment);
    }
}
