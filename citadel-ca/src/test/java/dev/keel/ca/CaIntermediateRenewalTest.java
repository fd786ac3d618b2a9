package dev.keel.ca;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.keel.identity.KeyType;
import dev.keel.identity.Pem;
import dev.keel.identity.TrustDomain;
import dev.keel.testing.FakeClock;
import dev.keel.testing.TestCsr;
import dev.keel.testing.TestPki;
import java.io.IOException;
import java.math.BigInteger;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Date;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicInteger;
import org.bouncycastle.asn1.ASN1ObjectIdentifier;
import org.bouncycastle.asn1.pkcs.Attribute;
import org.bouncycastle.asn1.pkcs.PKCSObjectIdentifiers;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.Extensions;
import org.bouncycastle.cert.X509v3CertificateBuilder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.bouncycastle.pkcs.PKCS10CertificationRequest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Renewal of the issuing intermediate with a new key every time: keys held outside the directory
 * (a {@code mem:} custodian stands in for the HSM and Vault Transit), and a CA under an upstream
 * authority (an in-test one that signs CSRs with a test root, as Vault's PKI engine does), renewed at
 * half its lifetime with the old intermediate kept until it expires. Crash safety for both.
 */
class CaIntermediateRenewalTest {

    private static final Duration TTL = Duration.ofHours(2);

    @TempDir
    Path tmp;

    private final FakeClock clock = FakeClock.at(Instant.now());
    private final CaDirectoryKeyReferenceTest.MemoryCustody hsm = new CaDirectoryKeyReferenceTest.MemoryCustody();
    private final AtomicInteger made = new AtomicInteger(1);
    private final SuccessorKeys successors = (reference, type) -> hsm.generate("ca-" + made.incrementAndGet(), type);

    /** Signs intermediates from CSRs with its root, copying the requested extensions (use_csr_values). */
    private final class TestUpstream implements UpstreamAuthority {
        final TestPki pki = TestPki.builder().caTtl(Duration.ofDays(2)).build();
        /** The PKI that signs now: {@link #pki} until the upstream rotates its root. */
        volatile TestPki signer = pki;
        volatile boolean down;
        final AtomicInteger calls = new AtomicInteger();

        @Override
        public List<X509Certificate> signIntermediate(String csrPem, Duration ttl) throws IOException {
            calls.incrementAndGet();
            if (down) {
                throw new IOException("Vault PKI pki: unavailable after 3 attempts: HTTP 503 (Vault is sealed or in standby)");
            }
            try {
                PKCS10CertificationRequest csr = new PKCS10CertificationRequest(Pem.decodeCertificateRequest(csrPem));
                Instant now = clock.instant();
                X509v3CertificateBuilder builder = new X509v3CertificateBuilder(
                        X500Name.getInstance(signer.root().getSubjectX500Principal().getEncoded()),
                        BigInteger.valueOf(calls.get()), Date.from(now.minusSeconds(30)), Date.from(now.plus(ttl)),
                        csr.getSubject(), csr.getSubjectPublicKeyInfo());
                for (Attribute attribute : csr.getAttributes(PKCSObjectIdentifiers.pkcs_9_at_extensionRequest)) {
                    Extensions extensions = Extensions.getInstance(attribute.getAttrValues().getObjectAt(0));
                    for (ASN1ObjectIdentifier oid : extensions.getExtensionOIDs()) {
                        builder.addExtension(extensions.getExtension(oid));
                    }
                }
                X509Certificate certificate = new JcaX509CertificateConverter().getCertificate(builder.build(
                        new JcaContentSignerBuilder("SHA256withECDSA").build(signer.rootKeyPair().getPrivate())));
                return List.of(certificate, signer.root());
            } catch (Exception e) {
                throw new IOException("test upstream: " + e, e);
            }
        }
    }

    private final TestUpstream upstream = new TestUpstream();

    private CaDirectory.LoadedCa initUpstream(Path dir, String caKey, KeyResolver keys) throws IOException {
        return CaDirectory.initUpstream(dir, TrustDomain.CLUSTER_LOCAL, caKey, CaDirectory.FILE_JWT_KEY, KeyType.EC_P256,
                keys, new CaDirectory.Upstream("vault-pki:pki?address=https://127.0.0.1:8200", upstream, TTL), clock);
    }

    private IntermediateRenewal renewal() {
        return new IntermediateRenewal(successors, Optional.of(upstream));
    }

    @Test
    void aSelfSignedIntermediateWhoseKeyIsHeldElsewhereIsRenewedWithANewKeyFromItsCustodian() throws Exception {
        CaDirectory.KeyReferences refs = new CaDirectory.KeyReferences(hsm.generate("root", KeyType.EC_P256),
                hsm.generate("ca", KeyType.EC_P256), hsm.generate("jwt", KeyType.EC_P256));
        Path dir = tmp.resolve("ca");
        KeyResolver keys = KeyResolver.files(dir).or(hsm);
        CaDirectory.LoadedCa ca = CaDirectory.initSelfSigned(dir, TrustDomain.CLUSTER_LOCAL, refs, keys, clock);
        clock.advance(Duration.ofDays(250));

        CaDirectory.LoadedCa renewed = CaDirectory.renewIntermediateIfDue(ca, clock, keys,
                new IntermediateRenewal(successors, Optional.empty())).orElseThrow();

        assertThat(renewed.signingCa().key().id()).isEqualTo("mem:ca-2");
        assertThat(renewed.signingCa().certificate().getPublicKey()).isEqualTo(hsm.resolve("mem:ca-2").publicKey());
        assertThat(renewed.signingCa().roots()).isEqualTo(ca.signingCa().roots());
        renewed.signingCa().certificate().verify(hsm.resolve("mem:root").publicKey());
        assertThat(renewed.config().rootKey()).isEqualTo("mem:root");
        assertThat(Files.readString(dir.resolve("ca.properties"))).contains("ca_key=mem\\:ca-2", "root_key=mem\\:root");
        assertThat(CaDirectory.intermediates(dir, clock.instant()))
                .containsExactly(renewed.signingCa().certificate(), ca.signingCa().certificate());
        assertThat(dir.resolve("ca-key.pem")).doesNotExist();
        assertThat(CaDirectory.load(dir, clock, keys).signingCa().certificate()).isEqualTo(renewed.signingCa().certificate());
    }

    @Test
    void withoutABackendThatMakesKeysAHeldKeyIsNotRenewedAndNoFileKeyIsWritten() throws Exception {
        CaDirectory.KeyReferences refs = new CaDirectory.KeyReferences(hsm.generate("root", KeyType.EC_P256),
                hsm.generate("ca", KeyType.EC_P256), hsm.generate("jwt", KeyType.EC_P256));
        Path dir = tmp.resolve("ca");
        KeyResolver keys = KeyResolver.files(dir).or(hsm);
        CaDirectory.LoadedCa ca = CaDirectory.initSelfSigned(dir, TrustDomain.CLUSTER_LOCAL, refs, keys, clock);
        clock.advance(Duration.ofDays(250));

        assertThatThrownBy(() -> CaDirectory.renewIntermediateIfDue(ca, clock, keys))
                .isInstanceOf(IOException.class).hasMessageContaining("mem:ca: no backend here can make a new key");
        assertThat(dir.resolve("ca-key.pem")).doesNotExist();
        assertThat(CaDirectory.load(dir, clock, keys).signingCa().certificate()).isEqualTo(ca.signingCa().certificate());
    }

    @Test
    void anUpstreamSignsTheIntermediateWhichIsRenewedAtHalfItsLifeAndOverlapsUntilItExpires() throws Exception {
        Path dir = tmp.resolve("ca");
        KeyResolver keys = KeyResolver.files(dir);
        CaDirectory.LoadedCa ca = initUpstream(dir, CaDirectory.FILE_CA_KEY, keys);
        X509Certificate first = ca.signingCa().certificate();

        assertThat(ca.config().mode()).isEqualTo(CaDirectory.UPSTREAM);
        assertThat(ca.signingCa().roots()).containsExactly(upstream.pki.root());
        assertThat(first.getBasicConstraints()).isZero();
        assertThat(Files.readString(dir.resolve("ca.properties")))
                .contains("upstream=vault-pki\\:pki?address\\=https\\://127.0.0.1\\:8200", "intermediate_ttl=PT2H");

        clock.advance(Duration.ofMinutes(50));
        assertThat(CaDirectory.renewIntermediateIfDue(ca, clock, keys, renewal())).isEmpty();

        clock.advance(Duration.ofMinutes(15)); // past half of 2h (plus the upstream's 30 s backdating)
        CaDirectory.LoadedCa renewed = CaDirectory.renewIntermediateIfDue(ca, clock, keys, renewal()).orElseThrow();
        X509Certificate second = renewed.signingCa().certificate();

        assertThat(second.getPublicKey()).isNotEqualTo(first.getPublicKey());
        assertThat(renewed.signingCa().key().id()).isEqualTo("file:ca-key.pem");
        assertThat(renewed.signingCa().roots()).containsExactly(upstream.pki.root());
        second.verify(upstream.pki.root().getPublicKey());
        assertThat(CaDirectory.intermediates(dir, clock.instant())).containsExactly(second, first);

        clock.advance(Duration.ofMinutes(60)); // the first has expired
        assertThat(CaDirectory.intermediates(dir, clock.instant())).containsExactly(second);
    }

    @Test
    void whenTheUpstreamRotatesItsRootTheOldRootStaysTrustedWhileIntermediatesUnderItLive() throws Exception {
        Path dir = tmp.resolve("ca");
        KeyResolver keys = KeyResolver.files(dir);
        CaDirectory.LoadedCa loaded = initUpstream(dir, CaDirectory.FILE_CA_KEY, keys);
        try (CitadelCa ca = CitadelCa.open(loaded, keys, IssuancePolicy.DEFAULT, List.of(), clock)) {
            long sequence = ca.bundle().bundle().sequenceNumber().orElseThrow();
            upstream.signer = TestPki.builder().caTtl(Duration.ofDays(2)).build();
            clock.advance(Duration.ofMinutes(65));

            assertThat(ca.renewIntermediateIfDue(renewal())).isTrue();

            assertThat(ca.loaded().signingCa().roots()).containsExactly(upstream.signer.root(), upstream.pki.root());
            assertThat(ca.loaded().signingCa().chain()).endsWith(upstream.signer.root());
            assertThat(ca.bundle().bundle().x509Authorities()).containsExactly(upstream.signer.root(), upstream.pki.root());
            assertThat(ca.bundle().bundle().sequenceNumber()).hasValue(sequence + 1);
        }
    }

    @Test
    void underAnUpstreamAHeldKeyIsReplacedByANewOneFromItsCustodian() throws Exception {
        Path dir = tmp.resolve("ca");
        KeyResolver keys = KeyResolver.files(dir).or(hsm);
        CaDirectory.LoadedCa ca = initUpstream(dir, hsm.generate("ca", KeyType.EC_P256), keys);
        clock.advance(Duration.ofMinutes(65));

        CaDirectory.LoadedCa renewed = CaDirectory.renewIntermediateIfDue(ca, clock, keys, renewal()).orElseThrow();

        assertThat(renewed.signingCa().key().id()).isEqualTo("mem:ca-2");
        assertThat(renewed.config().upstream()).isEqualTo(ca.config().upstream());
        assertThat(renewed.config().intermediateTtl()).isEqualTo(TTL);
        assertThat(dir.resolve("ca-key.pem")).doesNotExist();
    }

    @Test
    void anUpstreamOutageLeavesTheCurrentIntermediateInPlaceAndTheNextAttemptRenews() throws Exception {
        Path dir = tmp.resolve("ca");
        KeyResolver keys = KeyResolver.files(dir);
        CaDirectory.LoadedCa ca = initUpstream(dir, CaDirectory.FILE_CA_KEY, keys);
        clock.advance(Duration.ofMinutes(70));
        upstream.down = true;

        assertThatThrownBy(() -> CaDirectory.renewIntermediateIfDue(ca, clock, keys, renewal()))
                .isInstanceOf(IOException.class).hasMessageContaining("HTTP 503");
        assertThat(CaDirectory.load(dir, clock, keys).signingCa().certificate()).isEqualTo(ca.signingCa().certificate());
        try (var files = Files.list(dir)) {
            assertThat(files.map(p -> p.getFileName().toString())).noneMatch(name -> name.endsWith(".next"));
        }

        upstream.down = false;
        assertThat(CaDirectory.renewIntermediateIfDue(ca, clock, keys, renewal())).isPresent();
        assertThatThrownBy(() -> CaDirectory.renewIntermediateIfDue(CaDirectory.load(dir, clock, keys),
                Clock.offset(clock, Duration.ofMinutes(70)), keys, IntermediateRenewal.fileKeysOnly()))
                .hasMessageContaining("upstream authority is not configured here");
    }

    @Test
    void anUpstreamCertificateForAnotherKeyIsRefused() {
        UpstreamAuthority wrong = (csr, ttl) -> List.of(upstream.pki.intermediate(), upstream.pki.root());
        assertThatThrownBy(() -> CaDirectory.initUpstream(tmp.resolve("ca"), TrustDomain.CLUSTER_LOCAL,
                CaDirectory.FILE_CA_KEY, CaDirectory.FILE_JWT_KEY, KeyType.EC_P256, KeyResolver.files(tmp.resolve("ca")),
                new CaDirectory.Upstream("vault-pki:pki?address=https://127.0.0.1:8200", wrong, TTL), clock))
                .isInstanceOf(IOException.class).hasMessageContaining("signed a certificate for another key");
        assertThat(tmp.resolve("ca")).doesNotExist();
    }

    @Test
    void aRenewalOfAHeldKeyCommittedBeforeACrashIsFinishedOnLoad() throws Exception {
        Path dir = tmp.resolve("ca");
        KeyResolver keys = KeyResolver.files(dir).or(hsm);
        CaDirectory.LoadedCa ca = initUpstream(dir, hsm.generate("ca", KeyType.EC_P256), keys);
        Path saved = Files.createDirectories(tmp.resolve("saved"));
        for (String name : List.of("ca-cert.pem", "cert-chain.pem")) {
            Files.copy(dir.resolve(name), saved.resolve(name));
        }
        clock.advance(Duration.ofMinutes(65));
        X509Certificate renewed = CaDirectory.renewIntermediateIfDue(ca, clock, keys, renewal()).orElseThrow()
                .signingCa().certificate();
        // The state a crash right after the commit (ca.properties names the new key) leaves behind.
        for (String name : List.of("ca-cert.pem", "cert-chain.pem")) {
            Files.move(dir.resolve(name), dir.resolve(name + ".next"));
            Files.copy(saved.resolve(name), dir.resolve(name), StandardCopyOption.REPLACE_EXISTING);
        }

        assertThat(CaDirectory.load(dir, clock, keys).signingCa().certificate()).isEqualTo(renewed);
        assertThat(dir.resolve("ca-cert.pem.next")).doesNotExist();
        assertThat(dir.resolve("cert-chain.pem.next")).doesNotExist();
    }

    @Test
    void aRenewalOfAHeldKeyNotCommittedBeforeACrashIsDropped() throws Exception {
        Path dir = tmp.resolve("ca");
        KeyResolver keys = KeyResolver.files(dir).or(hsm);
        CaDirectory.LoadedCa ca = initUpstream(dir, hsm.generate("ca", KeyType.EC_P256), keys);
        // Certificates for a key made by the interrupted renewal; ca.properties still names the old key.
        for (String name : List.of("ca-cert.pem", "cert-chain.pem", "intermediates.pem", "root-cert.pem")) {
            Files.copy(dir.resolve("root-cert.pem"), dir.resolve(name + ".next"));
        }

        assertThat(CaDirectory.load(dir, clock, keys).signingCa().certificate()).isEqualTo(ca.signingCa().certificate());
        try (var files = Files.list(dir)) {
            assertThat(files.map(p -> p.getFileName().toString())).noneMatch(name -> name.endsWith(".next"));
        }
    }

    @Test
    void theCaSwitchesIssuanceToTheRenewedIntermediateAndOldLeavesKeepTheirChain() throws Exception {
        Path dir = tmp.resolve("ca");
        KeyResolver keys = KeyResolver.files(dir);
        CaDirectory.LoadedCa loaded = initUpstream(dir, CaDirectory.FILE_CA_KEY, keys);
        try (CitadelCa ca = CitadelCa.open(loaded, keys, IssuancePolicy.DEFAULT, List.of(), clock)) {
            String csr = TestCsr.builder().uriSan("spiffe://cluster.local/ns/a/sa/x").build().pem();
            IssuedX509Svid before = ca.service().issueAsOperator("test", csr, Duration.ZERO).join();
            clock.advance(Duration.ofMinutes(65));

            assertThat(ca.renewIntermediateIfDue(renewal())).isTrue();
            IssuedX509Svid after = ca.service().issueAsOperator("test", csr, Duration.ZERO).join();

            assertThat(before.chain().get(1)).isEqualTo(loaded.signingCa().certificate());
            assertThat(after.chain().get(1)).isEqualTo(ca.loaded().signingCa().certificate()).isNotEqualTo(before.chain().get(1));
            assertThat(ca.intermediates()).containsExactly(after.chain().get(1), before.chain().get(1));
            assertThat(ca.bundle().bundle().x509Authorities()).containsExactly(upstream.pki.root());
            // Leaves are capped to their intermediate's expiry, so the old chain stays valid for each old leaf.
            assertThat(before.notAfter()).isBeforeOrEqualTo(before.chain().get(1).getNotAfter().toInstant());
        }
    }
}
