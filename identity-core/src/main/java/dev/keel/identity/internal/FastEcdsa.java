package dev.keel.identity.internal;

import dev.keel.identity.SigningException;
import java.math.BigInteger;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.PrivateKey;
import java.security.SecureRandom;
import java.security.Signature;
import java.security.interfaces.ECPrivateKey;
import java.util.concurrent.ConcurrentHashMap;
import java.util.Map;
import org.bouncycastle.asn1.x9.X9ECParameters;
import org.bouncycastle.crypto.ec.CustomNamedCurves;
import org.bouncycastle.crypto.params.ECDomainParameters;
import org.bouncycastle.crypto.params.ECPrivateKeyParameters;
import org.bouncycastle.crypto.params.ParametersWithRandom;
import org.bouncycastle.crypto.signers.ECDSASigner;
import org.bouncycastle.crypto.signers.StandardDSAEncoding;

/**
 * ECDSA signing off the JDK 17 EC provider, which signs only about 1,300 P-256 signatures per
 * second per core: BoringSSL ({@link NativeCrypto}) when it loads, else BouncyCastle's low-level
 * signer on its optimized curves. Thread-safe: a native {@link Signature} per thread and digest
 * (initialized once; a JCA signature returns to its initialized state after {@code sign()}), or
 * per-call BouncyCastle signer objects with a per-thread {@link SecureRandom}.
 */
public final class FastEcdsa {

    private static final ThreadLocal<SecureRandom> RANDOM = ThreadLocal.withInitial(SecureRandom::new);

    private final ECPrivateKeyParameters key;
    private final PrivateKey nativeKey;
    private final ThreadLocal<Map<String, Signature>> nativeSigners;

    private FastEcdsa(ECPrivateKeyParameters key, PrivateKey nativeKey) {
        this.key = key;
        this.nativeKey = nativeKey;
        this.nativeSigners = nativeKey == null ? null : ThreadLocal.withInitial(ConcurrentHashMap::new);
    }

    /** BoringSSL when available, else BouncyCastle. */
    public static FastEcdsa forKey(ECPrivateKey privateKey) {
        return forKey(privateKey, NativeCrypto.available());
    }

    /** Chooses the engine explicitly, so tests can check both. */
    public static FastEcdsa forKey(ECPrivateKey privateKey, boolean allowNative) {
        String curve = EcCurves.nameOf(privateKey.getParams());
        if (curve == null || curve.equals("secp521r1")) {
            throw new IllegalArgumentException("EC private key on an unsupported curve (expected: P-256 or P-384)");
        }
        X9ECParameters x9 = CustomNamedCurves.getByName(curve);
        ECDomainParameters domain = new ECDomainParameters(x9.getCurve(), x9.getG(), x9.getN(), x9.getH(), x9.getSeed());
        PrivateKey nativeKey = null;
        if (allowNative && NativeCrypto.available()) {
            try {
                nativeKey = NativeCrypto.nativePrivateKey(privateKey);
            } catch (GeneralSecurityException e) {
                nativeKey = null; // BoringSSL refused the encoding; BouncyCastle can still sign
            }
        }
        return new FastEcdsa(new ECPrivateKeyParameters(privateKey.getS(), domain), nativeKey);
    }

    /** True when signatures are made by BoringSSL. */
    public boolean isNative() {
        return nativeKey != null;
    }

    /**
     * Signs {@code data} with ECDSA over {@code jcaName}'s digest and returns a DER ECDSA-Sig-Value.
     *
     * @param jcaName e.g. {@code SHA256withECDSA}
     * @param digestName e.g. {@code SHA-256}, for the BouncyCastle path
     */
    public byte[] sign(String jcaName, String digestName, byte[] data) throws SigningException {
        if (nativeKey != null) {
            try {
                Signature signer = nativeSigners.get().get(jcaName);
                if (signer == null) {
                    signer = Signature.getInstance(jcaName, NativeCrypto.provider());
                    signer.initSign(nativeKey);
                    nativeSigners.get().put(jcaName, signer);
                }
                signer.update(data);
                return signer.sign();
            } catch (GeneralSecurityException | RuntimeException e) {
                // a signer that failed once may hold half-updated state: never reuse it
                nativeSigners.get().remove(jcaName);
                throw new SigningException("native ECDSA signing failed: " + e.getMessage(), false, e);
            }
        }
        byte[] digest;
        try {
            digest = MessageDigest.getInstance(digestName).digest(data);
        } catch (NoSuchAlgorithmException e) {
            throw new SigningException("digest " + digestName + " unavailable", false, e);
        }
        ECDSASigner signer = new ECDSASigner();
        signer.init(true, new ParametersWithRandom(key, RANDOM.get()));
        BigInteger[] rs = signer.generateSignature(digest);
        try {
            return StandardDSAEncoding.INSTANCE.encode(key.getParameters().getN(), rs[0], rs[1]);
        } catch (java.io.IOException e) {
            throw new SigningException("cannot encode an ECDSA signature", false, e);
        }
    }
}
