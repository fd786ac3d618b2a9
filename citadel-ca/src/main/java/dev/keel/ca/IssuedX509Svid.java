package dev.keel.ca;

import dev.keel.identity.SpiffeId;
import java.math.BigInteger;
import java.security.cert.X509Certificate;
import java.time.Instant;
import java.util.List;

/**
 * An X.509-SVID the CA has issued and validated.
 *
 * @param spiffeId the identity in its URI SAN
 * @param chain the leaf first, then the CA's chain up to (not including) the root
 * @param serial the leaf's serial number
 * @param notAfter the leaf's expiry
 * @param roots the trust anchors the chain verifies to, taken with the chain so a rotation between
 *     issuing and answering cannot pair them wrongly
 */
public record IssuedX509Svid(SpiffeId spiffeId, List<X509Certificate> chain, BigInteger serial, Instant notAfter,
        List<X509Certificate> roots) {

    public IssuedX509Svid {
        chain = List.copyOf(chain);
        roots = List.copyOf(roots);
    }

    public X509Certificate leaf() {
        return chain.get(0);
    }
}
