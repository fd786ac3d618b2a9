package dev.keel.proxy.outbound;

import dev.keel.identity.SpiffeId;
import java.util.Optional;
import java.util.Set;

/** The upstream proxy authenticated as an identity not allowed for the destination. */
final class SecureNamingException extends Exception {

    private static final long serialVersionUID = 1L;

    SecureNamingException(String destination, Optional<SpiffeId> presented, Set<SpiffeId> allowed) {
        super("upstream for " + destination + " presented " + presented.map(SpiffeId::toString).orElse("no SPIFFE ID")
                + ", not one of the identities allowed for it " + allowed, null, false, false);
    }
}
