package dev.keel.identity;

import java.security.cert.X509Certificate;
import java.time.Instant;
import java.util.List;
import java.util.Objects;

/**
 * An X.509-SVID: a SPIFFE ID and the certificate chain that carries it, leaf first, intermediates
 * after, without the root. Holding one means the leaf names exactly one SPIFFE ID, nothing more:
 * whether the chain is trusted is {@link X509SvidVerifier}'s job, and the private key lives in a
 * {@link SigningKey} or with whoever generated it.
 *
 * <p>Immutable and thread-safe.
 */
public final class X509Svid {

    private final SpiffeId spiffeId;
    private final List<X509Certificate> chain;

    private X509Svid(SpiffeId spiffeId, List<X509Certificate> chain) {
        this.spiffeId = spiffeId;
        this.chain = chain;
    }

    /**
     * The SVID carried by {@code chain} (leaf first): its SPIFFE ID is the leaf's one URI SAN.
     *
     * @throws IllegalArgumentException if the chain is empty, the leaf has zero or several URI SANs, or
     *     its URI SAN is not a valid SPIFFE ID
     * @throws NullPointerException if the chain or one of its elements is null
     */
    public static X509Svid of(List<X509Certificate> chain) {
        Objects.requireNonNull(chain, "chain");
        List<X509Certificate> copy = List.copyOf(chain);
        if (copy.isEmpty()) {
            throw new IllegalArgumentException("chain: empty (expected: the leaf certificate first)");
        }
        return new X509Svid(spiffeIdOf(copy.get(0)), copy);
    }

    /** The SPIFFE ID in {@code leaf}'s single URI SAN. */
    static SpiffeId spiffeIdOf(X509Certificate leaf) {
        List<String> uris = X509Certificates.uriSans(leaf);
        if (uris.size() != 1) {
            throw new IllegalArgumentException("X.509-SVID: leaf " + X509Certificates.describe(leaf) + " has "
                    + uris.size() + " URI SANs " + (uris.isEmpty() ? "" : uris + " ") + "(expected: exactly one, the SPIFFE ID)");
        }
        try {
            return SpiffeId.parse(uris.get(0));
        } catch (InvalidSpiffeIdException e) {
            throw new IllegalArgumentException("X.509-SVID: leaf URI SAN is not a valid SPIFFE ID: " + e.getMessage(), e);
        }
    }

    public SpiffeId spiffeId() {
        return spiffeId;
    }

    /** The chain, leaf first; unmodifiable. */
    public List<X509Certificate> chain() {
        return chain;
    }

    public X509Certificate leaf() {
        return chain.get(0);
    }

    /** The leaf's notAfter: when the SVID expires, whatever the intermediates say. */
    public Instant notAfter() {
        return leaf().getNotAfter().toInstant();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof X509Svid && ((X509Svid) o).spiffeId.equals(spiffeId) && ((X509Svid) o).chain.equals(chain);
    }

    @Override
    public int hashCode() {
        return 31 * spiffeId.hashCode() + chain.hashCode();
    }

    @Override
    public String toString() {
        return "X509Svid{" + spiffeId + ", notAfter=" + notAfter() + ", serial=" + leaf().getSerialNumber().toString(16)
                + ", chain=" + chain.size() + "}";
    }
}
