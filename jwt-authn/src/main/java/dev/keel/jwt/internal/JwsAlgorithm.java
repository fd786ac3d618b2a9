package dev.keel.jwt.internal;

import dev.keel.identity.SignatureAlgorithm;
import java.security.spec.AlgorithmParameterSpec;
import java.security.spec.MGF1ParameterSpec;
import java.security.spec.PSSParameterSpec;
import java.util.Map;

/** The JWS algorithms accepted (RFC 7518 section 3, RFC 8037 section 3.1); nothing symmetric, never {@code none}. */
public enum JwsAlgorithm {
    RS256("RSA", null, "SHA256withRSA", null, SignatureAlgorithm.RSA_PKCS1_SHA256),
    RS384("RSA", null, "SHA384withRSA", null, SignatureAlgorithm.RSA_PKCS1_SHA384),
    RS512("RSA", null, "SHA512withRSA", null, SignatureAlgorithm.RSA_PKCS1_SHA512),
    PS256("RSA", null, "RSASSA-PSS", pss("SHA-256", MGF1ParameterSpec.SHA256, 32), null),
    PS384("RSA", null, "RSASSA-PSS", pss("SHA-384", MGF1ParameterSpec.SHA384, 48), null),
    PS512("RSA", null, "RSASSA-PSS", pss("SHA-512", MGF1ParameterSpec.SHA512, 64), null),
    ES256("EC", "P-256", "SHA256withECDSAinP1363Format", null, SignatureAlgorithm.ECDSA_SHA256),
    ES384("EC", "P-384", "SHA384withECDSAinP1363Format", null, SignatureAlgorithm.ECDSA_SHA384),
    ES512("EC", "P-521", "SHA512withECDSAinP1363Format", null, null),
    EdDSA("OKP", null, "EdDSA", null, null);

    private static final Map<String, JwsAlgorithm> BY_NAME = Map.of("RS256", RS256, "RS384", RS384, "RS512", RS512,
            "PS256", PS256, "PS384", PS384, "PS512", PS512, "ES256", ES256, "ES384", ES384, "ES512", ES512, "EdDSA", EdDSA);

    private final String keyType;
    private final String curve;
    private final String jcaName;
    private final AlgorithmParameterSpec params;
    private final SignatureAlgorithm fast;

    JwsAlgorithm(String keyType, String curve, String jcaName, AlgorithmParameterSpec params, SignatureAlgorithm fast) {
        this.keyType = keyType;
        this.curve = curve;
        this.jcaName = jcaName;
        this.params = params;
        this.fast = fast;
    }

    private static AlgorithmParameterSpec pss(String digest, MGF1ParameterSpec mgf, int saltLength) {
        return new PSSParameterSpec(digest, "MGF1", mgf, saltLength, PSSParameterSpec.TRAILER_FIELD_BC);
    }

    /** The algorithm named {@code alg}, or null. */
    public static JwsAlgorithm of(String alg) {
        return alg == null ? null : BY_NAME.get(alg);
    }

    /** The JWK {@code kty} a key for this algorithm has. */
    public String keyType() {
        return keyType;
    }

    /** The JWK {@code crv} an EC key must have, or null. */
    public String curve() {
        return curve;
    }

    public String jcaName() {
        return jcaName;
    }

    public AlgorithmParameterSpec params() {
        return params;
    }

    /** The identity-core algorithm {@link dev.keel.identity.SignatureVerifier} verifies this with, or null for the JDK path. */
    public SignatureAlgorithm fast() {
        return fast;
    }
}
