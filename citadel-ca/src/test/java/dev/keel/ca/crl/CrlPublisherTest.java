package dev.keel.ca.crl;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.keel.ca.IssuedX509Svid;
import dev.keel.identity.KeyType;
import java.io.IOException;
import java.math.BigInteger;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CrlPublisherTest {

    @TempDir
    Path dir;

    private TestCa ca;
    private CrlPublisher publisher;

    @BeforeEach
    void setUp() throws Exception {
        ca = TestCa.create(dir, KeyType.EC_P256);
        publisher = CrlPublisher.forCa(ca.ca, new CrlSigner(Duration.ofHours(24)), ca.clock);
    }

    @AfterEach
    void tearDown() {
        ca.close();
    }

    @Test
    void signsFirstThenOnlyWhenTheListChangesOrHalfTheValidityPassed() throws Exception {
        assertThat(publisher.current()).isEmpty();
        assertThat(publisher.refreshIfDue()).isTrue();
        SignedCrl first = publisher.current().orElseThrow();
        assertThat(first.number()).isEqualTo(1);
        assertThat(first.entries()).isZero();

        ca.clock.advance(Duration.ofHours(11));
        assertThat(publisher.refreshIfDue()).isFalse();
        assertThat(publisher.current()).containsSame(first);

        IssuedX509Svid svid = ca.issue("orders", Duration.ofHours(24));
        new Revoker(RevocationList.open(dir), ca.ca.audit(), ca.clock)
                .revoke(svid.serial(), RevocationReason.KEY_COMPROMISE, ca.clock.instant(), "alice");
        assertThat(publisher.refreshIfDue()).isTrue();
        SignedCrl second = publisher.current().orElseThrow();
        assertThat(second.number()).isEqualTo(2);
        assertThat(second.crl().getRevokedCertificate(svid.serial())).isNotNull();

        ca.clock.advance(Duration.ofHours(11));
        assertThat(publisher.refreshIfDue()).isFalse();
        ca.clock.advance(Duration.ofHours(1).plusSeconds(1));
        assertThat(publisher.refreshIfDue()).isTrue();
        SignedCrl third = publisher.current().orElseThrow();
        assertThat(third.number()).isEqualTo(3);
        assertThat(third.nextUpdate()).isAfter(second.nextUpdate());
        third.crl().verify(ca.signingCa().certificate().getPublicKey());
    }

    @Test
    void aRevocationQueuedByAnotherProcessIsAuditedByTheCaAndSignedAtTheNextRefresh() throws Exception {
        publisher.refreshIfDue();
        IssuedX509Svid svid = ca.issue("orders", Duration.ofHours(24));
        RevocationList.open(dir).request(new RevocationList.Request(svid.serial(), RevocationReason.KEY_COMPROMISE,
                ca.clock.instant(), "alice"));

        assertThat(publisher.refreshIfDue()).isTrue();

        SignedCrl crl = publisher.current().orElseThrow();
        assertThat(crl.crl().getRevokedCertificate(svid.serial())).isNotNull();
        assertThat(RevocationList.open(dir).read().requests()).isEmpty();
        assertThat(Files.readString(ca.ca.audit().file())).contains("\"caller\":\"alice\"",
                "\"outcome\":\"revoked\"", "\"serial\":\"" + svid.serial().toString(16) + "\"");
    }

    @Test
    void aRenewedIntermediateSignsTheNextCrl() throws Exception {
        publisher.refreshIfDue();
        SignedCrl before = publisher.current().orElseThrow();
        ca.clock.advance(Duration.ofDays(300)); // past two thirds of the 365-day intermediate
        assertThat(ca.ca.renewIntermediateIfDue()).isTrue();

        assertThat(publisher.refreshIfDue()).isTrue();

        SignedCrl after = publisher.current().orElseThrow();
        assertThat(after.issuer()).isEqualTo(ca.signingCa().certificate()).isNotEqualTo(before.issuer());
        after.crl().verify(ca.signingCa().certificate().getPublicKey());
        assertThat(after.number()).isGreaterThan(before.number());
    }

    @Test
    void aCorruptListKeepsTheLastGoodCrl() throws Exception {
        publisher.refreshIfDue();
        SignedCrl good = publisher.current().orElseThrow();
        Files.writeString(dir.resolve(RevocationList.FILE), "{\"format\":1,\"crl_number\":1,\"revocations\":[{");

        assertThatThrownBy(publisher::refreshIfDue).isInstanceOf(IOException.class)
                .hasMessageStartingWith("revocations.json is corrupt");

        assertThat(publisher.current()).containsSame(good);
    }

    @Test
    void numbersKeepGrowingAcrossPublishersSharingTheDirectory() throws Exception {
        publisher.refreshIfDue();
        // a second publisher over the same directory, as after a restart or beside keel ca crl
        CrlPublisher restarted = CrlPublisher.forCa(ca.ca, new CrlSigner(Duration.ofHours(24)), ca.clock);
        restarted.refreshIfDue();
        assertThat(restarted.current().orElseThrow().number()).isEqualTo(2);
        RevocationList.open(dir).add(new Revocation(BigInteger.TWO, RevocationReason.SUPERSEDED, ca.clock.instant(),
                java.util.Optional.empty(), java.util.Optional.empty()), r -> { });
        publisher.refreshIfDue();
        assertThat(publisher.current().orElseThrow().number()).isEqualTo(3);
    }
}
