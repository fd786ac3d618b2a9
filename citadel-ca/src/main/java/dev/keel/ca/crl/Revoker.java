package dev.keel.ca.crl;

import dev.keel.ca.audit.AuditLog;
import dev.keel.ca.audit.AuditLogException;
import dev.keel.ca.audit.AuditRecord;
import java.io.IOException;
import java.math.BigInteger;
import java.time.Clock;
import java.time.Instant;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * Revokes certificates of this CA: looks the serial up among the issuances in the audit log,
 * writes an audit line, then adds the serial to the {@link RevocationList}. The next CRL signed
 * carries it. Only the process holding the audit log revokes; another one queues a request
 * ({@link RevocationList#request}) that this process audits with {@link #commitRequested()}.
 *
 * <p>The audit line is durable before the list changes, as for an issuance: a revocation the log
 * does not show never takes effect. If the list cannot be written after the line is, the call
 * fails and the operator retries; the log then shows the attempt twice, which is the truth.
 * Serials the audit log does not know are accepted (an operator may hold a certificate whose
 * issuance predates the log) and recorded as such, in the list and in the audit line. Revoking a
 * serial already revoked changes nothing and writes nothing.
 *
 * <p>Audit lines: outcome {@code revoked}, the certificate's serial, its SPIFFE ID, expiry and key
 * fingerprint when the CA issued it, and the reason (and whether the serial is unknown) in
 * {@code reason}.
 *
 * <p>Thread-safe.
 */
public final class Revoker {

    /**
     * What {@link #revoke} did.
     *
     * @param revocation the stored revocation (the earlier one if the serial was already revoked)
     * @param newlyRevoked false if the serial was already revoked and nothing changed
     */
    public record Outcome(Revocation revocation, boolean newlyRevoked) {
    }

    private final RevocationList list;
    private final AuditLog audit;
    private final AuditedIssuances issuances;
    private final Clock clock;

    public Revoker(RevocationList list, AuditLog audit, Clock clock) {
        this.list = Objects.requireNonNull(list, "list");
        this.audit = Objects.requireNonNull(audit, "audit");
        this.clock = Objects.requireNonNull(clock, "clock");
        this.issuances = new AuditedIssuances(audit.file());
    }

    /**
     * Revokes {@code serial} as of {@code time}.
     *
     * @param time the CRL entry's revocationDate: not in the future
     * @param caller who asked, for the audit line (an operator's user name)
     * @throws IOException if the audit log or the revocation list cannot be read or written; then
     *     nothing was revoked
     * @throws IllegalArgumentException for a time in the future
     */
    public Outcome revoke(BigInteger serial, RevocationReason reason, Instant time, String caller) throws IOException {
        Objects.requireNonNull(reason, "reason");
        Objects.requireNonNull(time, "time");
        Instant now = clock.instant();
        if (time.isAfter(now)) {
            throw new IllegalArgumentException("time: " + time + " (expected: not after now, " + now + ")");
        }
        Optional<AuditedIssuances.Issuance> issuance = issuances.find(serial);
        RevocationList.Added added = list.add(revocation(serial, reason, time, issuance), r -> audit(r, issuance, caller));
        return new Outcome(added.revocation(), added.added());
    }

    /**
     * Audits and puts in force the revocations that {@code keel ca revoke} queued
     * ({@link RevocationList#request}) because this process held the audit log. The running CA calls
     * it before each CRL refresh; the command calls it whenever it holds the log.
     *
     * @return the revocations put in force
     * @throws IOException if the audit log fails; the requests not yet audited stay queued
     */
    public List<Revocation> commitRequested() throws IOException {
        return list.commitRequests(request -> {
            Optional<AuditedIssuances.Issuance> issuance = issuances.find(request.serial());
            Revocation revocation = revocation(request.serial(), request.reason(), request.revokedAt(), issuance);
            audit(revocation, issuance, request.caller());
            return revocation;
        });
    }

    private static Revocation revocation(BigInteger serial, RevocationReason reason, Instant time,
            Optional<AuditedIssuances.Issuance> issuance) {
        return new Revocation(serial, reason, time, issuance.map(AuditedIssuances.Issuance::notAfter),
                issuance.map(AuditedIssuances.Issuance::spiffeId));
    }

    private void audit(Revocation revocation, Optional<AuditedIssuances.Issuance> issuance, String caller)
            throws IOException {
        String reason = "revoked (" + revocation.reason().rfcName() + ") as of " + revocation.revokedAt()
                + (issuance.isPresent() ? "" : "; serial not found among this CA's issuances");
        AuditRecord record = new AuditRecord(clock.instant(), caller, issuance.map(AuditedIssuances.Issuance::spiffeId)
                .orElse(null), revocation.serialHex(), issuance.map(AuditedIssuances.Issuance::notAfter)
                .orElse(null), issuance.map(AuditedIssuances.Issuance::keyFingerprint).orElse(null),
                AuditRecord.Outcome.REVOKED, reason);
        try {
            audit.appendAndWait(record);
        } catch (AuditLogException e) {
            throw new IOException("audit log unavailable, nothing revoked: " + e.getMessage(), e);
        }
    }
}
