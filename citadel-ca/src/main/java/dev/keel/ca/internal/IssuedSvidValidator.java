package dev.keel.ca.internal;

import dev.keel.ca.CaException;
import dev.keel.ca.SigningCa;
import dev.keel.identity.KeyType;
import dev.keel.identity.SignatureVerifier;
import java.io.ByteArrayInputStream;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.CertificateParsingException;
import java.security.cert.X509Certificate;
import java.util.Arrays;
import java.util.Collection;
import java.util.List;
import org.bouncycastle.cert.X509CertificateHolder;

/**
 * Step three of issuance: parse what was signed, with the JDK's own parser, and check it against
 * the identity rules and the template before it leaves the CA. A failure here is a CA bug or a
 * faulty key backend, never the caller's fault, so it is INTERNAL.
 *
 * <p>The ECDSA signature is not re-verified per issuance: {@link SigningCa#of} proved the key
 * matches the CA certificate when it loaded. RSA signatures are, because a fault in an RSA-CRT
 * signature can leak the private key (Lenstra's attack) and must never leave the CA.
 */
public final class IssuedSvidValidator {

    private static final ThreadLocal<CertificateFactory> FACTORY = ThreadLocal.withInitial(() -> {
        try {
            return CertificateFactory.getInstance("X.509");
        } catch (CertificateException e) {
            throw new IllegalStateException("X.509 is required of every JDK", e);
        }
    });

    private IssuedSvidValidator() {
    }

    public static X509Certificate validate(X509CertificateHolder signed, X509SvidTemplate template, SigningCa ca)
            throws CaException {
        byte[] der = X509SvidTemplate.encoded(signed);
        X509Certificate leaf;
        try {
            leaf = (X509Certificate) FACTORY.get().generateCertificate(new ByteArrayInputStream(der));
        } catch (CertificateException e) {
            throw internal("the issued certificate does not parse: " + e.getMessage());
        }
        if (leaf.getBasicConstraints() != -1) {
            throw internal("the issued certificate is a CA");
        }
        boolean[] usage = leaf.getKeyUsage();
        if (usage == null || !usage[0] || usage[5] || usage[6]) {
            throw internal("the issued certificate's key usage is wrong");
        }
        try {
            List<String> eku = leaf.getExtendedKeyUsage();
            if (eku == null || !eku.contains("1.3.6.1.5.5.7.3.1") || !eku.contains("1.3.6.1.5.5.7.3.2")) {
                throw internal("the issued certificate lacks serverAuth or clientAuth");
            }
            Collection<List<?>> sans = leaf.getSubjectAlternativeNames();
            if (sans == null || sans.size() != 1 + template.hostNames()) {
                throw internal("the issued certificate does not have exactly one URI SAN and its host names");
            }
            long uris = sans.stream().filter(san -> Integer.valueOf(6).equals(san.get(0))).count();
            List<?> san = sans.iterator().next();
            if (uris != 1 || !Integer.valueOf(6).equals(san.get(0)) || !template.uri().equals(san.get(1))) {
                throw internal("the issued certificate's URI SAN is not " + template.uri());
            }
        } catch (CertificateParsingException e) {
            throw internal("the issued certificate's extensions do not parse: " + e.getMessage());
        }
        if (!leaf.getNotBefore().before(leaf.getNotAfter())) {
            throw internal("the issued certificate's notBefore is not before its notAfter");
        }
        if (!leaf.getSerialNumber().equals(template.serial())
                || leaf.getNotAfter().toInstant().isAfter(ca.certificate().getNotAfter().toInstant())
                || !leaf.getNotAfter().toInstant().equals(template.notAfter())
                || !leaf.getIssuerX500Principal().equals(ca.certificate().getSubjectX500Principal())) {
            throw internal("the issued certificate's serial, validity or issuer differ from its template");
        }
        if (!Arrays.equals(leaf.getPublicKey().getEncoded(), encoded(template))) {
            throw internal("the issued certificate's key is not the requested key");
        }
        if (ca.key().keyType().family() == KeyType.Family.RSA
                && !SignatureVerifier.of(ca.certificate().getPublicKey())
                        .verify(ca.signatureAlgorithm(), tbs(leaf), leaf.getSignature())) {
            throw internal("the issued certificate's signature does not verify under the CA key");
        }
        return leaf;
    }

    private static byte[] tbs(X509Certificate leaf) throws CaException {
        try {
            return leaf.getTBSCertificate();
        } catch (java.security.cert.CertificateEncodingException e) {
            throw internal("the issued certificate cannot be re-encoded: " + e.getMessage());
        }
    }

    private static byte[] encoded(X509SvidTemplate template) {
        try {
            return template.subjectKey().getEncoded("DER");
        } catch (java.io.IOException e) {
            throw new IllegalStateException("cannot encode a public key", e);
        }
    }

    private static CaException internal(String message) {
        return new CaException(CaException.Code.INTERNAL, message);
    }
}
