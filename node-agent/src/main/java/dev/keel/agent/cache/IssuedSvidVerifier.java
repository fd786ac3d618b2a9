package dev.keel.agent.cache;

import dev.keel.identity.Bundle;
import dev.keel.identity.SignatureAlgorithm;
import dev.keel.identity.SignatureVerifier;
import dev.keel.identity.SpiffeId;
import dev.keel.identity.TrustDomain;
import dev.keel.identity.X509Svid;
import dev.keel.identity.X509SvidValidationException;
import dev.keel.identity.X509SvidVerifier;
import java.security.cert.CertificateEncodingException;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;

/**
 * Checks each X.509-SVID the CA returns before the agent serves it: the chain must verify under the
 * trust bundle (X509-SVID rules, {@link X509SvidVerifier}) and name the entry's SPIFFE ID.
 *
 * <p>Full path validation costs two signature verifications on the JDK's slow EC code, per SVID;
 * a cold agent with a thousand entries would spend most of its time there. So the first SVID under a
 * given intermediate chain is validated in full, and that chain is then remembered (with the bundle
 * it was validated under, until the first of its certificates expires): a later leaf under the same
 * chain gets the leaf checks the full validation would make (one URI SAN, not a CA, digitalSignature
 * and no keyCertSign or cRLSign, valid now, issuer name) and its signature verified under the
 * remembered issuer key through the fast {@link SignatureVerifier}. Anything else falls back to full
 * validation. Thread-safe.
 */
final class IssuedSvidVerifier {

    private record TrustedChain(List<X509Certificate> intermediates, Bundle bundle, SignatureVerifier issuer,
            Instant validUntil) {
    }

    private final Supplier<Bundle> bundle;
    private final Clock clock;
    private final X509SvidVerifier full;
    private volatile TrustedChain trusted;
    private final AtomicInteger fullVerifications = new AtomicInteger();

    IssuedSvidVerifier(TrustDomain trustDomain, Supplier<Bundle> bundle, Clock clock) {
        this.bundle = bundle;
        this.clock = clock;
        this.full = X509SvidVerifier.create(
                td -> td.equals(trustDomain) ? Optional.of(bundle.get()) : Optional.empty(), clock);
    }

    /** The chain as served (without trailing bundle authorities), or why it is refused. */
    List<X509Certificate> verify(List<X509Certificate> chain, SpiffeId expected) throws X509SvidValidationException {
        Bundle current = bundle.get();
        Instant now = clock.instant();
        TrustedChain known = trusted;
        List<X509Certificate> trimmed = withoutTrailingAuthorities(chain, current);
        List<X509Certificate> served;
        SpiffeId id;
        if (known != null && trimmed.size() >= 2 && known.bundle() == current && now.isBefore(known.validUntil())
                && trimmed.subList(1, trimmed.size()).equals(known.intermediates())
                && leafChecks(trimmed.get(0), known, now)) {
            served = trimmed;
            id = X509Svid.of(trimmed).spiffeId();
        } else {
            fullVerifications.incrementAndGet();
            X509Svid svid = full.verify(chain, now);
            served = svid.chain();
            id = svid.spiffeId();
            if (served.size() >= 2) {
                remember(served.subList(1, served.size()), current);
            }
        }
        if (!id.equals(expected)) {
            throw new IllegalArgumentException("the CA returned an SVID for " + id + " (expected: " + expected + ")");
        }
        return served;
    }

    /** How many chains were validated in full (the others took the remembered issuer). */
    int fullVerifications() {
        return fullVerifications.get();
    }

    /** As the full validation does: a CA may append its root, which the bundle already holds. */
    private static List<X509Certificate> withoutTrailingAuthorities(List<X509Certificate> chain, Bundle bundle) {
        int end = chain.size();
        while (end > 1 && bundle.x509Authorities().contains(chain.get(end - 1))) {
            end--;
        }
        return chain.subList(0, end);
    }

    private void remember(List<X509Certificate> intermediates, Bundle current) {
        Instant validUntil = Instant.MAX;
        for (X509Certificate certificate : intermediates) {
            Instant notAfter = certificate.getNotAfter().toInstant();
            if (notAfter.isBefore(validUntil)) {
                validUntil = notAfter;
            }
        }
        trusted = new TrustedChain(List.copyOf(intermediates), current,
                SignatureVerifier.of(intermediates.get(0).getPublicKey()), validUntil);
    }

    /** What full validation checks of a leaf, given that its issuer chain is already trusted. */
    private static boolean leafChecks(X509Certificate leaf, TrustedChain known, Instant now) {
        if (leaf.getBasicConstraints() >= 0) {
            return false;
        }
        boolean[] usage = leaf.getKeyUsage();
        if (usage == null || !usage[0] || (usage.length > 5 && usage[5]) || (usage.length > 6 && usage[6])) {
            return false;
        }
        if (now.isBefore(leaf.getNotBefore().toInstant()) || !now.isBefore(leaf.getNotAfter().toInstant())) {
            return false;
        }
        X509Certificate issuer = known.intermediates().get(0);
        if (!leaf.getIssuerX500Principal().equals(issuer.getSubjectX500Principal())) {
            return false;
        }
        if (leaf.getCriticalExtensionOIDs() != null && !KNOWN_CRITICAL.containsAll(leaf.getCriticalExtensionOIDs())) {
            return false;
        }
        SignatureAlgorithm algorithm = algorithmOf(leaf.getSigAlgOID());
        if (algorithm == null) {
            return false;
        }
        try {
            return known.issuer().verify(algorithm, leaf.getTBSCertificate(), leaf.getSignature());
        } catch (CertificateEncodingException e) {
            return false;
        }
    }

    /** Basic constraints, key usage, subject alternative name, extended key usage. */
    private static final Set<String> KNOWN_CRITICAL = Set.of("2.5.29.19", "2.5.29.15", "2.5.29.17",
            "2.5.29.37");

    private static SignatureAlgorithm algorithmOf(String oid) {
        for (SignatureAlgorithm algorithm : SignatureAlgorithm.values()) {
            if (algorithm.oid().equals(oid)) {
                return algorithm;
            }
        }
        return null;
    }
}
