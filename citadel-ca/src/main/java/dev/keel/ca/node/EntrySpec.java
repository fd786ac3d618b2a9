package dev.keel.ca.node;

import java.time.Duration;
import java.util.List;
import java.util.Objects;

/**
 * What an operator asks for when creating a registration entry, as given; {@link RegistrationEntries#create}
 * checks it ({@link InvalidEntryException} names the field and the rule).
 *
 * <p>Limits: {@code spiffeId} in the CA's trust domain, not the trust domain's own ID and not under
 * the reserved {@code /keel/} path; {@code parentId} a node ID of that trust domain or
 * {@value RegistrationEntry#ALL_NODES}; 1 to {@value RegistrationEntries#MAX_SELECTORS} selectors
 * {@code type:value} (type {@code [a-z0-9_-]+}, value non-empty without control characters, at most
 * {@value RegistrationEntries#MAX_SELECTOR_LENGTH} characters in all); TTLs zero (the CA default) or
 * positive and at most 90 days ({@code x509SvidTtl}, further capped by the CA's policy) or {@code CitadelCa.JWT_MAX_TTL}
 * ({@code jwtSvidTtl}), in whole seconds; {@code hint} at most {@value RegistrationEntries#MAX_HINT_LENGTH}
 * characters without control characters.
 */
public record EntrySpec(String spiffeId, String parentId, List<String> selectors, Duration x509SvidTtl,
        Duration jwtSvidTtl, String hint) {

    public EntrySpec {
        Objects.requireNonNull(spiffeId, "spiffeId");
        Objects.requireNonNull(parentId, "parentId");
        selectors = List.copyOf(selectors);
        Objects.requireNonNull(x509SvidTtl, "x509SvidTtl");
        Objects.requireNonNull(jwtSvidTtl, "jwtSvidTtl");
        Objects.requireNonNull(hint, "hint");
    }

    /** An entry with the CA's default TTLs and no hint. */
    public static EntrySpec of(String spiffeId, String parentId, List<String> selectors) {
        return new EntrySpec(spiffeId, parentId, selectors, Duration.ZERO, Duration.ZERO, "");
    }
}
