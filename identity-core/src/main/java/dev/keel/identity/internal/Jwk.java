package dev.keel.identity.internal;

import java.math.BigInteger;
import java.security.AlgorithmParameters;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.PublicKey;
import java.security.interfaces.ECPublicKey;
import java.security.interfaces.RSAPublicKey;
import java.security.spec.ECFieldFp;
import java.security.spec.ECGenParameterSpec;
import java.security.spec.ECParameterSpec;
import java.security.spec.ECPoint;
import java.security.spec.ECPublicKeySpec;
import java.security.spec.EllipticCurve;
import java.security.spec.RSAPublicKeySpec;
import java.util.Arrays;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Public keys as RFC 7517/7518 JWK members: EC ({@code crv}, {@code x}, {@code y}) on P-256, P-384
 * and P-521, RSA ({@code n}, {@code e}). Key strength is not judged here; callers that sign or
 * verify with a key apply {@code KeyType.of}. Thread-safe (stateless).
 */
public final class Jwk {

    private static final Base64.Encoder B64URL = Base64.getUrlEncoder().withoutPadding();

    private Jwk() {
    }

    /** {@code kty} then the key's parameters, in the order RFC 7638 thumbprints list them. */
    public static Map<String, Object> publicKeyMembers(PublicKey key) {
        Map<String, Object> members = new LinkedHashMap<>();
        if (key instanceof ECPublicKey) {
            ECPublicKey ec = (ECPublicKey) key;
            String curve = EcCurves.nameOf(ec.getParams());
            if (curve == null) {
                throw new IllegalArgumentException("EC key on an unnamed curve (expected: P-256, P-384 or P-521)");
            }
            int size = coordinateSize(ec.getParams());
            members.put("kty", "EC");
            members.put("crv", jwkCurveName(curve));
            members.put("x", B64URL.encodeToString(fixed(ec.getW().getAffineX(), size)));
            members.put("y", B64URL.encodeToString(fixed(ec.getW().getAffineY(), size)));
            return members;
        }
        if (key instanceof RSAPublicKey) {
            RSAPublicKey rsa = (RSAPublicKey) key;
            members.put("kty", "RSA");
            members.put("n", B64URL.encodeToString(unsigned(rsa.getModulus())));
            members.put("e", B64URL.encodeToString(unsigned(rsa.getPublicExponent())));
            return members;
        }
        throw new IllegalArgumentException("key algorithm " + key.getAlgorithm() + " (expected: EC or RSA)");
    }

    /**
     * The public key a JWK describes, or null when its {@code kty} is neither EC nor RSA (RFC 7517
     * and the SPIFFE bundle spec say to ignore such entries).
     *
     * @throws IllegalArgumentException naming the member that is missing or malformed
     */
    public static PublicKey parsePublicKey(Map<String, Object> jwk) {
        Object kty = jwk.get("kty");
        if (!(kty instanceof String)) {
            throw new IllegalArgumentException(kty == null ? "kty is missing" : "kty is not a string");
        }
        try {
            if (kty.equals("EC")) {
                String crv = stringMember(jwk, "crv");
                ECParameterSpec params = curveParams(crv);
                int size = coordinateSize(params);
                BigInteger x = new BigInteger(1, coordinate(jwk, "x", size));
                BigInteger y = new BigInteger(1, coordinate(jwk, "y", size));
                if (!onCurve(params.getCurve(), x, y)) {
                    throw new IllegalArgumentException("the point (x, y) is not on curve " + crv);
                }
                return KeyFactory.getInstance("EC").generatePublic(new ECPublicKeySpec(new ECPoint(x, y), params));
            }
            if (kty.equals("RSA")) {
                BigInteger n = new BigInteger(1, base64Url(jwk, "n"));
                BigInteger e = new BigInteger(1, base64Url(jwk, "e"));
                if (n.signum() == 0 || e.signum() == 0) {
                    throw new IllegalArgumentException("RSA " + (n.signum() == 0 ? "n" : "e") + " is zero");
                }
                return KeyFactory.getInstance("RSA").generatePublic(new RSAPublicKeySpec(n, e));
            }
        } catch (GeneralSecurityException e) {
            throw new IllegalArgumentException("the " + kty + " key parameters are invalid: " + e.getMessage(), e);
        }
        return null;
    }

    /** True when both keys are the same EC point on the same named curve, or the same RSA modulus and exponent. */
    public static boolean sameKey(PublicKey a, PublicKey b) {
        if (a instanceof ECPublicKey && b instanceof ECPublicKey) {
            ECPublicKey ea = (ECPublicKey) a;
            ECPublicKey eb = (ECPublicKey) b;
            String curve = EcCurves.nameOf(ea.getParams());
            return curve != null && curve.equals(EcCurves.nameOf(eb.getParams())) && ea.getW().equals(eb.getW());
        }
        if (a instanceof RSAPublicKey && b instanceof RSAPublicKey) {
            RSAPublicKey ra = (RSAPublicKey) a;
            RSAPublicKey rb = (RSAPublicKey) b;
            return ra.getModulus().equals(rb.getModulus()) && ra.getPublicExponent().equals(rb.getPublicExponent());
        }
        return Arrays.equals(a.getEncoded(), b.getEncoded());
    }

    private static String jwkCurveName(String curve) {
        switch (curve) {
            case "secp256r1":
                return "P-256";
            case "secp384r1":
                return "P-384";
            default:
                return "P-521";
        }
    }

    private static ECParameterSpec curveParams(String crv) throws GeneralSecurityException {
        String name;
        switch (crv) {
            case "P-256":
                name = "secp256r1";
                break;
            case "P-384":
                name = "secp384r1";
                break;
            case "P-521":
                name = "secp521r1";
                break;
            default:
                throw new IllegalArgumentException("crv \"" + crv + "\" is not supported (expected: P-256, P-384 or P-521)");
        }
        AlgorithmParameters params = AlgorithmParameters.getInstance("EC");
        params.init(new ECGenParameterSpec(name));
        return params.getParameterSpec(ECParameterSpec.class);
    }

    private static int coordinateSize(ECParameterSpec params) {
        return (params.getCurve().getField().getFieldSize() + 7) / 8;
    }

    private static boolean onCurve(EllipticCurve curve, BigInteger x, BigInteger y) {
        BigInteger p = ((ECFieldFp) curve.getField()).getP();
        if (x.compareTo(p) >= 0 || y.compareTo(p) >= 0) {
            return false;
        }
        BigInteger left = y.multiply(y).mod(p);
        BigInteger right = x.pow(3).add(curve.getA().multiply(x)).add(curve.getB()).mod(p);
        return left.equals(right);
    }

    private static byte[] coordinate(Map<String, Object> jwk, String name, int size) {
        byte[] bytes = base64Url(jwk, name);
        if (bytes.length != size) {
            throw new IllegalArgumentException(name + " is " + bytes.length + " bytes (expected: " + size
                    + ", the full coordinate size of the curve)");
        }
        return bytes;
    }

    private static byte[] base64Url(Map<String, Object> jwk, String name) {
        String value = stringMember(jwk, name);
        if (value.isEmpty() || value.indexOf('=') >= 0) {
            throw new IllegalArgumentException(name + " is " + (value.isEmpty() ? "empty" : "padded")
                    + " (expected: unpadded base64url)");
        }
        try {
            return Base64.getUrlDecoder().decode(value);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(name + " is not valid base64url", e);
        }
    }

    private static String stringMember(Map<String, Object> jwk, String name) {
        Object value = jwk.get(name);
        if (!(value instanceof String)) {
            throw new IllegalArgumentException(name + (value == null ? " is missing" : " is not a string"));
        }
        return (String) value;
    }

    private static byte[] fixed(BigInteger value, int size) {
        byte[] raw = unsigned(value);
        byte[] out = new byte[size];
        System.arraycopy(raw, 0, out, size - raw.length, raw.length);
        return out;
    }

    private static byte[] unsigned(BigInteger value) {
        byte[] raw = value.toByteArray();
        if (raw.length > 1 && raw[0] == 0) {
            return Arrays.copyOfRange(raw, 1, raw.length);
        }
        return raw;
    }
}
