package dev.keel.ca;

import dev.keel.identity.Bundle;
import dev.keel.identity.BundleJson;
import java.time.Duration;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicReference;

/**
 * The CA's current SPIFFE trust bundle: its roots as X.509 authorities, its JWT-SVID key as a JWT
 * authority, and a sequence number that grows with every change, so bundle consumers can tell new
 * from old. The JSON is encoded once per change, not per request. Thread-safe.
 */
public final class TrustBundle {

    /** How often consumers should poll the bundle endpoint (SPIFFE {@code spiffe_refresh_hint}). */
    public static final Duration REFRESH_HINT = Duration.ofMinutes(5);

    private record Snapshot(Bundle bundle, String json) {
    }

    private final AtomicReference<Snapshot> current = new AtomicReference<>();

    public TrustBundle(SigningCa ca, String jwtKeyId, java.security.PublicKey jwtKey, long sequence) {
        update(ca, jwtKeyId, jwtKey, sequence);
    }

    /** Publishes a new bundle, e.g. after a root rotation. */
    public void update(SigningCa ca, String jwtKeyId, java.security.PublicKey jwtKey, long sequence) {
        Objects.requireNonNull(ca, "ca");
        Bundle bundle = Bundle.builder(ca.trustDomain())
                .x509Authorities(ca.roots())
                .putJwtAuthority(jwtKeyId, jwtKey)
                .sequenceNumber(sequence)
                .refreshHint(REFRESH_HINT)
                .build();
        current.set(new Snapshot(bundle, BundleJson.encode(bundle)));
    }

    public Bundle bundle() {
        return current.get().bundle();
    }

    /** The SPIFFE bundle JSON document. */
    public String json() {
        return current.get().json();
    }
}
