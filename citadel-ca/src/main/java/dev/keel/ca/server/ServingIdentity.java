package dev.keel.ca.server;

import dev.keel.ca.CaException;
import dev.keel.ca.IssuedX509Svid;
import dev.keel.ca.X509SvidIssuer;
import dev.keel.ca.X509SvidParams;
import dev.keel.identity.KeyPairs;
import dev.keel.identity.KeyType;
import dev.keel.identity.SpiffeId;
import java.security.KeyPair;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;

/**
 * The CA's own TLS identity, {@code spiffe://<td>/keel/ca} plus the host names clients dial, issued
 * by the CA itself with a key that never leaves memory. {@link #renewIfDue()} replaces it at half its
 * lifetime. Thread-safe.
 */
final class ServingIdentity {

    static final Duration TTL = Duration.ofHours(24);

    private final X509SvidIssuer issuer;
    private final SpiffeId spiffeId;
    private final List<String> hosts;
    private final Clock clock;
    private final RotatingKeyManager keyManager;
    private volatile Instant renewAt;

    ServingIdentity(X509SvidIssuer issuer, List<String> hosts, Clock clock) throws CaException {
        this.issuer = issuer;
        this.spiffeId = SpiffeId.fromSegments(issuer.signingCa().trustDomain(), "keel", "ca");
        this.hosts = List.copyOf(hosts);
        this.clock = clock;
        KeyPair pair = KeyPairs.generate(KeyType.EC_P256);
        IssuedX509Svid svid = issue(pair);
        this.keyManager = new RotatingKeyManager(pair, svid.chain());
        this.renewAt = halfLife(svid);
    }

    RotatingKeyManager keyManager() {
        return keyManager;
    }

    SpiffeId spiffeId() {
        return spiffeId;
    }

    /** Renews the serving certificate when half its lifetime has passed; true if it did. */
    synchronized boolean renewIfDue() throws CaException {
        if (clock.instant().isBefore(renewAt)) {
            return false;
        }
        KeyPair pair = KeyPairs.generate(KeyType.EC_P256);
        IssuedX509Svid svid = issue(pair);
        keyManager.rotate(pair, svid.chain());
        renewAt = halfLife(svid);
        return true;
    }

    private IssuedX509Svid issue(KeyPair pair) throws CaException {
        return issuer.issueServingCertificate(new X509SvidParams(spiffeId, pair.getPublic(), TTL), hosts);
    }

    private Instant halfLife(IssuedX509Svid svid) {
        Instant notBefore = svid.leaf().getNotBefore().toInstant();
        return notBefore.plus(Duration.between(notBefore, svid.notAfter()).dividedBy(2));
    }
}
