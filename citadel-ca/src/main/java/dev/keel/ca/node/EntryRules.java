package dev.keel.ca.node;

import dev.keel.identity.InvalidSpiffeIdException;
import dev.keel.identity.SpiffeId;
import dev.keel.identity.TrustDomain;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.TreeSet;

/**
 * The rules an entry obeys, applied when it is created and again whenever the store is read, so an
 * entry edited into the file by hand gets no further than one created through the CLI.
 */
final class EntryRules {

    private final TrustDomain trustDomain;
    private final Duration maxX509SvidTtl;
    private final Duration maxJwtSvidTtl;

    EntryRules(TrustDomain trustDomain, Duration maxX509SvidTtl, Duration maxJwtSvidTtl) {
        this.trustDomain = trustDomain;
        this.maxX509SvidTtl = maxX509SvidTtl;
        this.maxJwtSvidTtl = maxJwtSvidTtl;
    }

    RegistrationEntry check(String id, EntrySpec spec, Instant createdAt) {
        if (id.isEmpty() || id.length() > 64) {
            throw new InvalidEntryException("id", "empty or longer than 64 characters");
        }
        return new RegistrationEntry(id, spiffeId(spec.spiffeId()), parentId(spec.parentId()),
                selectors(spec.selectors()), ttl("x509_svid_ttl", spec.x509SvidTtl(), maxX509SvidTtl),
                ttl("jwt_svid_ttl", spec.jwtSvidTtl(), maxJwtSvidTtl), hint(spec.hint()), createdAt);
    }

    private SpiffeId spiffeId(String value) {
        SpiffeId id;
        try {
            id = SpiffeId.parse(value);
        } catch (InvalidSpiffeIdException e) {
            throw new InvalidEntryException("spiffe_id", e.getMessage());
        }
        if (!id.memberOf(trustDomain)) {
            throw new InvalidEntryException("spiffe_id", id + " is outside this CA's trust domain " + trustDomain);
        }
        if (id.path().isEmpty()) {
            throw new InvalidEntryException("spiffe_id", id + " is the trust domain itself (expected: a workload ID, "
                    + "e.g. " + trustDomain.workload("default", "web") + ")");
        }
        if (NodeIds.reserved(id)) {
            throw new InvalidEntryException("spiffe_id", id + " is under the reserved path /keel/ (node and CA "
                    + "identities are assigned by the CA only)");
        }
        return id;
    }

    private String parentId(String value) {
        if (value.equals(RegistrationEntry.ALL_NODES)) {
            return value;
        }
        SpiffeId id;
        try {
            id = SpiffeId.parse(value);
        } catch (InvalidSpiffeIdException e) {
            throw new InvalidEntryException("parent_id", e.getMessage());
        }
        if (NodeIds.nodeName(id, trustDomain).isEmpty()) {
            throw new InvalidEntryException("parent_id", id + " is not a node ID of this CA (expected: "
                    + trustDomain.spiffeId() + "/keel/node/<name>, or " + RegistrationEntry.ALL_NODES + " for every node)");
        }
        return id.toString();
    }

    private static List<String> selectors(List<String> values) {
        if (values.isEmpty()) {
            // An entry without selectors would match every process on the node.
            throw new InvalidEntryException("selectors", "none (expected: at least one type:value, e.g. unix:uid:1000)");
        }
        if (values.size() > RegistrationEntries.MAX_SELECTORS) {
            throw new InvalidEntryException("selectors", values.size() + " (expected: <= "
                    + RegistrationEntries.MAX_SELECTORS + ")");
        }
        TreeSet<String> sorted = new TreeSet<>();
        for (String value : values) {
            sorted.add(selector(value));
        }
        return List.copyOf(sorted);
    }

    /** The node agent's {@code Selector} rule, checked again here: the CA trusts no one's parsing. */
    static String selector(String value) {
        int colon = value.indexOf(':');
        if (colon <= 0 || colon == value.length() - 1) {
            throw new InvalidEntryException("selectors", "\"" + printable(value) + "\" is not type:value (e.g. unix:uid:1000)");
        }
        String type = value.substring(0, colon);
        if (!type.chars().allMatch(c -> c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_' || c == '-')) {
            throw new InvalidEntryException("selectors", "type \"" + printable(type)
                    + "\" (expected: lowercase letters, digits, '-' or '_')");
        }
        if (value.length() > RegistrationEntries.MAX_SELECTOR_LENGTH) {
            throw new InvalidEntryException("selectors", type + ": " + value.length() + " characters (expected: <= "
                    + RegistrationEntries.MAX_SELECTOR_LENGTH + ")");
        }
        if (value.chars().anyMatch(EntryRules::control)) {
            throw new InvalidEntryException("selectors", type + ": control character in value");
        }
        return value;
    }

    private static Duration ttl(String field, Duration ttl, Duration max) {
        if (ttl.isNegative() || ttl.getNano() != 0) {
            throw new InvalidEntryException(field, ttl + " (expected: 0 for the CA default, or whole seconds > 0)");
        }
        if (ttl.compareTo(max) > 0) {
            throw new InvalidEntryException(field, ttl.toSeconds() + "s (expected: <= " + max.toSeconds() + "s)");
        }
        return ttl;
    }

    private static String hint(String hint) {
        if (hint.length() > RegistrationEntries.MAX_HINT_LENGTH) {
            throw new InvalidEntryException("hint", hint.length() + " characters (expected: <= "
                    + RegistrationEntries.MAX_HINT_LENGTH + ")");
        }
        if (hint.chars().anyMatch(EntryRules::control)) {
            throw new InvalidEntryException("hint", "control character (expected: printable text)");
        }
        return hint;
    }

    private static boolean control(int c) {
        return c < 0x20 || c == 0x7f;
    }

    private static String printable(String s) {
        StringBuilder out = new StringBuilder();
        for (int i = 0; i < s.length() && out.length() < 80; i++) {
            char c = s.charAt(i);
            out.append(control(c) ? '?' : c);
        }
        return s.length() > 80 ? out + "..." : out.toString();
    }
}
