package dev.keel.identity;

import dev.keel.identity.internal.EcCurves;
import java.security.PublicKey;
import java.security.interfaces.ECPublicKey;
import java.security.interfaces.RSAPublicKey;
import java.security.spec.ECParameterSpec;
import java.util.Objects;

/**
 * The key types Keel accepts: ECDSA P-256 (the default) and P-384, RSA of 2048 bits or more.
 * Anything weaker or unknown is refused by {@link #of(PublicKey)} with a message saying why.
 */
public enum KeyType {
    EC_P256(Family.EC, 256, SignatureAlgorithm.ECDSA_SHA256),
    EC_P384(Family.EC, 384, SignatureAlgorithm.ECDSA_SHA384),
    RSA_2048(Family.RSA, 2048, SignatureAlgorithm.RSA_PKCS1_SHA256),
    RSA_3072(Family.RSA, 3072, SignatureAlgorithm.RSA_PKCS1_SHA256),
    RSA_4096(Family.RSA, 4096, SignatureAlgorithm.RSA_PKCS1_SHA256);

    /** Key families. */
    public enum Family { EC, RSA }

    /** RSA moduli below this are refused. */
    public static final int MIN_RSA_BITS = 2048;
    /** RSA moduli above this are refused: they cost the CA much and buy nothing. */
    public static final int MAX_RSA_BITS = 8192;

    private final Family family;
    private final int bits;
    private final SignatureAlgorithm defaultSignatureAlgorithm;

    KeyType(Family family, int bits, SignatureAlgorithm defaultSignatureAlgorithm) {
        this.family = family;
        this.bits = bits;
        this.defaultSignatureAlgorithm = defaultSignatureAlgorithm;
    }

    public Family family() {
        return family;
    }

    public int bits() {
        return bits;
    }

    /** The algorithm a CA with this key signs with unless configured otherwise. */
    public SignatureAlgorithm defaultSignatureAlgorithm() {
        return defaultSignatureAlgorithm;
    }

    /**
     * The type of {@code key}.
     *
     * @throws WeakKeyException for RSA under 2048 bits, curves other than P-256 and P-384, and
     *     other algorithms, with a message naming the key and the rule
     */
    public static KeyType of(PublicKey key) {
        Objects.requireNonNull(key, "key");
        if (key instanceof RSAPublicKey) {
            int bits = ((RSAPublicKey) key).getModulus().bitLength();
            if (bits < MIN_RSA_BITS) {
                throw new WeakKeyException("RSA key of " + bits + " bits (expected: >= " + MIN_RSA_BITS + ")");
            }
            if (bits > MAX_RSA_BITS) {
                throw new WeakKeyException("RSA key of " + bits + " bits (expected: <= " + MAX_RSA_BITS + ")");
            }
            if (bits >= 4096) {
                return RSA_4096;
            }
            return bits >= 3072 ? RSA_3072 : RSA_2048;
        }
        if (key instanceof ECPublicKey) {
            ECParameterSpec params = ((ECPublicKey) key).getParams();
            String curve = EcCurves.nameOf(params);
            if ("secp256r1".equals(curve)) {
                return EC_P256;
            }
            if ("secp384r1".equals(curve)) {
                return EC_P384;
            }
            throw new WeakKeyException("EC key on curve " + (curve == null ? "of " + params.getCurve().getField().getFieldSize()
                    + " bits (unnamed)" : curve) + " (expected: P-256 or P-384)");
        }
        throw new WeakKeyException("key algorithm " + key.getAlgorithm() + " (expected: EC P-256, EC P-384 or RSA >= "
                + MIN_RSA_BITS + " bits)");
    }
}
