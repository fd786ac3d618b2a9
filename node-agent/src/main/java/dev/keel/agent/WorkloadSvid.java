package dev.keel.agent;

import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.time.Instant;
import java.util.List;
import java.util.Objects;

/**
 * An X.509-SVID the agent holds for a registration entry: the chain the CA signed (leaf first)
 * and the private key generated on this node, which never leaves it except to the entitled
 * workload over the Workload API.
 */
public record WorkloadSvid(RegistrationEntry entry, List<X509Certificate> chain, PrivateKey privateKey) {

    public WorkloadSvid {
        Objects.requireNonNull(entry, "entry");
        chain = List.copyOf(chain);
        Objects.requireNonNull(privateKey, "privateKey");
        if (chain.isEmpty()) {
            throw new IllegalArgumentException("entry " + entry.id() + ": empty certificate chain");
        }
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

    /** Valid at {@code now}: the agent never hands out an SVID that is expired or not yet valid. */
    public boolean isValidAt(Instant now) {
        return !now.isBefore(notBefore()) && now.isBefore(notAfter());
    }

    /** Never prints the key. */
    @Override
    public String toString() {
        return "WorkloadSvid[" + entry.spiffeId() + ", entry " + entry.id() + ", notAfter " + notAfter() + "]";
    }
}
