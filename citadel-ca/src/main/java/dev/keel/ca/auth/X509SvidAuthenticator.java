package dev.keel.ca.auth;

import dev.keel.identity.BundleSource;
import dev.keel.identity.X509Svid;
import dev.keel.identity.X509SvidValidationException;
import dev.keel.identity.X509SvidVerifier;
import java.math.BigInteger;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Authenticates a caller by the X.509-SVID it presented as its TLS client certificate, checked per
 * the X509-SVID specification against the CA's current bundle. Used for renewal: the caller gets
 * the identity it already holds.
 *
 * <p>A verified chain is remembered until it expires or the bundle changes, because every call on
 * a connection presents the same chain and PKIX validation with the JDK's EC provider costs
 * milliseconds. Thread-safe.
 */
public final class X509SvidAuthenticator implements CallerAuthenticator {

    /** {@link Caller#method()} of callers it authenticates. */
    public static final String METHOD = "x509-svid";

    static final int CACHE_LIMIT = 10_000;

    /** @param validUntil the earliest notAfter in the chain: past it, the chain must be verified again */
    private record Verified(X509Svid svid, Object bundleVersion, Instant validUntil) {
    }

    private final java.util.function.Supplier<Object> bundleVersion;
    private final X509SvidVerifier verifier;
    private final Clock clock;
    private final Map<X509Certificate, Verified> verified = new ConcurrentHashMap<>();

    /**
     * @param bundleVersion identifies the bundle contents; when it changes, cached verifications are
     *     discarded (e.g. the bundle's sequence number)
     */
    public X509SvidAuthenticator(BundleSource bundles, java.util.function.Supplier<Object> bundleVersion, Clock clock) {
        this.bundleVersion = Objects.requireNonNull(bundleVersion, "bundleVersion");
        this.clock = Objects.requireNonNull(clock, "clock");
        this.verifier = X509SvidVerifier.create(Objects.requireNonNull(bundles, "bundles"), clock);
    }

    @Override
    public Optional<Caller> authenticate(CallerCredentials credentials) throws AuthenticationException {
        List<X509Certificate> chain = credentials.peerChain();
        if (chain.isEmpty()) {
            return Optional.empty();
        }
        X509Certificate leaf = chain.get(0);
        Instant now = clock.instant();
        Object version = bundleVersion.get();
        Verified cached = verified.get(leaf);
        X509Svid svid;
        if (cached != null && cached.bundleVersion().equals(version) && now.isBefore(cached.validUntil())
                && !now.isBefore(leaf.getNotBefore().toInstant())) {
            svid = cached.svid();
        } else {
            try {
                svid = verifier.verify(chain, now);
            } catch (X509SvidValidationException e) {
                throw new AuthenticationException("client certificate is not a valid X.509-SVID: " + e.getMessage());
            }
            if (verified.size() >= CACHE_LIMIT) {
                verified.clear();
            }
            Instant validUntil = chain.stream().map(c -> c.getNotAfter().toInstant()).min(Instant::compareTo).orElseThrow();
            verified.put(leaf, new Verified(svid, version, validUntil));
        }
        BigInteger serial = leaf.getSerialNumber();
        return Optional.of(new Caller(svid.spiffeId(), METHOD, "serial:" + serial.toString(16)));
    }

}
