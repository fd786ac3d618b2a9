package dev.keel.jwt.internal;

import dev.keel.identity.KeyType;
import dev.keel.identity.SignatureVerifier;
import java.security.PublicKey;
import java.security.interfaces.RSAPublicKey;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.jose4j.json.JsonUtil;
import org.jose4j.jwk.EllipticCurveJsonWebKey;
import org.jose4j.jwk.JsonWebKey;
import org.jose4j.jwk.OctetKeyPairJsonWebKey;
import org.jose4j.jwk.PublicJsonWebKey;
import org.jose4j.lang.JoseException;

/**
 * A parsed JWK Set (RFC 7517 section 5): the public signature keys it holds. Keys that cannot serve (a
 * symmetric or unknown {@code kty}, an RSA modulus under 2048 bits, a private part, a malformed member) are
 * skipped and named in {@link #skipped()}. Immutable and thread-safe.
 */
public final class KeySet {

    private final List<VerificationKey> keys;
    private final List<String> skipped;

    private KeySet(List<VerificationKey> keys, List<String> skipped) {
        this.keys = List.copyOf(keys);
        this.skipped = List.copyOf(skipped);
    }

    /**
     * Parses a JWK Set document.
     *
     * @throws IllegalArgumentException if it is not a JSON object with a {@code keys} array, or holds no usable key
     */
    public static KeySet parse(String json) {
        Map<String, Object> root;
        try {
            root = JsonUtil.parseJson(json);
        } catch (JoseException | RuntimeException e) {
            throw new IllegalArgumentException("JWK Set: invalid JSON");
        }
        Object array = root == null ? null : root.get("keys");
        if (!(array instanceof List)) {
            throw new IllegalArgumentException("JWK Set: no \"keys\" array");
        }
        List<VerificationKey> keys = new ArrayList<>();
        List<String> skipped = new ArrayList<>();
        int index = 0;
        for (Object element : (List<?>) array) {
            String label = "keys[" + index++ + "]";
            if (!(element instanceof Map)) {
                skipped.add(label + ": not an object");
                continue;
            }
            @SuppressWarnings("unchecked")
            Map<String, Object> params = (Map<String, Object>) element;
            try {
                keys.add(key(params));
            } catch (IllegalArgumentException | JoseException | ClassCastException e) {
                skipped.add(label + (params.get("kid") instanceof String ? " (kid " + params.get("kid") + ")" : "")
                        + ": " + e.getMessage());
            }
        }
        if (keys.isEmpty()) {
            throw new IllegalArgumentException("JWK Set: no usable key" + (skipped.isEmpty() ? "" : " " + skipped));
        }
        return new KeySet(keys, skipped);
    }

    private static VerificationKey key(Map<String, Object> params) throws JoseException {
        Object kty = params.get("kty");
        if (!"RSA".equals(kty) && !"EC".equals(kty) && !"OKP".equals(kty)) {
            throw new IllegalArgumentException("kty " + kty + " (expected: RSA, EC or OKP)");
        }
        if (params.containsKey("d")) {
            throw new IllegalArgumentException("holds a private key (expected: public keys only)");
        }
        JsonWebKey jwk = JsonWebKey.Factory.newJwk(params);
        if (!(jwk instanceof PublicJsonWebKey)) {
            throw new IllegalArgumentException("not a public key");
        }
        PublicKey publicKey = ((PublicJsonWebKey) jwk).getPublicKey();
        String crv = null;
        if (jwk instanceof EllipticCurveJsonWebKey) {
            crv = ((EllipticCurveJsonWebKey) jwk).getCurveName();
        } else if (jwk instanceof OctetKeyPairJsonWebKey) {
            crv = ((OctetKeyPairJsonWebKey) jwk).getSubtype();
            if (!"Ed25519".equals(crv) && !"Ed448".equals(crv)) {
                throw new IllegalArgumentException("OKP curve " + crv + " (expected: Ed25519 or Ed448)");
            }
        }
        SignatureVerifier fast = null;
        if (publicKey instanceof RSAPublicKey) {
            KeyType.of(publicKey); // refuses under 2048 and over 8192 bits
            java.math.BigInteger e = ((RSAPublicKey) publicKey).getPublicExponent();
            if (e.compareTo(java.math.BigInteger.valueOf(3)) < 0 || !e.testBit(0)) {
                throw new IllegalArgumentException("RSA public exponent " + e + " (expected: odd, >= 3)");
            }
            fast = SignatureVerifier.of(publicKey);
        } else if ("P-256".equals(crv) || "P-384".equals(crv)) {
            fast = SignatureVerifier.of(publicKey); // BoringSSL validates the point here
        }
        return new VerificationKey(jwk.getKeyId(), (String) kty, crv, jwk.getUse(), jwk.getAlgorithm(), jwk.getKeyOps(),
                publicKey, fast);
    }

    public List<VerificationKey> keys() {
        return keys;
    }

    /** What was skipped and why, for warnings. */
    public List<String> skipped() {
        return skipped;
    }

    /** The keys with {@code kid}; all keys when {@code kid} is null. */
    public List<VerificationKey> byKid(String kid) {
        if (kid == null) {
            return keys;
        }
        List<VerificationKey> found = new ArrayList<>(1);
        for (VerificationKey key : keys) {
            if (kid.equals(key.kid())) {
                found.add(key);
            }
        }
        return found;
    }
}
