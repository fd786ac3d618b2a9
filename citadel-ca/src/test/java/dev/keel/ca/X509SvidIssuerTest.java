package dev.keel.ca;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.keel.identity.KeyPairs;
import dev.keel.identity.KeyType;
import dev.keel.identity.SignatureAlgorithm;
import dev.keel.identity.SigningException;
import dev.keel.identity.SigningKey;
import dev.keel.identity.SpiffeId;
import dev.keel.identity.TrustDomain;
import java.math.BigInteger;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PublicKey;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.Collection;
import java.util.List;
import org.bouncycastle.asn1.ASN1OctetString;
import org.bouncycastle.asn1.x509.AuthorityKeyIdentifier;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.SubjectKeyIdentifier;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The leaf X.509-SVID rules of ARCHITECTURE.md ("Identity rules"), one by one. */
class X509SvidIssuerTest {

    static final SpiffeId ORDERS = SpiffeId.parse("spiffe://cluster.local/ns/default/sa/orders");

    @TempDir
    static Path dir;

    static CaDirectory.LoadedCa ca;

    @BeforeAll
    static void createCa() throws Exception {
        ca = CaDirectory.initSelfSigned(dir.resolve("ca"), TrustDomain.CLUSTER_LOCAL, KeyType.EC_P256, Clock.systemUTC());
    }

    private static X509SvidIssuer issuer(Clock clock) {
        return new X509SvidIssuer(ca.signingCa(), IssuancePolicy.DEFAULT, clock);
    }

    private static IssuedX509Svid issue(PublicKey key, Duration ttl) throws CaException {
        return issuer(Clock.systemUTC()).issue(new X509SvidParams(ORDERS, key, ttl));
    }

    @Test
    void leafCarriesExactlyOneUriSanAndIsNotACa() throws Exception {
        X509Certificate leaf = issue(KeyPairs.generate(KeyType.EC_P256).getPublic(), Duration.ZERO).leaf();
        Collection<List<?>> sans = leaf.getSubjectAlternativeNames();
        assertThat(sans).hasSize(1);
        assertThat(new java.util.ArrayList<Object>(sans.iterator().next())).containsExactly(6, ORDERS.toString());
        assertThat(leaf.getCriticalExtensionOIDs()).contains(Extension.subjectAlternativeName.getId());
        assertThat(leaf.getBasicConstraints()).isEqualTo(-1);
        assertThat(leaf.getCriticalExtensionOIDs()).contains(Extension.basicConstraints.getId());
    }

    @Test
    void ecLeafHasDigitalSignatureOnlyAndBothEkus() throws Exception {
        X509Certificate leaf = issue(KeyPairs.generate(KeyType.EC_P256).getPublic(), Duration.ZERO).leaf();
        boolean[] usage = leaf.getKeyUsage();
        assertThat(usage[0]).as("digitalSignature").isTrue();
        assertThat(usage[2]).as("keyEncipherment").isFalse();
        assertThat(usage[5]).as("keyCertSign").isFalse();
        assertThat(usage[6]).as("cRLSign").isFalse();
        assertThat(leaf.getExtendedKeyUsage()).containsExactlyInAnyOrder("1.3.6.1.5.5.7.3.1", "1.3.6.1.5.5.7.3.2");
    }

    @Test
    void rsaLeafAlsoHasKeyEncipherment() throws Exception {
        X509Certificate leaf = issue(KeyPairs.generate(KeyType.RSA_2048).getPublic(), Duration.ZERO).leaf();
        assertThat(leaf.getKeyUsage()[0]).isTrue();
        assertThat(leaf.getKeyUsage()[2]).isTrue();
    }

    @Test
    void serialIsRandomAndAtMost128Bits() throws Exception {
        PublicKey key = KeyPairs.generate(KeyType.EC_P256).getPublic();
        BigInteger a = issue(key, Duration.ZERO).serial();
        BigInteger b = issue(key, Duration.ZERO).serial();
        assertThat(a).isNotEqualTo(b);
        assertThat(a.signum()).isPositive();
        assertThat(a.bitLength()).isLessThanOrEqualTo(128).isGreaterThan(64);
    }

    @Test
    void authorityKeyIdentifierIsTheCasSubjectKeyIdentifier() throws Exception {
        X509Certificate leaf = issue(KeyPairs.generate(KeyType.EC_P256).getPublic(), Duration.ZERO).leaf();
        byte[] aki = AuthorityKeyIdentifier.getInstance(ASN1OctetString.getInstance(
                leaf.getExtensionValue(Extension.authorityKeyIdentifier.getId())).getOctets()).getKeyIdentifierOctets();
        byte[] caSki = SubjectKeyIdentifier.getInstance(ASN1OctetString.getInstance(
                ca.signingCa().certificate().getExtensionValue(Extension.subjectKeyIdentifier.getId())).getOctets())
                .getKeyIdentifier();
        assertThat(aki).isEqualTo(caSki);
        assertThat(leaf.getExtensionValue(Extension.subjectKeyIdentifier.getId())).isNotNull();
    }

    @Test
    void defaultTtlIs24Hours() throws Exception {
        // Inside the test CA's validity, which starts at the real time it was made: never a fixed date.
        Instant now = Instant.now().truncatedTo(java.time.temporal.ChronoUnit.SECONDS).plus(Duration.ofMinutes(5));
        IssuedX509Svid svid = issuer(Clock.fixed(now, ZoneOffset.UTC))
                .issue(new X509SvidParams(ORDERS, KeyPairs.generate(KeyType.EC_P256).getPublic(), Duration.ZERO));
        assertThat(svid.notAfter()).isEqualTo(now.plus(Duration.ofHours(24)));
        assertThat(svid.leaf().getNotAfter().toInstant()).isEqualTo(svid.notAfter());
        assertThat(svid.leaf().getNotBefore().toInstant()).isEqualTo(now.minus(IssuancePolicy.DEFAULT.backdate()));
    }

    @Test
    void requestedTtlIsHonouredAndCappedToTheMaximum() throws Exception {
        // Inside the test CA's validity, which starts at the real time it was made: never a fixed date.
        Instant now = Instant.now().truncatedTo(java.time.temporal.ChronoUnit.SECONDS).plus(Duration.ofMinutes(5));
        X509SvidIssuer issuer = new X509SvidIssuer(ca.signingCa(),
                IssuancePolicy.DEFAULT.withMaxTtl(Duration.ofHours(48)), Clock.fixed(now, ZoneOffset.UTC));
        PublicKey key = KeyPairs.generate(KeyType.EC_P256).getPublic();
        assertThat(issuer.issue(new X509SvidParams(ORDERS, key, Duration.ofMinutes(10))).notAfter())
                .isEqualTo(now.plus(Duration.ofMinutes(10)));
        assertThat(issuer.issue(new X509SvidParams(ORDERS, key, Duration.ofDays(30))).notAfter())
                .isEqualTo(now.plus(Duration.ofHours(48)));
    }

    @Test
    void neverOutlivesTheSigningCa() throws Exception {
        Instant caExpiry = ca.signingCa().certificate().getNotAfter().toInstant();
        Instant now = caExpiry.minus(Duration.ofHours(2));
        IssuedX509Svid svid = issuer(Clock.fixed(now, ZoneOffset.UTC))
                .issue(new X509SvidParams(ORDERS, KeyPairs.generate(KeyType.EC_P256).getPublic(), Duration.ofHours(24)));
        assertThat(svid.notAfter()).isEqualTo(caExpiry);
    }

    @Test
    void anExpiredIssuingCaRefusesInsteadOfIssuingDeadCertificates() {
        Instant afterExpiry = ca.signingCa().certificate().getNotAfter().toInstant().plusSeconds(30);
        assertThatThrownBy(() -> issuer(Clock.fixed(afterExpiry, ZoneOffset.UTC))
                .issue(new X509SvidParams(ORDERS, KeyPairs.generate(KeyType.EC_P256).getPublic(), Duration.ZERO)))
                .isInstanceOfSatisfying(CaException.class, e -> assertThat(e.code()).isEqualTo(CaException.Code.UNAVAILABLE))
                .hasMessageContaining("can no longer issue");
    }

    @Test
    void chainIsLeafThenIntermediateWithoutTheRoot() throws Exception {
        IssuedX509Svid svid = issue(KeyPairs.generate(KeyType.EC_P256).getPublic(), Duration.ZERO);
        assertThat(svid.chain()).hasSize(2);
        assertThat(svid.chain().get(1)).isEqualTo(ca.signingCa().certificate());
        svid.leaf().verify(ca.signingCa().certificate().getPublicKey());
    }

    @Test
    void absurdTtlIsRefused() {
        assertThatThrownBy(() -> issue(KeyPairs.generate(KeyType.EC_P256).getPublic(), Duration.ofDays(365 * 20)))
                .isInstanceOfSatisfying(CaException.class, e -> assertThat(e.code()).isEqualTo(CaException.Code.INVALID_ARGUMENT))
                .hasMessageContaining("ttl");
    }

    @Test
    void weakKeysAreRefused() throws Exception {
        KeyPairGenerator rsa = KeyPairGenerator.getInstance("RSA");
        rsa.initialize(1024);
        assertThatThrownBy(() -> issue(rsa.generateKeyPair().getPublic(), Duration.ZERO))
                .isInstanceOfSatisfying(CaException.class, e -> assertThat(e.code()).isEqualTo(CaException.Code.INVALID_ARGUMENT))
                .hasMessageContaining("1024 bits");
        KeyPairGenerator ec = KeyPairGenerator.getInstance("EC");
        ec.initialize(new java.security.spec.ECGenParameterSpec("secp521r1"));
        assertThatThrownBy(() -> issue(ec.generateKeyPair().getPublic(), Duration.ZERO))
                .isInstanceOf(CaException.class).hasMessageContaining("P-256 or P-384");
    }

    @Test
    void identityOutsideTheTrustDomainIsRefused() {
        SpiffeId foreign = SpiffeId.parse("spiffe://evil.example/ns/default/sa/orders");
        assertThatThrownBy(() -> issuer(Clock.systemUTC())
                .issue(new X509SvidParams(foreign, KeyPairs.generate(KeyType.EC_P256).getPublic(), Duration.ZERO)))
                .isInstanceOfSatisfying(CaException.class, e -> assertThat(e.code()).isEqualTo(CaException.Code.PERMISSION_DENIED))
                .hasMessageContaining("evil.example");
    }

    @Test
    void keyBackendOutageIsUnavailableAndNeverFallsBack() throws Exception {
        SigningKey real = ca.signingCa().key();
        boolean[] down = {false};
        SigningKey flaky = new SigningKey() {
            @Override
            public String id() {
                return "pkcs11:token=test";
            }

            @Override
            public PublicKey publicKey() {
                return real.publicKey();
            }

            @Override
            public byte[] sign(SignatureAlgorithm algorithm, byte[] data) throws SigningException {
                if (down[0]) {
                    throw new SigningException("token not present", true);
                }
                return real.sign(algorithm, data);
            }
        };
        SigningCa signingCa = SigningCa.of(TrustDomain.CLUSTER_LOCAL, ca.signingCa().chain(), ca.signingCa().roots(), flaky,
                Instant.now());
        X509SvidIssuer issuer = new X509SvidIssuer(signingCa, IssuancePolicy.DEFAULT, Clock.systemUTC());
        down[0] = true;
        assertThatThrownBy(() -> issuer.issue(new X509SvidParams(ORDERS, KeyPairs.generate(KeyType.EC_P256).getPublic(),
                Duration.ZERO)))
                .isInstanceOfSatisfying(CaException.class, e -> assertThat(e.code()).isEqualTo(CaException.Code.UNAVAILABLE))
                .hasMessageContaining("token not present");
    }

    @Test
    void signingCaRefusesAKeyThatDoesNotMatchItsCertificate() {
        KeyPair other = KeyPairs.generate(KeyType.EC_P256);
        assertThatThrownBy(() -> SigningCa.of(TrustDomain.CLUSTER_LOCAL, ca.signingCa().chain(), ca.signingCa().roots(),
                dev.keel.identity.SoftwareSigningKey.of("file:other.pem", other), Instant.now()))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("does not match the CA certificate");
    }

    @Test
    void opensslVerifiesTheIssuedChain() throws Exception {
        IssuedX509Svid svid = issue(KeyPairs.generate(KeyType.EC_P256).getPublic(), Duration.ZERO);
        Path chain = dir.resolve("chain.pem");
        dev.keel.ca.internal.PemFiles.writeCertificates(chain, svid.chain());
        OpenSsl.Result result = OpenSsl.run("verify", "-CAfile", ca.dir().resolve(CaDirectory.ROOT_CERT).toString(),
                "-untrusted", chain.toString(), chain.toString());
        assertThat(result.output()).contains(": OK");
        assertThat(result.exitCode()).isZero();
    }
}
