package dev.keel.ca.internal;

import dev.keel.identity.SigningException;
import dev.keel.identity.SigningKey;
import dev.keel.identity.TrustDomain;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.math.BigInteger;
import java.security.PublicKey;
import java.security.SecureRandom;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.time.Instant;
import java.util.Date;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x500.X500NameBuilder;
import org.bouncycastle.asn1.x500.style.BCStyle;
import org.bouncycastle.asn1.x509.AuthorityKeyIdentifier;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.asn1.x509.SubjectKeyIdentifier;
import org.bouncycastle.asn1.x509.SubjectPublicKeyInfo;
import org.bouncycastle.cert.X509CertificateHolder;
import org.bouncycastle.cert.X509v3CertificateBuilder;

/**
 * Builds the CA's own certificates: the self-signed root and the issuing intermediate (pathLen 0),
 * both with keyCertSign and cRLSign and the URI SAN {@code spiffe://<trust-domain>}. Signing goes
 * through a {@link SigningKey}, so a root or intermediate key in an HSM works the same way.
 */
public final class CaCertificates {

    private CaCertificates() {
    }

    /** A self-signed root that may sign one level of intermediates (pathLen 1). */
    public static X509Certificate selfSignedRoot(TrustDomain trustDomain, SigningKey key, Instant notBefore,
            Instant notAfter) throws SigningException {
        X500Name name = name(trustDomain, "Keel Root CA");
        return build(name, name, key.publicKey(), key.publicKey(), key, trustDomain, notBefore, notAfter, 1);
    }

    /** An issuing intermediate (pathLen 0) for {@code subjectKey}, signed by {@code issuer}'s key. */
    public static X509Certificate intermediate(TrustDomain trustDomain, PublicKey subjectKey, X509Certificate issuer,
            SigningKey issuerKey, Instant notBefore, Instant notAfter) throws SigningException {
        X500Name issuerName = X500Name.getInstance(issuer.getSubjectX500Principal().getEncoded());
        Instant capped = notAfter.isAfter(issuer.getNotAfter().toInstant()) ? issuer.getNotAfter().toInstant() : notAfter;
        return build(issuerName, name(trustDomain, "Keel Intermediate CA"), subjectKey, issuer.getPublicKey(), issuerKey,
                trustDomain, notBefore, capped, 0);
    }

    /**
     * A PEM PKCS#10 request for an issuing intermediate whose key is {@code key}, asking for CA:true
     * pathLen 0, keyCertSign and cRLSign, and the URI SAN {@code spiffe://<trust domain>}.
     */
    public static String intermediateCsr(TrustDomain trustDomain, SigningKey key) throws SigningException {
        SubjectPublicKeyInfo spki = SubjectPublicKeyInfo.getInstance(key.publicKey().getEncoded());
        org.bouncycastle.pkcs.PKCS10CertificationRequestBuilder builder =
                new org.bouncycastle.pkcs.PKCS10CertificationRequestBuilder(name(trustDomain, "Keel Intermediate CA"), spki);
        org.bouncycastle.asn1.x509.ExtensionsGenerator extensions = new org.bouncycastle.asn1.x509.ExtensionsGenerator();
        try {
            extensions.addExtension(Extension.basicConstraints, true, new BasicConstraints(0));
            extensions.addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.keyCertSign | KeyUsage.cRLSign));
            extensions.addExtension(Extension.subjectAlternativeName, false,
                    new GeneralNames(new GeneralName(GeneralName.uniformResourceIdentifier,
                            trustDomain.spiffeId().toString())));
            extensions.addExtension(Extension.subjectKeyIdentifier, false,
                    new SubjectKeyIdentifier(X509SvidTemplate.keyIdentifier(spki)));
        } catch (IOException e) {
            throw new IllegalStateException("cannot encode a CSR extension", e);
        }
        builder.addAttribute(org.bouncycastle.asn1.pkcs.PKCSObjectIdentifiers.pkcs_9_at_extensionRequest,
                extensions.generate());
        SigningKeyContentSigner signer = new SigningKeyContentSigner(key, key.keyType().defaultSignatureAlgorithm());
        org.bouncycastle.pkcs.PKCS10CertificationRequest request = builder.build(signer);
        signer.throwIfFailed();
        try {
            return dev.keel.identity.Pem.encode("CERTIFICATE REQUEST", request.getEncoded());
        } catch (IOException e) {
            throw new IllegalStateException("cannot encode a CSR just built", e);
        }
    }

    private static X500Name name(TrustDomain trustDomain, String commonName) {
        return new X500NameBuilder(BCStyle.INSTANCE)
                .addRDN(BCStyle.O, "Keel")
                .addRDN(BCStyle.OU, trustDomain.name())
                .addRDN(BCStyle.CN, commonName)
                .build();
    }

    private static X509Certificate build(X500Name issuer, X500Name subject, PublicKey subjectKey,
            PublicKey issuerPublicKey, SigningKey issuerKey, TrustDomain trustDomain, Instant notBefore,
            Instant notAfter, int pathLen) throws SigningException {
        byte[] serialBytes = new byte[16];
        new SecureRandom().nextBytes(serialBytes);
        SubjectPublicKeyInfo spki = SubjectPublicKeyInfo.getInstance(subjectKey.getEncoded());
        SubjectPublicKeyInfo issuerSpki = SubjectPublicKeyInfo.getInstance(issuerPublicKey.getEncoded());
        X509v3CertificateBuilder builder = new X509v3CertificateBuilder(issuer, new BigInteger(1, serialBytes).setBit(0),
                Date.from(notBefore), Date.from(notAfter), subject, spki);
        try {
            builder.addExtension(Extension.basicConstraints, true, new BasicConstraints(pathLen));
            builder.addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.keyCertSign | KeyUsage.cRLSign));
            builder.addExtension(Extension.subjectAlternativeName, false,
                    new GeneralNames(new GeneralName(GeneralName.uniformResourceIdentifier,
                            trustDomain.spiffeId().toString())));
            builder.addExtension(Extension.subjectKeyIdentifier, false,
                    new SubjectKeyIdentifier(X509SvidTemplate.keyIdentifier(spki)));
            builder.addExtension(Extension.authorityKeyIdentifier, false,
                    new AuthorityKeyIdentifier(X509SvidTemplate.keyIdentifier(issuerSpki)));
        } catch (IOException e) {
            throw new IllegalStateException("cannot encode a CA certificate extension", e);
        }
        SigningKeyContentSigner signer = new SigningKeyContentSigner(issuerKey, issuerKey.keyType().defaultSignatureAlgorithm());
        X509CertificateHolder holder = builder.build(signer);
        signer.throwIfFailed();
        return toX509(holder);
    }

    static X509Certificate toX509(X509CertificateHolder holder) {
        try {
            return (X509Certificate) CertificateFactory.getInstance("X.509")
                    .generateCertificate(new ByteArrayInputStream(holder.getEncoded()));
        } catch (CertificateException | IOException e) {
            throw new IllegalStateException("cannot parse a certificate just built", e);
        }
    }
}
