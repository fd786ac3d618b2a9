package dev.keel.identity.internal;

import java.io.IOException;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.PrivateKey;
import java.security.spec.PKCS8EncodedKeySpec;
import java.security.spec.RSAPrivateCrtKeySpec;
import org.bouncycastle.asn1.ASN1ObjectIdentifier;
import org.bouncycastle.asn1.ASN1Primitive;
import org.bouncycastle.asn1.pkcs.PKCSObjectIdentifiers;
import org.bouncycastle.asn1.pkcs.PrivateKeyInfo;
import org.bouncycastle.asn1.pkcs.RSAPrivateKey;
import org.bouncycastle.asn1.sec.ECPrivateKey;
import org.bouncycastle.asn1.x509.AlgorithmIdentifier;
import org.bouncycastle.asn1.x9.X9ObjectIdentifiers;

/**
 * Turns the three DER private key encodings found in the wild into JDK keys: PKCS#8, PKCS#1 RSA
 * and SEC1 EC (OpenSSL 1.x and Istio's {@code cacerts} still write the last two).
 *
 * <p>Messages never carry key bytes, and neither do causes: parser exceptions are dropped, only
 * their type is named, because some providers echo input in their messages.
 */
public final class PrivateKeyDecoder {

    private PrivateKeyDecoder() {
    }

    /** A PKCS#8 PrivateKeyInfo holding an EC or RSA key. */
    public static PrivateKey pkcs8(byte[] der) {
        PrivateKeyInfo info;
        try {
            info = PrivateKeyInfo.getInstance(ASN1Primitive.fromByteArray(der));
        } catch (IOException | RuntimeException e) {
            throw failure("not a valid PKCS#8 PrivateKeyInfo", e);
        }
        ASN1ObjectIdentifier algorithm = info.getPrivateKeyAlgorithm().getAlgorithm();
        String jcaName;
        if (algorithm.equals(PKCSObjectIdentifiers.rsaEncryption)) {
            jcaName = "RSA";
        } else if (algorithm.equals(X9ObjectIdentifiers.id_ecPublicKey)) {
            jcaName = "EC";
        } else {
            throw new IllegalArgumentException("private key algorithm " + algorithm.getId()
                    + " is not supported (expected: EC or RSA)");
        }
        return generate(jcaName, new PKCS8EncodedKeySpec(der));
    }

    /** A PKCS#1 RSAPrivateKey (two primes). */
    public static PrivateKey pkcs1Rsa(byte[] der) {
        RSAPrivateKey key;
        try {
            key = RSAPrivateKey.getInstance(ASN1Primitive.fromByteArray(der));
        } catch (IOException | RuntimeException e) {
            throw failure("not a valid PKCS#1 RSAPrivateKey", e);
        }
        return generate("RSA", new RSAPrivateCrtKeySpec(key.getModulus(), key.getPublicExponent(),
                key.getPrivateExponent(), key.getPrime1(), key.getPrime2(), key.getExponent1(), key.getExponent2(),
                key.getCoefficient()));
    }

    /** A SEC1 ECPrivateKey that names its curve. */
    public static PrivateKey sec1Ec(byte[] der) {
        ECPrivateKey key;
        try {
            key = ECPrivateKey.getInstance(ASN1Primitive.fromByteArray(der));
        } catch (IOException | RuntimeException e) {
            throw failure("not a valid SEC1 ECPrivateKey", e);
        }
        org.bouncycastle.asn1.ASN1Object params = key.getParametersObject();
        if (!(params instanceof ASN1ObjectIdentifier)) {
            throw new IllegalArgumentException("SEC1 ECPrivateKey does not name its curve"
                    + (params == null ? "" : " (explicit curve parameters are not supported)"));
        }
        byte[] pkcs8;
        try {
            pkcs8 = new PrivateKeyInfo(new AlgorithmIdentifier(X9ObjectIdentifiers.id_ecPublicKey, params), key)
                    .getEncoded();
        } catch (IOException e) {
            throw failure("cannot re-encode a SEC1 key as PKCS#8", e);
        }
        return generate("EC", new PKCS8EncodedKeySpec(pkcs8));
    }

    private static PrivateKey generate(String algorithm, java.security.spec.KeySpec spec) {
        try {
            return KeyFactory.getInstance(algorithm).generatePrivate(spec);
        } catch (GeneralSecurityException | RuntimeException e) {
            throw failure("the JDK refuses the " + algorithm + " private key", e);
        }
    }

    private static IllegalArgumentException failure(String message, Exception e) {
        return new IllegalArgumentException(message + " (" + e.getClass().getSimpleName() + ")");
    }
}
