package dev.keel.ca.auth;

import java.security.Key;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.jose4j.jwa.AlgorithmConstraints;
import org.jose4j.jwk.EcJwkGenerator;
import org.jose4j.jwk.JsonWebKey.OutputControlLevel;
import org.jose4j.jwk.JsonWebKeySet;
import org.jose4j.jwk.PublicJsonWebKey;
import org.jose4j.jwk.RsaJwkGenerator;
import org.jose4j.jws.AlgorithmIdentifiers;
import org.jose4j.jws.JsonWebSignature;
import org.jose4j.jwt.JwtClaims;
import org.jose4j.jwt.NumericDate;
import org.jose4j.keys.EllipticCurves;
import org.jose4j.lang.JoseException;

/**
 * Test-time issuer of Kubernetes service-account JWTs: keys are generated per run, never checked
 * in. {@link #token()} starts from a valid projected token and each setter breaks one thing.
 */
final class TestJwts {

    static final String ISSUER = "https://kubernetes.default.svc.cluster.local";
    static final String AUDIENCE = "istio-ca";
    static final Instant NOW = Instant.parse("2030-01-01T00:00:00Z");

    private static final Map<String, PublicJsonWebKey> CACHE = new LinkedHashMap<>();

    private TestJwts() {}

    /** An RSA-2048 signing key with {@code kid}; generated once per test run and kid. */
    static synchronized PublicJsonWebKey rsa(String kid) {
        return CACHE.computeIfAbsent("rsa/" + kid, k -> {
            try {
                PublicJsonWebKey key = RsaJwkGenerator.generateJwk(2048);
                key.setKeyId(kid);
                return key;
            } catch (JoseException e) {
                throw new IllegalStateException(e);
            }
        });
    }

    /** A P-256 signing key with {@code kid}. */
    static synchronized PublicJsonWebKey ec(String kid) {
        return CACHE.computeIfAbsent("ec/" + kid, k -> {
            try {
                PublicJsonWebKey key = EcJwkGenerator.generateJwk(EllipticCurves.P256);
                key.setKeyId(kid);
                return key;
            } catch (JoseException e) {
                throw new IllegalStateException(e);
            }
        });
    }

    /** The public halves as a JWKS document. */
    static String jwks(PublicJsonWebKey... keys) {
        return new JsonWebKeySet(keys).toJson(OutputControlLevel.PUBLIC_ONLY);
    }

    static Token token() {
        return new Token();
    }

    /** A token under construction; valid for {@code default/orders} at {@link #NOW} until changed. */
    static final class Token {

        private String issuer = ISSUER;
        private List<String> audiences = List.of(AUDIENCE);
        private String subject = "system:serviceaccount:default:orders";
        private Instant issuedAt = NOW.minusSeconds(60);
        private Instant expiresAt = NOW.plusSeconds(3600);
        private Object kubernetesClaim = TestJwts.kubernetesClaim("default", "orders");
        private String algorithm;
        private String keyId;

        Token issuer(String issuer) {
            this.issuer = issuer;
            return this;
        }

        Token audiences(String... audiences) {
            this.audiences = List.of(audiences);
            return this;
        }

        Token subject(String subject) {
            this.subject = subject;
            return this;
        }

        Token expiresAt(Instant expiresAt) {
            this.expiresAt = expiresAt;
            return this;
        }

        Token issuedAt(Instant issuedAt) {
            this.issuedAt = issuedAt;
            return this;
        }

        /** The {@code kubernetes.io} claim; null leaves it out. */
        Token kubernetesClaim(Object claim) {
            this.kubernetesClaim = claim;
            return this;
        }

        Token algorithm(String algorithm) {
            this.algorithm = algorithm;
            return this;
        }

        Token keyId(String keyId) {
            this.keyId = keyId;
            return this;
        }

        JwtClaims claims() {
            JwtClaims claims = new JwtClaims();
            if (issuer != null) {
                claims.setIssuer(issuer);
            }
            if (!audiences.isEmpty()) {
                claims.setAudience(new ArrayList<>(audiences));
            }
            if (subject != null) {
                claims.setSubject(subject);
            }
            if (issuedAt != null) {
                claims.setIssuedAt(NumericDate.fromSeconds(issuedAt.getEpochSecond()));
            }
            if (expiresAt != null) {
                claims.setExpirationTime(NumericDate.fromSeconds(expiresAt.getEpochSecond()));
            }
            if (kubernetesClaim != null) {
                claims.setClaim("kubernetes.io", kubernetesClaim);
            }
            return claims;
        }

        /** Signs with the key's private half and its usual algorithm unless one was set. */
        String signedBy(PublicJsonWebKey key) {
            String alg = algorithm != null ? algorithm
                    : "EC".equals(key.getKeyType()) ? AlgorithmIdentifiers.ECDSA_USING_P256_CURVE_AND_SHA256
                    : AlgorithmIdentifiers.RSA_USING_SHA256;
            return sign(key.getPrivateKey(), alg, keyId != null ? keyId : key.getKeyId());
        }

        /** Signs with any key and algorithm, e.g. HMAC keyed with public key bytes. */
        String sign(Key key, String alg, String kid) {
            JsonWebSignature jws = new JsonWebSignature();
            jws.setPayload(claims().toJson());
            jws.setAlgorithmHeaderValue(alg);
            if (kid != null) {
                jws.setKeyIdHeaderValue(kid);
            }
            jws.setKey(key);
            jws.setDoKeyValidation(false);
            jws.setAlgorithmConstraints(AlgorithmConstraints.NO_CONSTRAINTS);
            try {
                return jws.getCompactSerialization();
            } catch (JoseException e) {
                throw new IllegalStateException(e);
            }
        }

        /** {@code alg: none}, no signature. */
        String unsigned(String kid) {
            return sign(null, AlgorithmIdentifiers.NONE, kid);
        }
    }

    /** The projected-token claim as Kubernetes writes it. */
    static Map<String, Object> kubernetesClaim(String namespace, String serviceAccount) {
        Map<String, Object> sa = new LinkedHashMap<>();
        sa.put("name", serviceAccount);
        sa.put("uid", "9f1c2d1e-0000-4000-8000-000000000001");
        Map<String, Object> claim = new LinkedHashMap<>();
        claim.put("namespace", namespace);
        claim.put("serviceaccount", sa);
        return claim;
    }
}
