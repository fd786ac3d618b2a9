package dev.keel.hsm;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.keel.identity.KeyType;
import dev.keel.identity.SoftwareSigningKey;
import dev.keel.identity.TrustDomain;
import dev.keel.testing.FakeClock;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.UUID;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Vault PKI signs Keel's intermediate; it is renewed at half its lifetime and the old one overlaps until it expires. */
class UpstreamIntermediatesTest {

    private FakeVault vault;
    private FakeClock clock;

    @BeforeEach
    void start() throws Exception {
        vault = new FakeVault();
        clock = FakeClock.at(Instant.now());
        vault.clock = clock;
    }

    @AfterEach
    void stop() {
        vault.close();
    }

    private VaultPkiUpstreamAuthority upstream() {
        return VaultPkiUpstreamAuthority.builder(vault.address()).trustedCertificatesPem(vault.caPem())
                .credentials(VaultCredentials.token(vault.rootToken)).retries(2, Duration.ofMillis(10)).build();
    }

    @Test
    void vaultSignsTheIntermediateWhichChainsToItsRoot() throws Exception {
        UpstreamIntermediates intermediates = UpstreamIntermediates.start(upstream(),
                () -> SoftwareSigningKey.generate("file:ca-key.pem", KeyType.EC_P256), TrustDomain.CLUSTER_LOCAL,
                Duration.ofHours(2), clock);

        UpstreamIntermediates.Active active = intermediates.current();
        assertThat(active.certificate().getBasicConstraints()).isZero();
        assertThat(active.certificate().getSubjectAlternativeNames()).anySatisfy(san ->
                assertThat(san.get(1)).isEqualTo("spiffe://cluster.local"));
        assertThat(active.root()).isEqualTo(vault.pkiRoot());
        active.certificate().verify(vault.pkiRoot().getPublicKey());
        assertThat(active.chain()).containsExactly(active.certificate());
        assertThat(intermediates.roots()).containsExactly(vault.pkiRoot());
    }

    @Test
    void renewsAtHalfItsLifetimeAndKeepsTheOldIntermediateUntilItExpires() throws Exception {
        UpstreamIntermediates intermediates = UpstreamIntermediates.start(upstream(),
                () -> SoftwareSigningKey.generate("mem:" + UUID.randomUUID(), KeyType.EC_P256), TrustDomain.CLUSTER_LOCAL,
                Duration.ofHours(2), clock);
        X509Certificate first = intermediates.current().certificate();

        clock.advance(Duration.ofMinutes(50));
        assertThat(intermediates.rotateIfDue()).isFalse();

        clock.advance(Duration.ofMinutes(15)); // past half of 2h (plus Vault's 30 s backdating)
        assertThat(intermediates.rotateIfDue()).isTrue();
        X509Certificate second = intermediates.current().certificate();
        assertThat(second).isNotEqualTo(first);
        assertThat(second.getPublicKey()).isNotEqualTo(first.getPublicKey());
        assertThat(intermediates.intermediates()).containsExactly(second, first);
        assertThat(intermediates.roots()).containsExactly(vault.pkiRoot());

        clock.advance(Duration.ofMinutes(60)); // the first has expired
        assertThat(intermediates.intermediates()).containsExactly(second);
    }

    @Test
    void aSealedVaultLeavesTheCurrentIntermediateInPlaceAndSaysUnavailable() throws Exception {
        UpstreamIntermediates intermediates = UpstreamIntermediates.start(upstream(),
                () -> SoftwareSigningKey.generate("mem:" + UUID.randomUUID(), KeyType.EC_P256), TrustDomain.CLUSTER_LOCAL,
                Duration.ofHours(2), clock);
        X509Certificate first = intermediates.current().certificate();
        clock.advance(Duration.ofMinutes(70));
        vault.sealed = true;

        assertThatThrownBy(intermediates::rotateIfDue)
                .isInstanceOfSatisfying(UpstreamAuthorityException.class, e -> assertThat(e.unavailable()).isTrue())
                .hasMessageContaining("Vault PKI pki").hasMessageContaining("HTTP 503");
        assertThat(intermediates.current().certificate()).isEqualTo(first);

        vault.sealed = false;
        assertThat(intermediates.rotateIfDue()).isTrue();
    }

    @Test
    void permissionDeniedIsARefusal() {
        vault.denied = true;
        assertThatThrownBy(() -> UpstreamIntermediates.start(upstream(),
                () -> SoftwareSigningKey.generate("mem:x", KeyType.EC_P256), TrustDomain.CLUSTER_LOCAL, Duration.ofHours(2),
                clock))
                .isInstanceOfSatisfying(UpstreamAuthorityException.class, e -> assertThat(e.unavailable()).isFalse())
                .hasMessageContaining("HTTP 403 (permission denied)").hasMessageNotContaining(vault.rootToken);
    }

    @Test
    void theIntermediateKeyCanLiveInTheHsm() throws Exception {
        Pkcs11Uri token = SoftHsm.uri("upstream");
        UpstreamIntermediates intermediates = UpstreamIntermediates.start(upstream(),
                () -> Pkcs11SigningKey.generate(token.withObject("upstream-" + UUID.randomUUID()), KeyType.EC_P256),
                TrustDomain.CLUSTER_LOCAL, Duration.ofHours(2), clock);

        assertThat(intermediates.current().key()).isInstanceOf(Pkcs11SigningKey.class);
        assertThat(intermediates.current().certificate().getPublicKey()).isEqualTo(intermediates.current().key().publicKey());
    }
}
