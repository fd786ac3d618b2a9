package dev.keel.jwt.internal;

import dev.keel.identity.SignatureVerifier;
import java.security.GeneralSecurityException;
import java.security.PublicKey;
import java.security.Signature;
import java.util.List;

/**
 * One usable public key of a JWK Set, with the JWK members that restrict its use, and a fast verifier
 * built once (identity-core's {@link SignatureVerifier}: BoringSSL for P-256 and P-384) when the key fits
 * one. Immutable and thread-safe.
 */
public final class VerificationKey {

    private final String kid;
    private final String kty;
    private final String crv;
    private final String use;
    private final String alg;
    private final List<String> keyOps;
    private final PublicKey publicKey;
    private final SignatureVerifier fast;

    VerificationKey(String kid, String kty, String crv, String use, String alg, List<String> keyOps, PublicKey publicKey,
            SignatureVerifier fast) {
        this.kid = kid;
        this.kty = kty;
        this.crv = crv;
        this.use = use;
        this.alg = alg;
        this.keyOps = keyOps;
        this.publicKey = publicKey;
        this.fast = fast;
    }

    public String kid() {
        return kid;
    }

    public PublicKey publicKey() {
        return publicKey;
    }

    /** Why this key cannot verify {@code algorithm}, or null if it can. */
    public String misfit(JwsAlgorithm algorithm) {
        if (!algorithm.keyType().equals(kty)) {
            return "key type " + kty + " (expected: " + algorithm.keyType() + " for " + algorithm + ")";
        }
        if (algorithm.curve() != null && !algorithm.curve().equals(crv)) {
            return "curve " + crv + " (expected: " + algorithm.curve() + " for " + algorithm + ")";
        }
        if (algorithm == JwsAlgorithm.EdDSA && !"Ed25519".equals(crv) && !"Ed448".equals(crv)) {
            return "OKP curve " + crv + " (expected: Ed25519 or Ed448)";
        }
        if (use != null && !"sig".equals(use)) {
            return "key use " + use + " (expected: sig)";
        }
        if (alg != null && !alg.equals(algorithm.name())) {
            return "key alg " + alg + " (expected: " + algorithm + ")";
        }
        if (keyOps != null && !keyOps.contains("verify")) {
            return "key_ops " + keyOps + " (expected: verify)";
        }
        return null;
    }

    /** Verifies a JWS signature; false for any mismatch or malformed input. Call {@link #misfit} first. */
    public boolean verify(JwsAlgorithm algorithm, byte[] signingInput, byte[] signature) {
        if (fast != null && algorithm.fast() != null) {
            return fast.verifyJws(algorithm.fast(), signingInput, signature);
        }
        try {
            Signature verifier = Signature.getInstance(algorithm.jcaName());
            if (algorithm.params() != null) {
                verifier.setParameter(algorithm.params());
            }
            verifier.initVerify(publicKey);
            verifier.update(signingInput);
            return verifier.verify(signature);
        } catch (GeneralSecurityException | RuntimeException e) {
            return false;
        }
    }

    @Override
    public String toString() {
        return "VerificationKey{kid=" + kid + ", kty=" + kty + (crv == null ? "" : ", crv=" + crv) + "}";
    }
}
