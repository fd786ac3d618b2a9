package dev.keel.ca.crl;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.keel.ca.CaException;
import dev.keel.ca.SigningCa;
import dev.keel.identity.KeyType;
import dev.keel.identity.SignatureAlgorithm;
import dev.keel.identity.SigningException;
import dev.keel.identity.SigningKey;
import java.io.ByteArrayInputStream;
import java.math.BigInteger;
import java.nio.file.Path;
import java.security.PublicKey;
import java.security.cert.CRLReason;
import java.security.cert.CertificateFactory;
import java.security.cert.X509CRL;
import java.security.cert.X509CRLEntry;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import org.bouncycastle.asn1.ASN1Enumerated;
import org.bouncycastle.asn1.ASN1Integer;
import org.bouncycastle.asn1.x509.AuthorityKeyIdentifier;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.SubjectKeyIdentifier;
import org.bouncycastle.cert.X509CRLEntryHolder;
import org.bouncycastle.cert.X509CRLHolder;
import org.bouncycastle.operator.jcajce.JcaContentVerifierProviderBuilder;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

class CrlSignerTest {

    @TempDir
    Path dir;

    private TestCa ca;

    @AfterEach
    void close() {
        if (ca != null) {
            ca.close();
        }
    }

    @ParameterizedTest
    @EnumSource(value = KeyType.class, names = {"EC_P256", "EC_P384", "RSA_2048"})
    void aCrlParsesWithTheJdkAndBouncyCastleAndVerifiesWithTheIntermediatesPublicKey(KeyType keyType) throws Exception {
        ca = TestCa.create(dir, keyType);
        X509Certificate intermediate = ca.signingCa().certificate();
        Instant now = ca.clock.instant();
        SignedCrl signed = new CrlSigner(CrlSigner.DEFAULT_VALIDITY).sign(ca.signingCa(), new RevocationList.Snapshot(7,
                List.of(revocation(0x1234, RevocationReason.KEY_COMPROMISE, now.minusSeconds(60), null))), now);

        X509CRL jdk = (X509CRL) CertificateFactory.getInstance("X.509").generateCRL(new ByteArrayInputStream(signed.der()));
        jdk.verify(intermediate.getPublicKey());
        assertThat(jdk.getVersion()).isEqualTo(2);
        assertThat(jdk.getIssuerX500Principal()).isEqualTo(intermediate.getSubjectX500Principal());
        assertThat(jdk.getThisUpdate().toInstant()).isEqualTo(now);
        assertThat(jdk.getNextUpdate().toInstant()).isEqualTo(now.plus(Duration.ofHours(24)));
        assertThat(jdk.getSigAlgOID()).isEqualTo(ca.signingCa().signatureAlgorithm().oid());
        assertThat(jdk.getRevokedCertificate(BigInteger.valueOf(0x1234))).isNotNull();
        assertThat(jdk.getCriticalExtensionOIDs()).isEmpty();

        X509CRLHolder bc = new X509CRLHolder(signed.der());
        assertThat(bc.isSignatureValid(new JcaContentVerifierProviderBuilder().build(intermediate))).isTrue();
        assertThat(ASN1Integer.getInstance(bc.getExtension(Extension.cRLNumber).getParsedValue()).getValue())
                .isEqualTo(BigInteger.valueOf(7));
        byte[] ski = SubjectKeyIdentifier.fromExtensions(
                new org.bouncycastle.cert.X509CertificateHolder(intermediate.getEncoded()).getExtensions()).getKeyIdentifier();
        assertThat(AuthorityKeyIdentifier.fromExtensions(bc.getExtensions()).getKeyIdentifier()).isEqualTo(ski);
        assertThat(signed.pem()).startsWith("-----BEGIN X509 CRL-----");
    }

    @Test
    void entriesCarryTheirReasonCodeAndUnspecifiedCarriesNone() throws Exception {
        ca = TestCa.create(dir, KeyType.EC_P256);
        Instant now = ca.clock.instant();
        Instant at = now.minus(Duration.ofMinutes(3));
        SignedCrl signed = sign(now, 1, List.of(
                revocation(1, RevocationReason.UNSPECIFIED, at, null),
                revocation(2, RevocationReason.KEY_COMPROMISE, at, null),
                revocation(3, RevocationReason.CA_COMPROMISE, at, null),
                revocation(4, RevocationReason.SUPERSEDED, at, null),
                revocation(5, RevocationReason.CESSATION_OF_OPERATION, at, null),
                revocation(6, RevocationReason.PRIVILEGE_WITHDRAWN, at, null)));

        X509CRL crl = signed.crl();
        assertThat(crl.getRevokedCertificates()).hasSize(6);
        X509CRLEntry unspecified = crl.getRevokedCertificate(BigInteger.ONE);
        assertThat(unspecified.hasExtensions()).isFalse();
        assertThat(unspecified.getRevocationReason()).isNull();
        assertThat(unspecified.getRevocationDate().toInstant()).isEqualTo(at);
        assertThat(crl.getRevokedCertificate(BigInteger.TWO).getRevocationReason()).isEqualTo(CRLReason.KEY_COMPROMISE);
        assertThat(crl.getRevokedCertificate(BigInteger.valueOf(3)).getRevocationReason()).isEqualTo(CRLReason.CA_COMPROMISE);
        assertThat(crl.getRevokedCertificate(BigInteger.valueOf(4)).getRevocationReason()).isEqualTo(CRLReason.SUPERSEDED);
        assertThat(crl.getRevokedCertificate(BigInteger.valueOf(5)).getRevocationReason())
                .isEqualTo(CRLReason.CESSATION_OF_OPERATION);
        assertThat(crl.getRevokedCertificate(BigInteger.valueOf(6)).getRevocationReason())
                .isEqualTo(CRLReason.PRIVILEGE_WITHDRAWN);
        // The same, read independently of the JDK: the ENUMERATED value RFC 5280 5.3.1 assigns.
        X509CRLEntryHolder entry = new X509CRLHolder(signed.der()).getRevokedCertificate(BigInteger.valueOf(6));
        assertThat(entry.getExtension(Extension.reasonCode).isCritical()).isFalse();
        assertThat(ASN1Enumerated.getInstance(entry.getExtension(Extension.reasonCode).getParsedValue()).intValueExact())
                .isEqualTo(9);
    }

    @Test
    void anExpiredCertificateLeavesTheCrlOnceItExpiredMoreThanOneValidityAgo() throws Exception {
        ca = TestCa.create(dir, KeyType.EC_P256);
        Instant now = ca.clock.instant();
        Instant revoked = now.minus(Duration.ofDays(3));
        SignedCrl signed = sign(now, 1, List.of(
                revocation(10, RevocationReason.KEY_COMPROMISE, revoked, now.plus(Duration.ofHours(5))),
                revocation(11, RevocationReason.KEY_COMPROMISE, revoked, now.minus(Duration.ofHours(1))),
                revocation(12, RevocationReason.KEY_COMPROMISE, revoked, now.minus(Duration.ofHours(25))),
                revocation(13, RevocationReason.KEY_COMPROMISE, revoked, null)));

        assertThat(signed.crl().getRevokedCertificates()).extracting(X509CRLEntry::getSerialNumber)
                .containsExactlyInAnyOrder(BigInteger.valueOf(10), BigInteger.valueOf(11), BigInteger.valueOf(13));
        assertThat(signed.entries()).isEqualTo(3);
    }

    @Test
    void anEmptyListStillMakesAValidCrl() throws Exception {
        ca = TestCa.create(dir, KeyType.EC_P256);
        SignedCrl signed = sign(ca.clock.instant(), 1, List.of());
        assertThat(signed.crl().getRevokedCertificates()).isNull();
        signed.crl().verify(ca.signingCa().certificate().getPublicKey());
    }

    @Test
    void nextUpdateNeverPassesTheIssuingCertificatesExpiry() throws Exception {
        ca = TestCa.create(dir, KeyType.EC_P256);
        Instant expiry = ca.signingCa().certificate().getNotAfter().toInstant();
        SignedCrl signed = new CrlSigner(Duration.ofDays(30)).sign(ca.signingCa(), new RevocationList.Snapshot(1, List.of()),
                expiry.minus(Duration.ofDays(2)));
        assertThat(signed.nextUpdate()).isEqualTo(expiry);

        assertThatThrownBy(() -> sign(expiry.plusSeconds(1), 2, List.of()))
                .isInstanceOfSatisfying(CaException.class,
                        e -> assertThat(e.code()).isEqualTo(CaException.Code.FAILED_PRECONDITION))
                .hasMessageContaining("expired");
    }

    @Test
    void aKeyThatCannotBeReachedRefusesWithUnavailableAndReturnsNothing() throws Exception {
        ca = TestCa.create(dir, KeyType.EC_P256);
        FlakyKey key = new FlakyKey(ca.signingCa().key());
        SigningCa withFlakyKey = withKey(key);
        key.failure = new SigningException("token removed", true);

        assertThatThrownBy(() -> new CrlSigner(CrlSigner.DEFAULT_VALIDITY).sign(withFlakyKey,
                new RevocationList.Snapshot(1, List.of()), ca.clock.instant()))
                .isInstanceOfSatisfying(CaException.class, e -> assertThat(e.code()).isEqualTo(CaException.Code.UNAVAILABLE))
                .hasMessageContaining(key.id()).hasMessageContaining("token removed");
    }

    @Test
    void aSignatureThatDoesNotVerifyIsCaughtBeforeTheCrlIsReturned() throws Exception {
        ca = TestCa.create(dir, KeyType.EC_P256);
        FlakyKey key = new FlakyKey(ca.signingCa().key());
        SigningCa withFlakyKey = withKey(key);
        key.signSomethingElse = true;

        assertThatThrownBy(() -> new CrlSigner(CrlSigner.DEFAULT_VALIDITY).sign(withFlakyKey,
                new RevocationList.Snapshot(1, List.of()), ca.clock.instant()))
                .isInstanceOfSatisfying(CaException.class, e -> assertThat(e.code()).isEqualTo(CaException.Code.INTERNAL))
                .hasMessageContaining("does not verify");
    }

    private SigningCa withKey(SigningKey key) {
        SigningCa real = ca.signingCa();
        return SigningCa.of(real.trustDomain(), real.chain(), real.roots(), key, ca.clock.instant());
    }

    /** The CA's key, until the test breaks it: unreachable, or signing other bytes than asked. */
    private static final class FlakyKey implements SigningKey {
        private final SigningKey key;
        volatile SigningException failure;
        volatile boolean signSomethingElse;

        FlakyKey(SigningKey key) {
            this.key = key;
        }

        @Override
        public String id() {
            return "pkcs11:token=flaky;object=ca";
        }

        @Override
        public PublicKey publicKey() {
            return key.publicKey();
        }

        @Override
        public byte[] sign(SignatureAlgorithm algorithm, byte[] data) throws SigningException {
            if (failure != null) {
                throw failure;
            }
            return key.sign(algorithm, signSomethingElse ? new byte[] {1, 2, 3} : data);
        }
    }

    @Test
    void validityAndNumberAreChecked() throws Exception {
        assertThatThrownBy(() -> new CrlSigner(Duration.ofSeconds(30))).hasMessage("validity: PT30S (expected: 1m to 30d)");
        assertThatThrownBy(() -> new CrlSigner(Duration.ofDays(31))).hasMessage("validity: PT744H (expected: 1m to 30d)");
        ca = TestCa.create(dir, KeyType.EC_P256);
        assertThatThrownBy(() -> sign(ca.clock.instant(), 0, List.of())).isInstanceOf(CaException.class)
                .hasMessageContaining("expected: >= 1");
    }

    private SignedCrl sign(Instant now, long number, List<Revocation> revocations) throws CaException {
        return new CrlSigner(CrlSigner.DEFAULT_VALIDITY).sign(ca.signingCa(), new RevocationList.Snapshot(number, revocations),
                now);
    }

    static Revocation revocation(long serial, RevocationReason reason, Instant at, Instant notAfter) {
        return new Revocation(BigInteger.valueOf(serial), reason, at, Optional.ofNullable(notAfter),
                Optional.ofNullable(notAfter).map(x -> "spiffe://example.org/ns/default/sa/s" + serial));
    }
}
