package dev.keel.ca.crl;

import java.util.Locale;
import java.util.Objects;

/**
 * Why a certificate was revoked: the permanent {@code CRLReason} codes of RFC 5280 section 5.3.1,
 * named as the RFC names them ({@code keyCompromise}, {@code cACompromise}, ...).
 *
 * <p>{@code certificateHold} (6) and {@code removeFromCRL} (8) are deliberately absent: a hold can be
 * released, and removeFromCRL exists only in delta CRLs; Keel's revocations are permanent and its
 * CRLs complete, so {@link #parse} refuses both with a message saying so.
 */
public enum RevocationReason {
    UNSPECIFIED(0, "unspecified"),
    KEY_COMPROMISE(1, "keyCompromise"),
    CA_COMPROMISE(2, "cACompromise"),
    AFFILIATION_CHANGED(3, "affiliationChanged"),
    SUPERSEDED(4, "superseded"),
    CESSATION_OF_OPERATION(5, "cessationOfOperation"),
    PRIVILEGE_WITHDRAWN(9, "privilegeWithdrawn"),
    AA_COMPROMISE(10, "aACompromise");

    private final int code;
    private final String rfcName;

    RevocationReason(int code, String rfcName) {
        this.code = code;
        this.rfcName = rfcName;
    }

    /** The {@code CRLReason} ENUMERATED value. */
    public int code() {
        return code;
    }

    /** The name RFC 5280 gives the value, e.g. {@code keyCompromise}; also the stored form. */
    public String rfcName() {
        return rfcName;
    }

    /**
     * Parses an RFC 5280 name, case-insensitively ({@code keyCompromise}, {@code keycompromise}).
     *
     * @throws IllegalArgumentException naming the accepted values
     */
    public static RevocationReason parse(String name) {
        Objects.requireNonNull(name, "name");
        String wanted = name.trim().toLowerCase(Locale.ROOT);
        for (RevocationReason reason : values()) {
            if (reason.rfcName.toLowerCase(Locale.ROOT).equals(wanted)) {
                return reason;
            }
        }
        if (wanted.equals("certificatehold") || wanted.equals("removefromcrl")) {
            throw new IllegalArgumentException("reason: " + name + " is not supported (Keel's revocations are "
                    + "permanent and its CRLs complete; expected one of: " + names() + ")");
        }
        throw new IllegalArgumentException("reason: \"" + name + "\" (expected one of: " + names() + ")");
    }

    /** The accepted names, comma-separated, for messages and help texts. */
    public static String names() {
        StringBuilder names = new StringBuilder();
        for (RevocationReason reason : values()) {
            if (names.length() > 0) {
                names.append(", ");
            }
            names.append(reason.rfcName);
        }
        return names.toString();
    }

    @Override
    public String toString() {
        return rfcName;
    }
}
