package dev.keel.ca.node;

import dev.keel.identity.InvalidSpiffeIdException;
import dev.keel.identity.SpiffeId;
import dev.keel.identity.TrustDomain;
import java.util.Objects;
import java.util.Optional;

/**
 * Node identities, {@code spiffe://<td>/keel/node/<name>}, and the reserved {@code /keel/} path
 * they live under: only the CA hands out IDs there (its own {@code /keel/ca}, nodes through join
 * tokens), so a registration entry may never name one. Stateless.
 */
public final class NodeIds {

    /** Kubernetes node names are DNS subdomains of at most 253 characters; no Keel node needs more. */
    public static final int MAX_NODE_NAME_LENGTH = 253;

    private static final String NODE_PREFIX = "/keel/node/";

    private NodeIds() {
    }

    /**
     * Checks a node name: one SPIFFE path segment (letters, digits, '.', '-', '_'), at most
     * {@value #MAX_NODE_NAME_LENGTH} characters.
     *
     * @return the node's SPIFFE ID in {@code trustDomain}
     * @throws IllegalArgumentException {@code "node: ..."} naming the rule
     */
    public static SpiffeId nodeId(TrustDomain trustDomain, String nodeName) {
        Objects.requireNonNull(trustDomain, "trustDomain");
        Objects.requireNonNull(nodeName, "nodeName");
        if (nodeName.length() > MAX_NODE_NAME_LENGTH) {
            throw new IllegalArgumentException("node: " + nodeName.length() + " characters (expected: <= "
                    + MAX_NODE_NAME_LENGTH + ")");
        }
        try {
            return trustDomain.node(nodeName);
        } catch (InvalidSpiffeIdException e) {
            throw new IllegalArgumentException("node: \"" + abbreviate(nodeName) + "\" is not a SPIFFE path segment: "
                    + e.getMessage(), e);
        }
    }

    /** The node name if {@code id} is a node ID of {@code trustDomain}; empty for anything else. */
    public static Optional<String> nodeName(SpiffeId id, TrustDomain trustDomain) {
        if (!id.memberOf(trustDomain) || !id.path().startsWith(NODE_PREFIX)) {
            return Optional.empty();
        }
        String name = id.path().substring(NODE_PREFIX.length());
        return name.isEmpty() || name.indexOf('/') >= 0 ? Optional.empty() : Optional.of(name);
    }

    /** True for IDs under {@code /keel}, which only the CA itself assigns. */
    public static boolean reserved(SpiffeId id) {
        return id.path().equals("/keel") || id.path().startsWith("/keel/");
    }

    static String abbreviate(String s) {
        return s.length() <= 120 ? s : s.substring(0, 117) + "...";
    }
}
