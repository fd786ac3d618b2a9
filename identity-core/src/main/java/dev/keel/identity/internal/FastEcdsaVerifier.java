package dev.keel.identity.internal;

import java.io.IOException;
import java.math.BigInteger;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.PublicKey;
import java.security.Signature;
import java.security.interfaces.ECPublicKey;
import java.util.Arrays;
import org.bouncycastle.asn1.x9.X9ECParameters;
import org.bouncycastle.crypto.ec.CustomNamedCurves;
import org.bouncycastle.crypto.params.ECDomainParameters;
import org.bouncycastle.crypto.params.ECPublicKeyParameters;
import org.bouncycastle.crypto.signers.ECDSASigner;
import org.bouncycastle.crypto.signers.StandardDSAEncoding;
import org.bouncycastle.math.ec.ECPoint;

/**
 * ECDSA verification under one public key, off the JDK 17 EC provider (about 670 P-256
 * verifications per second per core): BoringSSL ({@link NativeCrypto}) when it loads, about 12,000
 * per second under a fresh key, else BouncyCastle's low-level verifier, about 4,000 under a fresh
 * key and twice that under a reused one. The key is decoded and its point validated once.
 * Immutable and thread-safe.
 */
public final class FastEcdsaVerifier {

    private static final ECDomainParameters P256 = domain("secp256r1");
    private static final ECDomainParameters P384 = domain("secp384r1");

    private final ECPublicKeyParameters key;
    private final PublicKey nativeKey;

    private FastEcdsaVerifier(ECPublicKeyParameters key, PublicKey nativeKey) {
        this.key = key;
        this.nativeKey = nativeKey;
    }

    private static ECDomainParameters domain(String name) {
        X9ECParameters x9 = CustomNamedCurves.getByName(name);
        return new ECDomainParameters(x9.getCurve(), x9.getG(), x9.getN(), x9.getH(), x9.getSeed());
    }

    /**
     * A verifier for a P-256 or P-384 key; validates that the point is on the curve.
     *
     * @throws IllegalArgumentException for another curve or a point off the curve
     */
    public static FastEcdsaVerifier forKey(ECPublicKey publicKey, boolean allowNative) {
        String curve = EcCurves.nameOf(publicKey.getParams());
        ECDomainParameters domain;
        if ("secp256r1".equals(curve)) {
            domain = P256;
        } else if ("secp384r1".equals(curve)) {
            domain = P384;
        } else {
            throw new IllegalArgumentException("EC key on an unsupported curve (expected: P-256 or P-384)");
        }
        if (allowNative && NativeCrypto.available()) {
            try {
                // BoringSSL checks the point is on the curve when it parses the key.
                return new FastEcdsaVerifier(new ECPublicKeyParameters(domain.getG(), domain),
                        NativeCrypto.nativePublicKey(publicKey));
            } catch (GeneralSecurityException e) {
                throw new IllegalArgumentException("EC public key refused: " + e.getMessage(), e);
            }
        }
        ECPoint q = domain.getCurve().validatePoint(publicKey.getW().getAffineX(), publicKey.getW().getAffineY());
        return new FastEcdsaVerifier(new ECPublicKeyParameters(q, domain), null);
    }

    /** A verifier on BoringSSL if it loads, else BouncyCastle. */
    public static FastEcdsaVerifier forKey(ECPublicKey publicKey) {
        return forKey(publicKey, true);
    }

    public boolean isNative() {
        return nativeKey != null;
    }

    /**
     * Verifies a DER ECDSA-Sig-Value over {@code data}; false for a mismatch or malformed input.
     *
     * @param jcaName e.g. {@code SHA256withECDSA}
     * @param digestName e.g. {@code SHA-256}
     */
    public boolean verifyDer(String jcaName, String digestName, byte[] data, byte[] derSignature)
            throws GeneralSecurityException {
        if (nativeKey != null) {
            Signature verifier = Signature.getInstance(jcaName, NativeCrypto.provider());
            verifier.initVerify(nativeKey);
            verifier.update(data);
            try {
                return verifier.verify(derSignature);
            } catch (java.security.SignatureException malformed) {
                return false;
            }
        }
        BigInteger[] rs;
        try {
            rs = StandardDSAEncoding.INSTANCE.decode(key.getParameters().getN(), derSignature);
        } catch (IOException | IllegalArgumentException e) {
            return false;
        }
        return verify(MessageDigest.getInstance(digestName).digest(data), rs[0], rs[1]);
    }

    /** Verifies an IEEE P1363 (r || s) signature, the form JWS uses; false for a mismatch or malformed input. */
    public boolean verifyP1363(String jcaName, String digestName, byte[] data, byte[] signature)
            throws GeneralSecurityException {
        BigInteger n = key.getParameters().getN();
        int half = (n.bitLength() + 7) / 8;
        if (signature.length != 2 * half) {
            return false;
        }
        BigInteger r = new BigInteger(1, Arrays.copyOfRange(signature, 0, half));
        BigInteger s = new BigInteger(1, Arrays.copyOfRange(signature, half, 2 * half));
        if (nativeKey != null) {
            if (r.signum() == 0 || s.signum() == 0 || r.compareTo(n) >= 0 || s.compareTo(n) >= 0) {
                return false;
            }
            try {
                return verifyDer(jcaName, digestName, data, StandardDSAEncoding.INSTANCE.encode(n, r, s));
            } catch (IOException e) {
                return false;
            }
        }
        return verify(MessageDigest.getInstance(digestName).digest(data), r, s);
    }

    private boolean verify(byte[] digest, BigInteger r, BigInteger s) {
        ECDSASigner verifier = new ECDSASigner();
        verifier.init(false, key);
        return verifier.verifySignature(digest, r, s);
    }
}
