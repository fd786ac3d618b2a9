package dev.keel.ca;

import dev.keel.ca.internal.IssuedSvidValidator;
import dev.keel.ca.internal.SigningKeyContentSigner;
import dev.keel.ca.internal.X509SvidTemplate;
import dev.keel.identity.KeyType;
import dev.keel.identity.SigningException;
import dev.keel.identity.WeakKeyException;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import org.bouncycastle.cert.X509CertificateHolder;

/**
 * Issues leaf X.509-SVIDs in three steps: build the template ({@link X509SvidTemplate}), sign it
 * through the CA's {@link dev.keel.identity.SigningKey}, and validate what was issued
 * ({@link IssuedSvidValidator}) before anyone sees it.
 *
 * <p>It issues whatever identity {@link X509SvidParams} names: deciding whether the caller may have
 * that identity is the job of {@link CaService}, which is the only caller outside tests and tools.
 * Thread-safe; the signing CA can be swapped atomically for rotation.
 */
public final class X509SvidIssuer {

    /** A certificate shorter-lived than this is useless to its holder; past it, the CA refuses. */
    static final Duration MIN_LIFETIME = Duration.ofMinutes(1);

    private final Clock clock;
    private final IssuancePolicy policy;
    private volatile SigningCa signingCa;

    public X509SvidIssuer(SigningCa signingCa, IssuancePolicy policy, Clock clock) {
        this.signingCa = Objects.requireNonNull(signingCa, "signingCa");
        this.policy = Objects.requireNonNull(policy, "policy");
        this.clock = Objects.requireNonNull(clock, "clock");
    }

    public SigningCa signingCa() {
        return signingCa;
    }

    /** Replaces the signing CA; issuances already under way finish with the old one. */
    public void rotate(SigningCa next) {
        this.signingCa = Objects.requireNonNull(next, "next");
    }

    public IssuancePolicy policy() {
        return policy;
    }

    /**
     * Issues an SVID for {@code params}.
     *
     * @throws CaException INVALID_ARGUMENT for a weak key or an absurd TTL, UNAVAILABLE when the
     *     key custody backend cannot sign, INTERNAL when the result fails validation
     */
    public IssuedX509Svid issue(X509SvidParams params) throws CaException {
        return issue(params, List.of());
    }

    /**
     * Issues the CA's own serving certificate: an X.509-SVID that also names the hosts (DNS names
     * or IP literals) clients connect to, so they can check it as a TLS server certificate.
     */
    public IssuedX509Svid issueServingCertificate(X509SvidParams params, List<String> hosts) throws CaException {
        return issue(params, List.copyOf(hosts));
    }

    private IssuedX509Svid issue(X509SvidParams params, List<String> hosts) throws CaException {
        Objects.requireNonNull(params, "params");
        SigningCa ca = signingCa;
        if (!params.spiffeId().memberOf(ca.trustDomain())) {
            throw new CaException(CaException.Code.PERMISSION_DENIED, "SPIFFE ID " + params.spiffeId()
                    + " is outside this CA's trust domain " + ca.trustDomain());
        }
        try {
            KeyType.of(params.publicKey());
        } catch (WeakKeyException e) {
            throw new CaException(CaException.Code.INVALID_ARGUMENT, "key refused: " + e.getMessage());
        }
        Instant now = clock.instant();
        Instant caNotAfter = ca.certificate().getNotAfter().toInstant();
        if (!caNotAfter.isAfter(now.plus(MIN_LIFETIME))) {
            throw new CaException(CaException.Code.UNAVAILABLE, "the issuing CA certificate expires at " + caNotAfter
                    + "; it can no longer issue (renew the intermediate or plug in a new one)");
        }
        Duration ttl = effectiveTtl(params.requestedTtl());
        X509SvidTemplate template = X509SvidTemplate.build(ca, params, now, ttl, policy.backdate(), hosts);
        X509CertificateHolder signed;
        try {
            signed = template.sign(new SigningKeyContentSigner(ca.key(), ca.signatureAlgorithm()));
        } catch (SigningException e) {
            throw new CaException(e.unavailable() ? CaException.Code.UNAVAILABLE
                    : e.refused() ? CaException.Code.FAILED_PRECONDITION : CaException.Code.INTERNAL,
                    "CA key " + ca.key().id() + " could not sign: " + e.getMessage(), e);
        }
        X509Certificate leaf = IssuedSvidValidator.validate(signed, template, ca);
        List<X509Certificate> chain = new ArrayList<>(1 + ca.intermediates().size());
        chain.add(leaf);
        chain.addAll(ca.intermediates());
        return new IssuedX509Svid(params.spiffeId(), chain, template.serial(), template.notAfter(), ca.roots());
    }

    private Duration effectiveTtl(Duration requested) throws CaException {
        if (requested.compareTo(IssuancePolicy.ABSURD_TTL) > 0) {
            throw new CaException(CaException.Code.INVALID_ARGUMENT, "ttl: " + requested.toSeconds()
                    + "s (expected: <= " + IssuancePolicy.ABSURD_TTL.toSeconds() + "s; longer ones are capped to "
                    + policy.maxTtl().toSeconds() + "s)");
        }
        if (requested.isZero()) {
            return policy.defaultTtl();
        }
        return requested.compareTo(policy.maxTtl()) > 0 ? policy.maxTtl() : requested;
    }
}
