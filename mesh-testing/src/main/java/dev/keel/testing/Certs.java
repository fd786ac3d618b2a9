package dev.keel.testing;

import dev.keel.identity.KeyPairs;
import dev.keel.identity.KeyType;
import java.io.ByteArrayInputStream;
import java.math.BigInteger;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.SecureRandom;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.security.interfaces.ECPublicKey;
import org.bouncycastle.cert.X509v3CertificateBuilder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.operator.ContentSigner;
import org.bouncycastle.operator.OperatorCreationException;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

/** Plumbing shared by the fixtures: keys, serials, signing with the JDK's providers, tampering. */
final class Certs {

    private static final SecureRandom RANDOM = new SecureRandom();

    private Certs() {
    }

    /** A random positive 128-bit serial, as Keel's CA issues them. */
    static BigInteger serial() {
        return new BigInteger(128, RANDOM).setBit(127);
    }

    static KeyPair generate(KeyType type) {
        return KeyPairs.generate(type);
    }

    /** RSA-1024: the JDK still generates it; Keel must refuse it everywhere. */
    static KeyPair weakRsa1024() {
        try {
            KeyPairGenerator generator = KeyPairGenerator.getInstance("RSA");
            generator.initialize(1024, RANDOM);
            return generator.generateKeyPair();
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException(e);
        }
    }

    /**
     * The JCA signature name a key signs with: Keel's defaults, and for keys Keel refuses (RSA-1024,
     * P-521), what OpenSSL would pick, so broken fixtures can still be made.
     */
    static String signatureAlgorithm(PublicKey signerKey) {
        if (signerKey instanceof ECPublicKey) {
            int bits = ((ECPublicKey) signerKey).getParams().getCurve().getField().getFieldSize();
            return bits <= 256 ? "SHA256withECDSA" : bits <= 384 ? "SHA384withECDSA" : "SHA512withECDSA";
        }
        return "SHA256withRSA";
    }

    static ContentSigner signer(KeyPair signer) {
        try {
            return new JcaContentSignerBuilder(signatureAlgorithm(signer.getPublic())).build(signer.getPrivate());
        } catch (OperatorCreationException e) {
            throw new IllegalStateException(e);
        }
    }

    static ContentSigner signer(PrivateKey key, String algorithm) {
        try {
            return new JcaContentSignerBuilder(algorithm).build(key);
        } catch (OperatorCreationException e) {
            throw new IllegalStateException(e);
        }
    }

    static X509Certificate sign(X509v3CertificateBuilder builder, KeyPair signer) {
        try {
            return new JcaX509CertificateConverter().getCertificate(builder.build(signer(signer)));
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException(e);
        }
    }

    /** A copy of {@code der} with its last byte (inside the signature) flipped. */
    static byte[] flipLastByte(byte[] der) {
        byte[] copy = der.clone();
        copy[copy.length - 1] ^= 0x01;
        return copy;
    }

    static X509Certificate tampered(X509Certificate certificate) {
        try {
            return parse(flipLastByte(certificate.getEncoded()));
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException(e);
        }
    }

    static X509Certificate parse(byte[] der) {
        try {
            return (X509Certificate) CertificateFactory.getInstance("X.509")
                    .generateCertificate(new ByteArrayInputStream(der));
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException(e);
        }
    }
}
