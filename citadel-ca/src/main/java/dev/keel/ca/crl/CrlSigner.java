package dev.keel.ca.crl;

import dev.keel.ca.CaException;
import dev.keel.ca.SigningCa;
import dev.keel.ca.internal.SigningKeyContentSigner;
import dev.keel.identity.SignatureVerifier;
import dev.keel.identity.SigningException;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.math.BigInteger;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509CRL;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.Date;
import java.util.Objects;
import org.bouncycastle.asn1.ASN1OctetString;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.AuthorityKeyIdentifier;
import org.bouncycastle.asn1.x509.CRLNumber;
import org.bouncycastle.asn1.x509.CRLReason;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.Extensions;
import org.bouncycastle.asn1.x509.ExtensionsGenerator;
import org.bouncycastle.asn1.x509.SubjectKeyIdentifier;
import org.bouncycastle.asn1.x509.SubjectPublicKeyInfo;
import org.bouncycastle.cert.X509CRLHolder;
import org.bouncycastle.cert.X509v2CRLBuilder;

/**
 * Signs X.509 v2 CRLs (RFC 5280 section 5) with the issuing CA's key, wherever it lives: the
 * signature goes through the CA's {@code SigningKey}, so a key in a PKCS#11 token or Vault signs
 * CRLs as it signs certificates. Three steps, as for issuance: build the TBSCertList, sign, and
 * check what was signed (parse it with the JDK, verify the signature with the CA certificate's
 * public key) before returning it.
 *
 * <p>A CRL carries the CRL Number and Authority Key Identifier extensions (both non-critical, as
 * RFC 5280 5.2 requires) and one entry per revoked serial with its revocationDate and, unless the
 * reason is unspecified (5.3.1: "SHOULD be absent instead"), a reasonCode. An entry whose
 * certificate expired is dropped once the certificate's notAfter is more than one CRL validity in
 * the past, so that at least one CRL issued after its expiry still lists it (5.2: an entry is
 * removed only after it appeared on a CRL issued beyond the certificate's validity period).
 *
 * <p>Immutable and thread-safe.
 */
public final class CrlSigner {

    /** How long a CRL is valid unless configured: thisUpdate to nextUpdate. */
    public static final Duration DEFAULT_VALIDITY = Duration.ofHours(24);

    /** A CRL valid for longer hides a revocation from relying parties that cache it for as long. */
    public static final Duration MAX_VALIDITY = Duration.ofDays(30);

    private final Duration validity;

    /**
     * @param validity from thisUpdate to nextUpdate; at least one minute, at most {@link #MAX_VALIDITY};
     *     capped to the issuing CA certificate's expiry when signing
     */
    public CrlSigner(Duration validity) {
        Objects.requireNonNull(validity, "validity");
        if (validity.compareTo(Duration.ofMinutes(1)) < 0 || validity.compareTo(MAX_VALIDITY) > 0) {
            throw new IllegalArgumentException("validity: " + validity + " (expected: 1m to " + MAX_VALIDITY.toDays() + "d)");
        }
        this.validity = validity;
    }

    public Duration validity() {
        return validity;
    }

    /**
     * Signs a CRL numbered {@code content.crlNumber()} listing {@code content.revocations()}.
     *
     * @param now thisUpdate (truncated to the second, the precision of the encoding)
     * @throws CaException UNAVAILABLE if the key's backend cannot be reached (an HSM session lost,
     *     Vault sealed), FAILED_PRECONDITION if the CA certificate has expired or the number is 0,
     *     INTERNAL if the signature does not verify; nothing is returned then
     */
    public SignedCrl sign(SigningCa ca, RevocationList.Snapshot content, Instant now) throws CaException {
        Objects.requireNonNull(ca, "ca");
        Objects.requireNonNull(content, "content");
        Objects.requireNonNull(now, "now");
        if (content.crlNumber() < 1) {
            throw new CaException(CaException.Code.FAILED_PRECONDITION,
                    "CRL number " + content.crlNumber() + " (expected: >= 1; take one from RevocationList.nextCrlNumber)");
        }
        X509Certificate issuer = ca.certificate();
        Instant thisUpdate = now.truncatedTo(ChronoUnit.SECONDS);
        Instant issuerExpiry = issuer.getNotAfter().toInstant();
        Instant nextUpdate = thisUpdate.plus(validity);
        if (nextUpdate.isAfter(issuerExpiry)) {
            nextUpdate = issuerExpiry;
        }
        if (!nextUpdate.isAfter(thisUpdate)) {
            throw new CaException(CaException.Code.FAILED_PRECONDITION,
                    "the issuing CA " + issuer.getSubjectX500Principal() + " expired at " + issuerExpiry + "; it cannot sign CRLs");
        }

        X509v2CRLBuilder builder = new X509v2CRLBuilder(
                X500Name.getInstance(issuer.getSubjectX500Principal().getEncoded()), Date.from(thisUpdate));
        builder.setNextUpdate(Date.from(nextUpdate));
        int entries = 0;
        for (Revocation revocation : content.revocations()) {
            if (droppable(revocation, thisUpdate)) {
                continue;
            }
            addEntry(builder, revocation);
            entries++;
        }
        try {
            builder.addExtension(Extension.authorityKeyIdentifier, false, new AuthorityKeyIdentifier(keyIdentifier(issuer)));
            builder.addExtension(Extension.cRLNumber, false, new CRLNumber(BigInteger.valueOf(content.crlNumber())));
        } catch (IOException e) {
            throw new IllegalStateException("cannot encode a CRL extension", e);
        }

        SigningKeyContentSigner signer = new SigningKeyContentSigner(ca.key(), ca.signatureAlgorithm());
        X509CRLHolder holder = builder.build(signer);
        try {
            signer.throwIfFailed();
        } catch (SigningException e) {
            throw new CaException(e.unavailable() ? CaException.Code.UNAVAILABLE
                    : e.refused() ? CaException.Code.FAILED_PRECONDITION : CaException.Code.INTERNAL,
                    "CA key " + ca.key().id() + " could not sign the CRL: " + e.getMessage(), e);
        }
        X509CRL crl = validate(holder, ca);
        return new SignedCrl(crl, issuer, content.crlNumber(), thisUpdate, nextUpdate, entries);
    }

    private boolean droppable(Revocation revocation, Instant thisUpdate) {
        return revocation.notAfter().map(notAfter -> notAfter.plus(validity).isBefore(thisUpdate)).orElse(false);
    }

    private static void addEntry(X509v2CRLBuilder builder, Revocation revocation) {
        Date date = Date.from(revocation.revokedAt());
        if (revocation.reason() == RevocationReason.UNSPECIFIED) {
            builder.addCRLEntry(revocation.serial(), date, (Extensions) null);
            return;
        }
        ExtensionsGenerator extensions = new ExtensionsGenerator();
        try {
            extensions.addExtension(Extension.reasonCode, false, CRLReason.lookup(revocation.reason().code()));
        } catch (IOException e) {
            throw new IllegalStateException("cannot encode a reasonCode", e);
        }
        builder.addCRLEntry(revocation.serial(), date, extensions.generate());
    }

    /**
     * Parsed by the JDK, not BouncyCastle, so what relying parties' JDKs see is what is checked; the
     * signature is checked as the issuance validator checks leaves (identity-core's verifier).
     */
    private static X509CRL validate(X509CRLHolder holder, SigningCa ca) throws CaException {
        X509Certificate issuer = ca.certificate();
        X509CRL crl;
        try {
            crl = (X509CRL) CertificateFactory.getInstance("X.509").generateCRL(new ByteArrayInputStream(holder.getEncoded()));
        } catch (GeneralSecurityException | IOException e) {
            throw new CaException(CaException.Code.INTERNAL, "the signed CRL does not parse; not publishing it: "
                    + e.getMessage(), e);
        }
        if (!crl.getSigAlgOID().equals(ca.signatureAlgorithm().oid())
                || !SignatureVerifier.of(issuer.getPublicKey()).verify(ca.signatureAlgorithm(), tbs(crl), crl.getSignature())) {
            throw new CaException(CaException.Code.INTERNAL,
                    "the signed CRL does not verify with the issuing CA's public key; not publishing it");
        }
        if (!crl.getIssuerX500Principal().equals(issuer.getSubjectX500Principal())) {
            throw new CaException(CaException.Code.INTERNAL, "the signed CRL names issuer "
                    + crl.getIssuerX500Principal() + ", not " + issuer.getSubjectX500Principal());
        }
        return crl;
    }

    private static byte[] tbs(X509CRL crl) throws CaException {
        try {
            return crl.getTBSCertList();
        } catch (java.security.cert.CRLException e) {
            throw new CaException(CaException.Code.INTERNAL, "the signed CRL has no TBSCertList: " + e.getMessage(), e);
        }
    }

    /** The CA certificate's own SKI when it has one, so relying parties match the AKI to it; else computed. */
    static byte[] keyIdentifier(X509Certificate ca) {
        byte[] ext = ca.getExtensionValue(Extension.subjectKeyIdentifier.getId());
        if (ext != null) {
            try {
                return SubjectKeyIdentifier.getInstance(ASN1OctetString.getInstance(ext).getOctets()).getKeyIdentifier();
            } catch (RuntimeException e) {
                // a malformed SKI: fall back to RFC 5280 4.2.1.2 method 1 below
            }
        }
        try {
            return MessageDigest.getInstance("SHA-1").digest(
                    SubjectPublicKeyInfo.getInstance(ca.getPublicKey().getEncoded()).getPublicKeyData().getBytes());
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-1 is required of every JDK", e);
        }
    }
}
