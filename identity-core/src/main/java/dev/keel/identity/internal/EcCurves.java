package dev.keel.identity.internal;

import java.math.BigInteger;
import java.security.spec.ECParameterSpec;

/** Recognizes the named curves Keel supports from JCA parameters, whatever provider made them. */
public final class EcCurves {

    private static final BigInteger P256_P =
            new BigInteger("ffffffff00000001000000000000000000000000ffffffffffffffffffffffff", 16);
    private static final BigInteger P384_P = new BigInteger(
            "fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffeffffffff0000000000000000ffffffff", 16);
    private static final BigInteger P256_N =
            new BigInteger("ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551", 16);
    private static final BigInteger P384_N = new BigInteger(
            "ffffffffffffffffffffffffffffffffffffffffffffffffc7634d81f4372ddf581a0db248b0a77aecec196accc52973", 16);
    // P-521 is recognized so errors and foreign bundles can name it; KeyType still refuses it for signing.
    private static final BigInteger P521_P = BigInteger.ONE.shiftLeft(521).subtract(BigInteger.ONE);
    private static final BigInteger P521_N = new BigInteger("01ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff"
            + "fa51868783bf2f966b7fcc0148f709a5d03bb5c9b8899c47aebb6fb71e91386409", 16);

    private EcCurves() {
    }

    /** {@code secp256r1}, {@code secp384r1}, {@code secp521r1}, or null for any other curve. */
    public static String nameOf(ECParameterSpec params) {
        if (params == null || !(params.getCurve().getField() instanceof java.security.spec.ECFieldFp)) {
            return null;
        }
        BigInteger p = ((java.security.spec.ECFieldFp) params.getCurve().getField()).getP();
        if (p.equals(P256_P) && params.getOrder().equals(P256_N)) {
            return "secp256r1";
        }
        if (p.equals(P384_P) && params.getOrder().equals(P384_N)) {
            return "secp384r1";
        }
        if (p.equals(P521_P) && params.getOrder().equals(P521_N)) {
            return "secp521r1";
        }
        return null;
    }
}
