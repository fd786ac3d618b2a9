package dev.keel.identity;

import java.util.Objects;

/**
 * A SPIFFE trust domain name, validated per the SPIFFE ID specification (section 2.1): lower-case
 * letters, digits, dots, dashes and underscores only, at most 255 characters, no port or userinfo.
 *
 * <p>Immutable and thread-safe. Two trust domains are equal when their names are equal.
 */
public final class TrustDomain {

    /** The Istio default trust domain. */
    public static final TrustDomain CLUSTER_LOCAL = new TrustDomain("cluster.local");

    static final int MAX_LENGTH = 255;

    private final String name;

    private TrustDomain(String name) {
        this.name = name;
    }

    /**
     * Parses a trust domain name ({@code example.org}) or the SPIFFE ID of a trust domain
     * ({@code spiffe://example.org}).
     *
     * @throws InvalidSpiffeIdException naming the rule that failed
     */
    public static TrustDomain parse(String value) {
        Objects.requireNonNull(value, "value");
        if (value.isEmpty()) {
            throw new InvalidSpiffeIdException(InvalidSpiffeIdException.Rule.TRUST_DOMAIN_MISSING,
                    "trust domain: cannot be empty");
        }
        if (value.contains(":/")) {
            SpiffeId id = SpiffeId.parse(value);
            if (!id.path().isEmpty()) {
                throw new InvalidSpiffeIdException(InvalidSpiffeIdException.Rule.TRUST_DOMAIN_HAS_PATH,
                        "trust domain: \"" + SpiffeIdRules.abbreviate(value) + "\" has a path (expected: spiffe://<trust-domain> only)");
            }
            return id.trustDomain();
        }
        return of(value);
    }

    /** Validates a bare trust domain name. */
    static TrustDomain of(String name) {
        InvalidSpiffeIdException error = SpiffeIdRules.trustDomainError(name);
        if (error != null) {
            throw error;
        }
        return CLUSTER_LOCAL.name.equals(name) ? CLUSTER_LOCAL : new TrustDomain(name);
    }

    /** The name, e.g. {@code cluster.local}. */
    public String name() {
        return name;
    }

    /** The SPIFFE ID of the trust domain itself, {@code spiffe://<name>}, used as the CA's URI SAN. */
    public SpiffeId spiffeId() {
        return SpiffeId.of(this, "");
    }

    /** The workload ID Istio uses for a Kubernetes service account: {@code /ns/<ns>/sa/<sa>}. */
    public SpiffeId workload(String namespace, String serviceAccount) {
        return SpiffeId.fromSegments(this, "ns", namespace, "sa", serviceAccount);
    }

    /** The node ID Keel uses for a node agent: {@code /keel/node/<name>}. */
    public SpiffeId node(String nodeName) {
        return SpiffeId.fromSegments(this, "keel", "node", nodeName);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof TrustDomain && ((TrustDomain) o).name.equals(name);
    }

    @Override
    public int hashCode() {
        return name.hashCode();
    }

    @Override
    public String toString() {
        return name;
    }
}
