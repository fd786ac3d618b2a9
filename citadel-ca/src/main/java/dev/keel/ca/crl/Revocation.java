package dev.keel.ca.crl;

import java.math.BigInteger;
import java.time.Instant;
import java.util.Locale;
import java.util.Objects;
import java.util.Optional;

/**
 * One revoked serial number of this CA, as stored in the {@link RevocationList}.
 *
 * <p>{@code notAfter} and {@code spiffeId} come from the CA's audit log when the serial is found
 * among its issuances; both are empty when it is not (a serial the operator knows of but the log
 * does not, which is allowed and recorded as such). Only a known {@code notAfter} lets the entry
 * leave the CRL after the certificate expired. Immutable.
 *
 * @param serial the certificate's serial number: positive, at most 20 octets (RFC 5280 4.1.2.2)
 * @param reason why; {@link RevocationReason#UNSPECIFIED} leaves the CRL entry without a reasonCode
 * @param revokedAt the CRL entry's revocationDate
 * @param notAfter the revoked certificate's expiry, if this CA's audit log knows the serial
 * @param spiffeId the revoked certificate's SPIFFE ID, if known
 */
public record Revocation(BigInteger serial, RevocationReason reason, Instant revokedAt, Optional<Instant> notAfter,
        Optional<String> spiffeId) {

    /** RFC 5280 4.1.2.2: conforming CAs use serial numbers of at most 20 octets. */
    static final int MAX_SERIAL_BITS = 20 * 8;

    public Revocation {
        checkSerial(serial);
        Objects.requireNonNull(reason, "reason");
        Objects.requireNonNull(revokedAt, "revokedAt");
        Objects.requireNonNull(notAfter, "notAfter");
        Objects.requireNonNull(spiffeId, "spiffeId");
    }

    /** Whether the audit log showed that this CA issued the serial. */
    public boolean issuedByThisCa() {
        return notAfter.isPresent();
    }

    /** The serial in lowercase hex without leading zeros, as the audit log writes it. */
    public String serialHex() {
        return serial.toString(16);
    }

    /**
     * Reads a serial number as operators copy it: hex, optionally with a {@code 0x} prefix, the
     * {@code serial=} that {@code openssl x509 -serial} prints or the colons of {@code -text}, any case.
     *
     * @throws IllegalArgumentException if it is not hex, zero, negative or longer than 20 octets
     */
    public static BigInteger parseSerial(String text) {
        Objects.requireNonNull(text, "serial");
        String hex = text.trim().replace(":", "").toLowerCase(Locale.ROOT);
        if (hex.startsWith("serial=")) { // as 'openssl x509 -noout -serial' prints it
            hex = hex.substring("serial=".length());
        } else if (hex.startsWith("0x")) {
            hex = hex.substring(2);
        }
        if (hex.isEmpty() || !hex.chars().allMatch(c -> (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
            throw new IllegalArgumentException("serial: \"" + text + "\" (expected: hex digits, e.g. 3f9a0c...)");
        }
        BigInteger serial = new BigInteger(hex, 16);
        checkSerial(serial);
        return serial;
    }

    static void checkSerial(BigInteger serial) {
        Objects.requireNonNull(serial, "serial");
        if (serial.signum() <= 0) {
            throw new IllegalArgumentException("serial: " + serial.toString(16) + " (expected: > 0)");
        }
        // A DER INTEGER carries a sign bit, so 20 octets hold 159 bits of a positive number.
        if (serial.bitLength() > MAX_SERIAL_BITS - 1) {
            throw new IllegalArgumentException("serial: " + serial.bitLength() + " bits (expected: at most 20 octets)");
        }
    }
}
