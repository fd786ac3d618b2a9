package dev.keel.ca.audit;

import java.time.Instant;
import java.util.Objects;

/**
 * One decision of the CA: a certificate it issued or a request it refused.
 *
 * <p>Each record becomes exactly one line of the {@link AuditLog}. Only {@code time} and
 * {@code outcome} are always present; the other fields are {@code null} where they do not
 * apply (a refusal has no serial and no not-after) or where the CA never learned them (a
 * request refused before its CSR was parsed has no key fingerprint). The strings are stored
 * as given, whatever characters they contain: the log escapes them, so a caller-controlled
 * value cannot forge or split a line.
 *
 * <p>Immutable and therefore safe to share between threads.
 *
 * @param time when the CA decided, written in UTC
 * @param caller the authenticated identity that asked (for example the workload's SPIFFE ID
 *     or a Kubernetes service account), or {@code null} if the caller could not be identified
 * @param spiffeId the SPIFFE ID requested or issued
 * @param serial the issued certificate's serial number (hex); {@code null} for a refusal
 * @param notAfter the issued certificate's expiry; {@code null} for a refusal
 * @param keyFingerprint fingerprint of the subject public key, for example its SHA-256 in hex
 * @param outcome whether a certificate was issued
 * @param reason why the request was refused; {@code null} for an issuance
 */
public record AuditRecord(
        Instant time,
        String caller,
        String spiffeId,
        String serial,
        Instant notAfter,
        String keyFingerprint,
        Outcome outcome,
        String reason) {

    /** What the CA decided. */
    public enum Outcome {
        ISSUED,
        REFUSED,
        /** A certificate this CA issued (or a serial it was asked to revoke) put on the CRL. */
        REVOKED
    }

    public AuditRecord {
        Objects.requireNonNull(time, "time");
        Objects.requireNonNull(outcome, "outcome");
    }

    /** A certificate that was signed and is about to be returned to {@code caller}. */
    public static AuditRecord issued(
            Instant time,
            String caller,
            String spiffeId,
            String serial,
            Instant notAfter,
            String keyFingerprint) {
        // An issuance the log cannot tie to a certificate is useless to an investigator,
        // so the identifying fields are mandatory here even though the record allows null.
        Objects.requireNonNull(spiffeId, "spiffeId");
        Objects.requireNonNull(serial, "serial");
        Objects.requireNonNull(notAfter, "notAfter");
        Objects.requireNonNull(keyFingerprint, "keyFingerprint");
        return new AuditRecord(
                time, caller, spiffeId, serial, notAfter, keyFingerprint, Outcome.ISSUED, null);
    }

    /**
     * A request the CA refused. {@code spiffeId} and {@code keyFingerprint} may be null when the
     * request was refused before they were known.
     */
    public static AuditRecord refused(
            Instant time, String caller, String spiffeId, String keyFingerprint, String reason) {
        Objects.requireNonNull(reason, "reason");
        return new AuditRecord(
                time, caller, spiffeId, null, null, keyFingerprint, Outcome.REFUSED, reason);
    }
}
