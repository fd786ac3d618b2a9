package dev.keel.identity;

import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * Where a verifier finds the bundle of a trust domain: the local one, federated ones, the latest
 * from the Workload API stream. Implementations must be thread-safe and must not block for long:
 * verifiers call this on every handshake.
 */
@FunctionalInterface
public interface BundleSource {

    /** The current bundle of {@code trustDomain}, or empty when it is not trusted at all. */
    Optional<Bundle> bundleFor(TrustDomain trustDomain);

    /** A fixed source over {@code bundles}, at most one per trust domain. */
    static BundleSource of(Bundle... bundles) {
        return of(List.of(bundles));
    }

    /**
     * A fixed source over {@code bundles}.
     *
     * @throws IllegalArgumentException if two bundles are for the same trust domain
     */
    static BundleSource of(Collection<Bundle> bundles) {
        Objects.requireNonNull(bundles, "bundles");
        Map<TrustDomain, Bundle> byDomain = new HashMap<>();
        for (Bundle bundle : bundles) {
            Objects.requireNonNull(bundle, "bundle");
            if (byDomain.putIfAbsent(bundle.trustDomain(), bundle) != null) {
                throw new IllegalArgumentException("bundles: two bundles for trust domain " + bundle.trustDomain()
                        + " (expected: at most one per trust domain)");
            }
        }
        Map<TrustDomain, Bundle> frozen = Map.copyOf(byDomain);
        return trustDomain -> Optional.ofNullable(frozen.get(Objects.requireNonNull(trustDomain, "trustDomain")));
    }
}
