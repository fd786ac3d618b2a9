package dev.keel.agent.ca;

import dev.keel.identity.SpiffeId;
import dev.keel.identity.X509Svid;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.time.Instant;
import java.util.List;
import java.util.Objects;

/**
 * The node's own X.509-SVID ({@code spiffe://<td>/keel/node/<name>}, chosen by the CA) and the private
 * key generated for it on this node. Immutable; {@link #toString()} never shows the key.
 */
public record NodeSvid(SpiffeId spiffeId, List<X509Certificate> chain, PrivateKey privateKey) {

    public NodeSvid {
        Objects.requireNonNull(spiffeId, "spiffeId");
        chain = List.copyOf(chain);
        Objects.requireNonNull(privateKey, "privateKey");
        if (chain.isEmpty()) {
            throw new IllegalArgumentException("chain: empty");
        }
    }

    /** The SVID of {@code chain}, its SPIFFE ID from the leaf's URI SAN. */
    public static NodeSvid of(List<X509Certificate> chain, PrivateKey privateKey) {
        return new NodeSvid(X509Svid.of(chain).spiffeId(), chain, privateKey);
    }

    public X509Certificate leaf() {
        return chain.get(0);
    }

    public Instant notBefore() {
        return leaf().getNotBefore().toInstant();
    }

    public Instant notAfter() {
        return leaf().getNotAfter().toInstant();
    }

    @Override
    public String toString() {
        return "NodeSvid[" + spiffeId + ", serial " + leaf().getSerialNumber().toString(16) + ", notAfter " + notAfter()
                + "]";
    }
}
