package dev.keel.proxy;

import dev.keel.identity.Bundle;
import dev.keel.identity.SpiffeId;
import dev.keel.identity.TrustDomain;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * The proxy's own X.509-SVID (chain leaf first, key) and the trust bundles it verifies peers with,
 * as the node agent last streamed them. Immutable; a rotation produces a new one.
 */
public record X509Material(SpiffeId spiffeId, List<X509Certificate> chain, PrivateKey privateKey,
        Map<TrustDomain, Bundle> bundles) {

    public X509Material {
        Objects.requireNonNull(spiffeId, "spiffeId");
        chain = List.copyOf(chain);
        Objects.requireNonNull(privateKey, "privateKey");
        bundles = Map.copyOf(bundles);
        if (chain.isEmpty()) {
            throw new IllegalArgumentException("empty certificate chain");
        }
    }

    public X509Certificate leaf() {
        return chain.get(0);
    }

    /** Never prints the key. */
    @Override
    public String toString() {
        return "X509Material[" + spiffeId + ", notAfter " + leaf().getNotAfter().toInstant() + ", bundles "
                + bundles.keySet() + "]";
    }
}
