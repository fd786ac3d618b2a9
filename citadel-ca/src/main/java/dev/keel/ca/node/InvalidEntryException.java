package dev.keel.ca.node;

import java.util.Objects;

/**
 * A registration entry breaks a rule. {@link #field()} names the offending field as the wire
 * protocol spells it ({@code spiffe_id}, {@code parent_id}, {@code selectors}, {@code x509_svid_ttl},
 * {@code jwt_svid_ttl}, {@code hint}, or {@code entry} for the entry as a whole), so a CLI can
 * translate it into its option name; the message starts with it.
 */
public final class InvalidEntryException extends IllegalArgumentException {

    private static final long serialVersionUID = 1L;

    private final String field;
    private final String reason;

    InvalidEntryException(String field, String reason) {
        super(field + ": " + reason);
        this.field = Objects.requireNonNull(field, "field");
        this.reason = Objects.requireNonNull(reason, "reason");
    }

    public String field() {
        return field;
    }

    /** The message without the field name. */
    public String reason() {
        return reason;
    }
}
