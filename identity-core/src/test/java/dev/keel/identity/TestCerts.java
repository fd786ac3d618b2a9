package dev.keel.identity;

import java.io.ByteArrayInputStream;
import java.math.BigInteger;
import java.security.KeyPair;
import java.security.PublicKey;
import java.security.SecureRandom;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Date;
import java.util.List;
import org.bouncycastle.asn1.ASN1Encodable;
import org.bouncycastle.asn1.ASN1Encoding;
import org.bouncycastle.asn1.ASN1Integer;
import org.bouncycastle.asn1.ASN1ObjectIdentifier;
import org.bouncycastle.asn1.DERBitString;
import org.bouncycastle.asn1.DERNull;
import org.bouncycastle.asn1.DERSequence;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.AlgorithmIdentifier;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.ExtensionsGenerator;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.asn1.x509.SubjectPublicKeyInfo;
import org.bouncycastle.asn1.x509.TBSCertificate;
import org.bouncycastle.asn1.x509.Time;
import org.bouncycastle.asn1.x509.V3TBSCertificateGenerator;

/**
 * Certificates for identity-core's own tests, built with bcprov's ASN.1 classes and signed through
 * {@link SigningKey}. (mesh-testing's TestPki is the fixture for every other module; identity-core
 * cannot use it without a dependency cycle.)
 */
final class TestCerts {

    static final Instant NOW = Instant.parse("2030-01-01T00:00:00Z");
    private static final SecureRandom RANDOM = new SecureRandom();

    /** An issuing certificate with its key. */
    record Ca(X509Certificate certificate, SigningKey key) {
    }

    private TestCerts() {
    }

    static Builder builder(PublicKey key) {
        return new Builder(key);
    }

    /** A self-signed root of {@code td} valid around {@link #NOW}. */
    static Ca root(String td, KeyType type) {
        SigningKey key = SoftwareSigningKey.generate("root", type);
        X509Certificate cert = builder(key.publicKey()).subject("O=Keel Test,CN=Root " + td).uri("spiffe://" + td)
                .ca(-1).keyUsage(KeyUsage.keyCertSign | KeyUsage.cRLSign).selfSigned(key).build();
        return new Ca(cert, key);
    }

    /** An intermediate (pathLen 0) of {@code td} under {@code parent}. */
    static Ca intermediate(Ca parent, String td, KeyType type) {
        SigningKey key = SoftwareSigningKey.generate("intermediate", type);
        X509Certificate cert = builder(key.publicKey()).subject("O=Keel Test,CN=Intermediate " + td)
                .uri("spiffe://" + td).ca(0).keyUsage(KeyUsage.keyCertSign | KeyUsage.cRLSign).issuer(parent).build();
        return new Ca(cert, key);
    }

    /** A well-formed leaf for {@code spiffeId} issued by {@code issuer}. */
    static X509Certificate leaf(Ca issuer, String spiffeId, PublicKey key) {
        return builder(key).uri(spiffeId).keyUsage(KeyUsage.digitalSignature).issuer(issuer).build();
    }

    static X509Certificate parse(byte[] der) {
        try {
            return (X509Certificate) CertificateFactory.getInstance("X.509")
                    .generateCertificate(new ByteArrayInputStream(der));
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    /** The certificate with the last byte of its signature flipped. */
    static X509Certificate tampered(X509Certificate certificate) {
        try {
            byte[] der = certificate.getEncoded();
            der[der.length - 1] ^= 0x01;
            return parse(der);
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    static KeyPair keyPair(KeyType type) {
        return KeyPairs.generate(type);
    }

    static final class Builder {
        private final PublicKey key;
        private String subject = "";
        private final List<GeneralName> sans = new ArrayList<>();
        private Integer pathLen;
        private boolean ca;
        private int keyUsage = -1;
        private Instant notBefore = NOW.minus(Duration.ofHours(1));
        private Instant notAfter = NOW.plus(Duration.ofHours(1));
        private X500Name issuerName;
        private SigningKey signer;

        private Builder(PublicKey key) {
            this.key = key;
        }

        Builder subject(String dn) {
            this.subject = dn;
            return this;
        }

        Builder uri(String uri) {
            sans.add(new GeneralName(GeneralName.uniformResourceIdentifier, uri));
            return this;
        }

        Builder dns(String name) {
            sans.add(new GeneralName(GeneralName.dNSName, name));
            return this;
        }

        /** CA:true with {@code pathLen}, or no path length when negative. */
        Builder ca(int pathLen) {
            this.ca = true;
            this.pathLen = pathLen < 0 ? null : pathLen;
            return this;
        }

        /** BouncyCastle {@link KeyUsage} bits; without a call there is no key usage extension. */
        Builder keyUsage(int bits) {
            this.keyUsage = bits;
            return this;
        }

        Builder validity(Instant from, Instant to) {
            this.notBefore = from;
            this.notAfter = to;
            return this;
        }

        Builder issuer(Ca issuer) {
            this.issuerName = X500Name.getInstance(issuer.certificate().getSubjectX500Principal().getEncoded());
            this.signer = issuer.key();
            return this;
        }

        Builder selfSigned(SigningKey key) {
            this.issuerName = null;
            this.signer = key;
            return this;
        }

        X509Certificate build() {
            try {
                SignatureAlgorithm algorithm = signer.keyType().defaultSignatureAlgorithm();
                AlgorithmIdentifier algId = algorithm.family() == KeyType.Family.RSA
                        ? new AlgorithmIdentifier(new ASN1ObjectIdentifier(algorithm.oid()), DERNull.INSTANCE)
                        : new AlgorithmIdentifier(new ASN1ObjectIdentifier(algorithm.oid()));
                X500Name subjectName = new X500Name(subject);
                ExtensionsGenerator extensions = new ExtensionsGenerator();
                if (ca) {
                    extensions.addExtension(Extension.basicConstraints, true,
                            pathLen == null ? new BasicConstraints(true) : new BasicConstraints(pathLen));
                }
                if (keyUsage >= 0) {
                    extensions.addExtension(Extension.keyUsage, true, new KeyUsage(keyUsage));
                }
                if (!sans.isEmpty()) {
                    extensions.addExtension(Extension.subjectAlternativeName, subject.isEmpty(),
                            new GeneralNames(sans.toArray(new GeneralName[0])));
                }
                V3TBSCertificateGenerator tbs = new V3TBSCertificateGenerator();
                tbs.setSerialNumber(new ASN1Integer(new BigInteger(128, RANDOM).setBit(127)));
                tbs.setSignature(algId);
                tbs.setIssuer(issuerName == null ? subjectName : issuerName);
                tbs.setSubject(subjectName);
                tbs.setStartDate(new Time(Date.from(notBefore)));
                tbs.setEndDate(new Time(Date.from(notAfter)));
                tbs.setSubjectPublicKeyInfo(SubjectPublicKeyInfo.getInstance(key.getEncoded()));
                if (!extensions.isEmpty()) {
                    tbs.setExtensions(extensions.generate());
                }
                TBSCertificate tbsCertificate = tbs.generateTBSCertificate();
                byte[] signature = signer.sign(algorithm, tbsCertificate.getEncoded(ASN1Encoding.DER));
                byte[] der = new DERSequence(new ASN1Encodable[] {tbsCertificate, algId, new DERBitString(signature)})
                        .getEncoded(ASN1Encoding.DER);
                return parse(der);
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        }
    }
}
