package dev.keel.identity;

import dev.keel.identity.X509SvidValidationException.Rule;
import java.security.GeneralSecurityException;
import java.security.cert.CertPath;
import java.security.cert.CertPathValidator;
import java.security.cert.CertPathValidatorException;
import java.security.cert.CertPathValidatorException.BasicReason;
import java.security.cert.CertificateExpiredException;
import java.security.cert.CertificateFactory;
import java.security.cert.CertificateNotYetValidException;
import java.security.cert.PKIXCertPathValidatorResult;
import java.security.cert.PKIXParameters;
import java.security.cert.PKIXReason;
import java.security.cert.TrustAnchor;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Date;
import java.util.HashSet;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;

/**
 * Validates X.509-SVID chains as the X509-SVID specification (section 5) says, plus Keel's key
 * policy:
 * <ol>
 *   <li>the leaf has exactly one URI SAN, a valid SPIFFE ID with a non-root path;</li>
 *   <li>the leaf is not a CA, has key usage digitalSignature and neither keyCertSign nor cRLSign;</li>
 *   <li>every other certificate in the chain is a CA with keyCertSign;</li>
 *   <li>every key in the chain, and the authority's, is one {@link KeyType} accepts (no RSA under 2048);</li>
 *   <li>the chain is valid at the verification time and verifies (RFC 5280 path validation by the
 *       JDK's PKIX validator, revocation off) up to an X.509 authority in the bundle of the leaf's own
 *       trust domain, which must itself be valid at that time.</li>
 * </ol>
 * Trailing certificates that are themselves authorities of the bundle (peers that send their root)
 * are dropped before path validation.
 *
 * <p>Immutable and thread-safe; each call uses its own JCA objects. It calls the {@link BundleSource}
 * once per chain.
 */
public final class X509SvidVerifier {

    private static final int KU_DIGITAL_SIGNATURE = 0;
    private static final int KU_KEY_CERT_SIGN = 5;
    private static final int KU_CRL_SIGN = 6;

    private final BundleSource bundles;
    private final Clock clock;

    private X509SvidVerifier(BundleSource bundles, Clock clock) {
        this.bundles = bundles;
        this.clock = clock;
    }

    /** A verifier that trusts what {@code bundles} returns, at the system clock's time. */
    public static X509SvidVerifier create(BundleSource bundles) {
        return create(bundles, Clock.systemUTC());
    }

    /** A verifier that trusts what {@code bundles} returns, at {@code clock}'s time. */
    public static X509SvidVerifier create(BundleSource bundles, Clock clock) {
        return new X509SvidVerifier(Objects.requireNonNull(bundles, "bundles"), Objects.requireNonNull(clock, "clock"));
    }

    /** Verifies {@code chain} (leaf first) at the clock's current time. */
    public X509Svid verify(List<X509Certificate> chain) throws X509SvidValidationException {
        return verify(chain, clock.instant());
    }

    /**
     * Verifies {@code chain} (leaf first) at {@code at}.
     *
     * @return the SVID, its chain without trailing bundle authorities
     * @throws X509SvidValidationException naming the first rule that failed
     */
    public X509Svid verify(List<X509Certificate> chain, Instant at) throws X509SvidValidationException {
        Objects.requireNonNull(chain, "chain");
        Objects.requireNonNull(at, "at");
        // Not chain.contains(null): immutable lists throw on that.
        if (chain.isEmpty() || chain.stream().anyMatch(Objects::isNull)) {
            throw new X509SvidValidationException(Rule.EMPTY_CHAIN, "the chain is empty or contains null");
        }
        X509Certificate leaf = chain.get(0);
        SpiffeId id = leafSpiffeId(leaf);
        checkLeaf(leaf, id);
        for (int i = 1; i < chain.size(); i++) {
            checkSigningCertificate(chain.get(i), i);
        }
        for (int i = 0; i < chain.size(); i++) {
            checkKey(chain.get(i), "certificate [" + i + "]");
        }

        Bundle bundle = bundleOf(id);
        List<X509Certificate> path = new ArrayList<>(chain);
        Set<X509Certificate> authorities = new HashSet<>(bundle.x509Authorities());
        while (path.size() > 1 && authorities.contains(path.get(path.size() - 1))) {
            path.remove(path.size() - 1);
        }
        for (int i = 0; i < path.size(); i++) {
            checkValidity(path.get(i), "certificate [" + i + "]" + (i == 0 ? " (leaf " + id + ")" : ""), at);
        }
        X509Certificate anchor = validatePath(path, bundle, id, at);
        checkValidity(anchor, "X.509 authority " + X509Certificates.describe(anchor), at);
        checkKey(anchor, "X.509 authority");
        return X509Svid.of(path);
    }

    private static SpiffeId leafSpiffeId(X509Certificate leaf) throws X509SvidValidationException {
        List<String> uris;
        try {
            uris = X509Certificates.uriSans(leaf);
        } catch (IllegalArgumentException e) {
            throw new X509SvidValidationException(Rule.LEAF_URI_SAN, e.getMessage(), e);
        }
        if (uris.size() != 1) {
            throw new X509SvidValidationException(Rule.LEAF_URI_SAN, "leaf " + X509Certificates.describe(leaf) + " has "
                    + uris.size() + " URI SANs" + (uris.isEmpty() ? "" : " " + uris) + " (expected: exactly one)");
        }
        SpiffeId id;
        try {
            id = SpiffeId.parse(uris.get(0));
        } catch (InvalidSpiffeIdException e) {
            throw new X509SvidValidationException(Rule.LEAF_SPIFFE_ID, "leaf URI SAN: " + e.getMessage(), e);
        }
        if (id.path().isEmpty()) {
            throw new X509SvidValidationException(Rule.LEAF_SPIFFE_ID, "leaf SPIFFE ID " + id
                    + " has no path (a trust domain's own ID belongs to its CA, not to a workload)");
        }
        return id;
    }

    private static void checkLeaf(X509Certificate leaf, SpiffeId id) throws X509SvidValidationException {
        if (leaf.getBasicConstraints() >= 0) {
            throw new X509SvidValidationException(Rule.LEAF_CA, "leaf " + id + " is a CA certificate (expected: CA:false)");
        }
        boolean[] usage = leaf.getKeyUsage();
        if (usage == null) {
            throw new X509SvidValidationException(Rule.LEAF_KEY_USAGE, "leaf " + id
                    + " has no key usage extension (expected: digitalSignature)");
        }
        if (!bit(usage, KU_DIGITAL_SIGNATURE)) {
            throw new X509SvidValidationException(Rule.LEAF_KEY_USAGE, "leaf " + id
                    + " lacks key usage digitalSignature");
        }
        if (bit(usage, KU_KEY_CERT_SIGN) || bit(usage, KU_CRL_SIGN)) {
            throw new X509SvidValidationException(Rule.LEAF_KEY_USAGE, "leaf " + id + " has key usage "
                    + (bit(usage, KU_KEY_CERT_SIGN) ? "keyCertSign" : "cRLSign") + " (not allowed on a leaf)");
        }
    }

    private static void checkSigningCertificate(X509Certificate certificate, int index)
            throws X509SvidValidationException {
        String name = "certificate [" + index + "] " + X509Certificates.describe(certificate);
        if (certificate.getBasicConstraints() < 0) {
            throw new X509SvidValidationException(Rule.SIGNING_CERTIFICATE, name
                    + " signs the chain but is not a CA (expected: CA:true)");
        }
        boolean[] usage = certificate.getKeyUsage();
        if (usage == null || !bit(usage, KU_KEY_CERT_SIGN)) {
            throw new X509SvidValidationException(Rule.SIGNING_CERTIFICATE, name
                    + " signs the chain but lacks key usage keyCertSign");
        }
    }

    private static void checkKey(X509Certificate certificate, String name) throws X509SvidValidationException {
        try {
            KeyType.of(certificate.getPublicKey());
        } catch (WeakKeyException e) {
            throw new X509SvidValidationException(Rule.WEAK_KEY, name + " " + X509Certificates.describe(certificate)
                    + ": " + e.getMessage(), e);
        }
    }

    private Bundle bundleOf(SpiffeId id) throws X509SvidValidationException {
        TrustDomain td = id.trustDomain();
        Optional<Bundle> bundle = bundles.bundleFor(td);
        if (bundle == null || bundle.isEmpty()) {
            throw new X509SvidValidationException(Rule.NO_BUNDLE, "no bundle for trust domain " + td + " of " + id);
        }
        if (!bundle.get().trustDomain().equals(td)) {
            throw new X509SvidValidationException(Rule.NO_BUNDLE, "the bundle source returned the bundle of "
                    + bundle.get().trustDomain() + " for trust domain " + td);
        }
        if (bundle.get().x509Authorities().isEmpty()) {
            throw new X509SvidValidationException(Rule.NO_BUNDLE, "the bundle of trust domain " + td
                    + " has no X.509 authorities");
        }
        return bundle.get();
    }

    private static void checkValidity(X509Certificate certificate, String name, Instant at)
            throws X509SvidValidationException {
        try {
            certificate.checkValidity(Date.from(at));
        } catch (CertificateExpiredException e) {
            throw new X509SvidValidationException(Rule.EXPIRED, name + " expired at "
                    + certificate.getNotAfter().toInstant() + " (now: " + at + ")", e);
        } catch (CertificateNotYetValidException e) {
            throw new X509SvidValidationException(Rule.NOT_YET_VALID, name + " is not valid before "
                    + certificate.getNotBefore().toInstant() + " (now: " + at + ")", e);
        }
    }

    private static X509Certificate validatePath(List<X509Certificate> path, Bundle bundle, SpiffeId id, Instant at)
            throws X509SvidValidationException {
        String bundleName = "the X.509 authorities of trust domain " + bundle.trustDomain();
        try {
            Set<TrustAnchor> anchors = new HashSet<>();
            for (X509Certificate authority : bundle.x509Authorities()) {
                anchors.add(new TrustAnchor(authority, null));
            }
            PKIXParameters params = new PKIXParameters(anchors);
            params.setRevocationEnabled(false);
            params.setDate(Date.from(at));
            CertPath certPath = CertificateFactory.getInstance("X.509").generateCertPath(path);
            PKIXCertPathValidatorResult result =
                    (PKIXCertPathValidatorResult) CertPathValidator.getInstance("PKIX").validate(certPath, params);
            return result.getTrustAnchor().getTrustedCert();
        } catch (CertPathValidatorException e) {
            throw pathFailure(e, path.size(), id, bundleName);
        } catch (GeneralSecurityException e) {
            throw new X509SvidValidationException(Rule.PATH_VALIDATION, "cannot validate the chain of " + id + ": "
                    + e.getMessage(), e);
        }
    }

    private static X509SvidValidationException pathFailure(CertPathValidatorException e, int pathLength, SpiffeId id,
            String bundleName) {
        CertPathValidatorException.Reason reason = e.getReason();
        String where = e.getIndex() >= 0 ? "certificate [" + e.getIndex() + "]" : "the chain";
        if (reason == PKIXReason.NO_TRUST_ANCHOR
                || (reason == BasicReason.INVALID_SIGNATURE && e.getIndex() == pathLength - 1)) {
            // The top of the path is checked against the authority's key: failing there means "not issued by it".
            return new X509SvidValidationException(Rule.UNTRUSTED, "the chain of " + id + " does not verify up to "
                    + bundleName + " (" + e.getMessage() + ")", e);
        }
        if (reason == BasicReason.INVALID_SIGNATURE) {
            return new X509SvidValidationException(Rule.SIGNATURE, "the signature of " + where + " in the chain of "
                    + id + " does not verify", e);
        }
        if (reason == BasicReason.EXPIRED) {
            return new X509SvidValidationException(Rule.EXPIRED, where + " of " + id + ": " + e.getMessage(), e);
        }
        if (reason == BasicReason.NOT_YET_VALID) {
            return new X509SvidValidationException(Rule.NOT_YET_VALID, where + " of " + id + ": " + e.getMessage(), e);
        }
        return new X509SvidValidationException(Rule.PATH_VALIDATION, where + " of " + id + " fails path validation ("
                + reason + "): " + e.getMessage(), e);
    }

    private static boolean bit(boolean[] usage, int index) {
        return index < usage.length && usage[index];
    }
}
