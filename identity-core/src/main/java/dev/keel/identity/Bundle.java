package dev.keel.identity;

import java.security.PublicKey;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalLong;

/**
 * A SPIFFE trust bundle: the keys that are authoritative for one trust domain. X.509 authorities
 * (CA certificates, usually self-signed roots) validate X.509-SVIDs; JWT authorities (public keys by
 * key ID) validate JWT-SVIDs. The optional sequence number and refresh hint are those of the SPIFFE
 * bundle format ({@link BundleJson}).
 *
 * <p>Immutable and thread-safe; the {@code with...} methods return modified copies. X.509 authorities
 * keep their order, duplicates dropped; JWT key IDs are unique. Key strength is not judged here, the
 * verifiers do that where a key is used.
 */
public final class Bundle {

    private final TrustDomain trustDomain;
    private final List<X509Certificate> x509Authorities;
    private final Map<String, PublicKey> jwtAuthorities;
    private final long sequenceNumber;
    private final Duration refreshHint;

    private Bundle(Builder builder) {
        this.trustDomain = builder.trustDomain;
        this.x509Authorities = List.copyOf(builder.x509Authorities);
        this.jwtAuthorities = Collections.unmodifiableMap(new LinkedHashMap<>(builder.jwtAuthorities));
        this.sequenceNumber = builder.sequenceNumber;
        this.refreshHint = builder.refreshHint;
    }

    /** A builder for a bundle of {@code trustDomain}, initially without keys, sequence number or refresh hint. */
    public static Builder builder(TrustDomain trustDomain) {
        return new Builder(Objects.requireNonNull(trustDomain, "trustDomain"));
    }

    /** A bundle holding only X.509 authorities. */
    public static Bundle of(TrustDomain trustDomain, List<X509Certificate> x509Authorities) {
        return builder(trustDomain).x509Authorities(x509Authorities).build();
    }

    public TrustDomain trustDomain() {
        return trustDomain;
    }

    /** The CA certificates that anchor X.509-SVIDs of this trust domain; unmodifiable, possibly empty. */
    public List<X509Certificate> x509Authorities() {
        return x509Authorities;
    }

    /** JWT authorities by key ID ({@code kid}); unmodifiable, in insertion order, possibly empty. */
    public Map<String, PublicKey> jwtAuthorities() {
        return jwtAuthorities;
    }

    /** The JWT authority with {@code keyId}, if any. */
    public Optional<PublicKey> jwtAuthority(String keyId) {
        return Optional.ofNullable(jwtAuthorities.get(Objects.requireNonNull(keyId, "keyId")));
    }

    /** The bundle's {@code spiffe_sequence}: it increases whenever the contents change. */
    public OptionalLong sequenceNumber() {
        return sequenceNumber < 0 ? OptionalLong.empty() : OptionalLong.of(sequenceNumber);
    }

    /** The bundle's {@code spiffe_refresh_hint}: how often consumers should fetch it again. */
    public Optional<Duration> refreshHint() {
        return Optional.ofNullable(refreshHint);
    }

    /** A copy with these X.509 authorities instead. */
    public Bundle withX509Authorities(List<X509Certificate> authorities) {
        return toBuilder().x509Authorities(authorities).build();
    }

    /** A copy with these JWT authorities instead. */
    public Bundle withJwtAuthorities(Map<String, PublicKey> authorities) {
        return toBuilder().jwtAuthorities(authorities).build();
    }

    /** A copy with this sequence number. */
    public Bundle withSequenceNumber(long sequenceNumber) {
        return toBuilder().sequenceNumber(sequenceNumber).build();
    }

    /** A copy with this refresh hint. */
    public Bundle withRefreshHint(Duration refreshHint) {
        return toBuilder().refreshHint(refreshHint).build();
    }

    /** A builder starting from this bundle's contents. */
    public Builder toBuilder() {
        Builder builder = new Builder(trustDomain).x509Authorities(x509Authorities).jwtAuthorities(jwtAuthorities);
        builder.sequenceNumber = sequenceNumber;
        builder.refreshHint = refreshHint;
        return builder;
    }

    @Override
    public boolean equals(Object o) {
        if (!(o instanceof Bundle)) {
            return false;
        }
        Bundle other = (Bundle) o;
        return trustDomain.equals(other.trustDomain) && x509Authorities.equals(other.x509Authorities)
                && jwtAuthorities.equals(other.jwtAuthorities) && sequenceNumber == other.sequenceNumber
                && Objects.equals(refreshHint, other.refreshHint);
    }

    @Override
    public int hashCode() {
        return Objects.hash(trustDomain, x509Authorities, jwtAuthorities, sequenceNumber, refreshHint);
    }

    @Override
    public String toString() {
        return "Bundle{trustDomain=" + trustDomain + ", x509Authorities=" + x509Authorities.size()
                + ", jwtAuthorities=" + jwtAuthorities.keySet()
                + (sequenceNumber < 0 ? "" : ", sequenceNumber=" + sequenceNumber)
                + (refreshHint == null ? "" : ", refreshHint=" + refreshHint) + "}";
    }

    /** Builds a {@link Bundle}. Not thread-safe; build once, share the bundle. */
    public static final class Builder {

        private final TrustDomain trustDomain;
        private final LinkedHashSet<X509Certificate> x509Authorities = new LinkedHashSet<>();
        private final Map<String, PublicKey> jwtAuthorities = new LinkedHashMap<>();
        private long sequenceNumber = -1;
        private Duration refreshHint;

        Builder(TrustDomain trustDomain) {
            this.trustDomain = trustDomain;
        }

        /** Adds an X.509 authority; adding one that is already there changes nothing. */
        public Builder addX509Authority(X509Certificate authority) {
            x509Authorities.add(Objects.requireNonNull(authority, "authority"));
            return this;
        }

        /** Replaces the X.509 authorities. */
        public Builder x509Authorities(List<X509Certificate> authorities) {
            Objects.requireNonNull(authorities, "authorities");
            List<X509Certificate> copy = new ArrayList<>(authorities.size());
            for (X509Certificate authority : authorities) {
                copy.add(Objects.requireNonNull(authority, "authority"));
            }
            x509Authorities.clear();
            x509Authorities.addAll(copy);
            return this;
        }

        /**
         * Adds a JWT authority.
         *
         * @throws IllegalArgumentException if {@code keyId} is empty or already present
         */
        public Builder putJwtAuthority(String keyId, PublicKey key) {
            Objects.requireNonNull(keyId, "keyId");
            Objects.requireNonNull(key, "key");
            if (keyId.isEmpty()) {
                throw new IllegalArgumentException("keyId: empty (expected: a non-empty key ID)");
            }
            if (jwtAuthorities.containsKey(keyId)) {
                throw new IllegalArgumentException("keyId: \"" + keyId + "\" is already present (expected: unique key IDs)");
            }
            jwtAuthorities.put(keyId, key);
            return this;
        }

        /** Replaces the JWT authorities. */
        public Builder jwtAuthorities(Map<String, PublicKey> authorities) {
            Objects.requireNonNull(authorities, "authorities");
            Map<String, PublicKey> previous = new LinkedHashMap<>(jwtAuthorities);
            jwtAuthorities.clear();
            try {
                authorities.forEach(this::putJwtAuthority);
            } catch (RuntimeException e) {
                jwtAuthorities.clear();
                jwtAuthorities.putAll(previous);
                throw e;
            }
            return this;
        }

        /** Sets the sequence number, {@code >= 0}. */
        public Builder sequenceNumber(long sequenceNumber) {
            if (sequenceNumber < 0) {
                throw new IllegalArgumentException("sequenceNumber: " + sequenceNumber + " (expected: >= 0)");
            }
            this.sequenceNumber = sequenceNumber;
            return this;
        }

        /** Removes the sequence number. */
        public Builder clearSequenceNumber() {
            this.sequenceNumber = -1;
            return this;
        }

        /** Sets the refresh hint: whole seconds, {@code > 0}, as the bundle format carries it; null removes it. */
        public Builder refreshHint(Duration refreshHint) {
            if (refreshHint != null && (refreshHint.isNegative() || refreshHint.isZero() || refreshHint.getNano() != 0)) {
                throw new IllegalArgumentException("refreshHint: " + refreshHint + " (expected: whole seconds > 0)");
            }
            this.refreshHint = refreshHint;
            return this;
        }

        public Bundle build() {
            return new Bundle(this);
        }
    }
}
