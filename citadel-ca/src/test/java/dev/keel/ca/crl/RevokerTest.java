package dev.keel.ca.crl;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.keel.ca.IssuedX509Svid;
import dev.keel.ca.audit.AuditLogVerifier;
import dev.keel.identity.KeyType;
import java.io.IOException;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class RevokerTest {

    @TempDir
    Path dir;

    private TestCa ca;
    private Revoker revoker;

    @BeforeEach
    void setUp() throws Exception {
        ca = TestCa.create(dir, KeyType.EC_P256);
        revoker = new Revoker(RevocationList.open(dir), ca.ca.audit(), ca.clock);
    }

    @AfterEach
    void tearDown() {
        ca.close();
    }

    @Test
    void aRevocationOfAnIssuedCertificateIsAuditedWithWhatTheIssuanceSaid() throws Exception {
        IssuedX509Svid svid = ca.issue("orders", Duration.ofHours(2));
        ca.clock.advance(Duration.ofMinutes(10));

        Revoker.Outcome outcome = revoker.revoke(svid.serial(), RevocationReason.KEY_COMPROMISE, ca.clock.instant(), "alice");

        assertThat(outcome.newlyRevoked()).isTrue();
        Revocation revocation = outcome.revocation();
        assertThat(revocation.issuedByThisCa()).isTrue();
        assertThat(revocation.spiffeId()).contains("spiffe://example.org/ns/default/sa/orders");
        assertThat(revocation.notAfter()).contains(svid.notAfter());
        List<String> lines = auditLines();
        assertThat(lines).hasSize(2);
        assertThat(lines.get(1)).contains("\"caller\":\"alice\"", "\"spiffe_id\":\"spiffe://example.org/ns/default/sa/orders\"",
                "\"outcome\":\"revoked\"", "\"serial\":\"" + svid.serial().toString(16) + "\"", "\"not_after\":\"" + svid.notAfter() + "\"",
                "\"reason\":\"revoked (keyCompromise) as of " + ca.clock.instant() + "\"");
        ca.ca.audit().close();
        assertThat(AuditLogVerifier.verify(ca.ca.audit().file()).ok()).isTrue();
        assertThat(RevocationList.open(dir).read().revocations()).containsExactly(revocation);
    }

    @Test
    void anUnknownSerialIsAcceptedAndRecordedAsUnknown() throws Exception {
        ca.issue("orders", Duration.ofHours(2));
        BigInteger stranger = new BigInteger("deadbeef", 16);

        Revoker.Outcome outcome = revoker.revoke(stranger, RevocationReason.UNSPECIFIED, ca.clock.instant(), "alice");

        assertThat(outcome.newlyRevoked()).isTrue();
        assertThat(outcome.revocation().issuedByThisCa()).isFalse();
        assertThat(outcome.revocation().spiffeId()).isEmpty();
        assertThat(auditLines().get(1)).contains("\"spiffe_id\":null", "\"outcome\":\"revoked\"", "\"serial\":\"deadbeef\"",
                "serial not found among this CA's issuances");
    }

    @Test
    void revokingTwiceIsIdempotentAndAuditedOnce() throws Exception {
        IssuedX509Svid svid = ca.issue("orders", Duration.ofHours(2));
        Revoker.Outcome first = revoker.revoke(svid.serial(), RevocationReason.SUPERSEDED, ca.clock.instant(), "alice");
        ca.clock.advance(Duration.ofMinutes(1));

        Revoker.Outcome second = revoker.revoke(svid.serial(), RevocationReason.KEY_COMPROMISE, ca.clock.instant(), "bob");

        assertThat(second.newlyRevoked()).isFalse();
        assertThat(second.revocation()).isEqualTo(first.revocation());
        assertThat(auditLines()).hasSize(2);
    }

    @Test
    void aRevocationInTheFutureIsRefused() {
        assertThatThrownBy(() -> revoker.revoke(BigInteger.TEN, RevocationReason.KEY_COMPROMISE,
                ca.clock.instant().plusSeconds(60), "alice")).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("expected: not after now");
    }

    @Test
    void withoutTheAuditLogNothingIsRevoked() throws Exception {
        ca.ca.audit().close();

        assertThatThrownBy(() -> revoker.revoke(BigInteger.TEN, RevocationReason.KEY_COMPROMISE, ca.clock.instant(), "alice"))
                .isInstanceOf(IOException.class).hasMessageStartingWith("audit log unavailable, nothing revoked");

        assertThat(RevocationList.open(dir).read().revocations()).isEmpty();
    }

    private List<String> auditLines() throws IOException {
        return Files.readAllLines(ca.ca.audit().file(), StandardCharsets.UTF_8);
    }
}
