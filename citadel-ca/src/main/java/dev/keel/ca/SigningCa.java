package dev.keel.ca;

import dev.keel.identity.KeyType;
import dev.keel.identity.SignatureAlgorithm;
import dev.keel.identity.SigningKey;
import dev.keel.identity.SigningKeys;
import dev.keel.identity.TrustDomain;
import java.security.GeneralSecurityException;
import java.security.cert.CertPathValidator;
import java.security.cert.CertificateFactory;
import java.security.cert.PKIXParameters;
import java.security.cert.TrustAnchor;
import java.security.cert.X509Certificate;
import java.time.Instant;
import java.util.Date;
import java.util.HashSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;

/**
 * The issuing CA: its certificate, the chain from it up to the root, the trust anchors, and the
 * {@link SigningKey} that signs with its key wherever that key lives. Built only through
 * {@link #of}, which proves the pieces fit together, so an issuer holding one never signs with a key
 * that does not match its certificate.
 *
 * <p>Immutable and thread-safe.
 */
public final class SigningCa {

    private final TrustDomain trustDomain;
    private final X509Certificate certificate;
    private final List<X509Certificate> chain;
    private final List<X509Certificate> roots;
    private final SigningKey key;
    private final SignatureAlgorithm signatureAlgorithm;

    private SigningCa(TrustDomain trustDomain, List<X509Certificate> chain, List<X509Certificate> roots,
            SigningKey key, SignatureAlgorithm signatureAlgorithm) {
        this.trustDomain = trustDomain;
        this.certificate = chain.get(0);
        this.chain = chain;
        this.roots = roots;
        this.key = key;
        this.signatureAlgorithm = signatureAlgorithm;
    }

    /**
     * Checks and assembles a signing CA.
     *
     * @param chain the issuing CA certificate first, then any intermediates, optionally ending with
     *     the root (Istio's {@code cert-chain.pem})
     * @param roots the trust anchors workloads will be given (Istio's {@code root-cert.pem})
     * @param now the time at which the CA must be valid
     * @throws IllegalArgumentException naming the problem: key does not match, not a CA, no
     *     keyCertSign, chain does not verify to a root, expired or not yet valid
     */
    public static SigningCa of(TrustDomain trustDomain, List<X509Certificate> chain, List<X509Certificate> roots,
            SigningKey key, Instant now) {
        Objects.requireNonNull(trustDomain, "trustDomain");
        Objects.requireNonNull(key, "key");
        Objects.requireNonNull(now, "now");
        if (chain == null || chain.isEmpty()) {
            throw new IllegalArgumentException("chain: empty (expected: the CA certificate first)");
        }
        if (roots == null || roots.isEmpty()) {
            throw new IllegalArgumentException("roots: empty (expected: at least one root certificate)");
        }
        X509Certificate ca = chain.get(0);
        checkCaCertificate("CA certificate", ca, now);
        for (X509Certificate root : roots) {
            checkCaCertificate("root certificate " + root.getSubjectX500Principal(), root, now);
        }
        KeyType keyType = KeyType.of(ca.getPublicKey());
        if (!SigningKeys.matches(key, ca.getPublicKey())) {
            throw new IllegalArgumentException("CA key " + key.id() + " does not match the CA certificate "
                    + ca.getSubjectX500Principal() + " (its public key is a different " + keyType + " key)");
        }
        verifyChain(chain, roots, now);
        return new SigningCa(trustDomain, List.copyOf(chain), List.copyOf(roots), key,
                keyType.defaultSignatureAlgorithm());
    }

    static void checkCaCertificate(String what, X509Certificate certificate, Instant now) {
        if (certificate.getBasicConstraints() < 0) {
            throw new IllegalArgumentException(what + " is not a CA (basicConstraints CA:false or absent)");
        }
        boolean[] usage = certificate.getKeyUsage();
        if (usage != null && !usage[5]) {
            throw new IllegalArgumentException(what + " lacks the keyCertSign key usage");
        }
        Date at = Date.from(now);
        if (at.after(certificate.getNotAfter())) {
            throw new IllegalArgumentException(what + " expired at " + certificate.getNotAfter().toInstant());
        }
        if (at.before(certificate.getNotBefore())) {
            throw new IllegalArgumentException(what + " is not valid before " + certificate.getNotBefore().toInstant());
        }
        KeyType.of(certificate.getPublicKey());
    }

    private static void verifyChain(List<X509Certificate> chain, List<X509Certificate> roots, Instant now) {
        Set<TrustAnchor> anchors = new HashSet<>();
        for (X509Certificate root : roots) {
            anchors.add(new TrustAnchor(root, null));
        }
        List<X509Certificate> path = chain;
        // cert-chain.pem may end with the root itself; a CertPath must not contain its anchor.
        X509Certificate last = chain.get(chain.size() - 1);
        if (chain.size() > 1 && roots.contains(last)) {
            path = chain.subList(0, chain.size() - 1);
        }
        if (path.size() == 1 && roots.contains(path.get(0))) {
            return; // the CA is itself a root: self-signed mode without an intermediate
        }
        try {
            PKIXParameters params = new PKIXParameters(anchors);
            params.setRevocationEnabled(false);
            params.setDate(Date.from(now));
            CertPathValidator.getInstance("PKIX").validate(
                    CertificateFactory.getInstance("X.509").generateCertPath(path), params);
        } catch (GeneralSecurityException e) {
            throw new IllegalArgumentException("the CA chain does not verify to a root: " + e.getMessage(), e);
        }
    }

    public TrustDomain trustDomain() {
        return trustDomain;
    }

    /** The certificate whose key signs SVIDs. */
    public X509Certificate certificate() {
        return certificate;
    }

    /** The issuing CA certificate first, up to the root if the configured chain includes it. */
    public List<X509Certificate> chain() {
        return chain;
    }

    public List<X509Certificate> roots() {
        return roots;
    }

    public SigningKey key() {
        return key;
    }

    public SignatureAlgorithm signatureAlgorithm() {
        return signatureAlgorithm;
    }

    /** The SVIDs' chain after the leaf: the CA's chain without a trailing root. */
    public List<X509Certificate> intermediates() {
        X509Certificate last = chain.get(chain.size() - 1);
        if (roots.contains(last)) {
            return chain.subList(0, chain.size() - 1);
        }
        return chain;
    }
}
