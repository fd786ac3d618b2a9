package dev.keel.jwt;

import dev.keel.policy.ClaimToHeader;
import dev.keel.policy.JWTHeader;
import dev.keel.policy.JWTRule;
import java.nio.charset.StandardCharsets;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.spec.ECGenParameterSpec;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.jose4j.json.JsonUtil;
import org.jose4j.jwk.PublicJsonWebKey;
import org.jose4j.jws.JsonWebSignature;

/**
 * A token issuer for tests: keys generated at test time, tokens signed by jose4j (independently of the code
 * under test), JWK Sets rendered by jose4j.
 */
final class TestIssuer {

    /** A signing key with its JWK parameters. */
    record Key(String kid, String alg, KeyPair pair, Map<String, Object> extraJwkParams) {
        String jwkJson() {
            try {
                PublicJsonWebKey jwk = PublicJsonWebKey.Factory.newPublicJwk(pair.getPublic());
                if (kid != null) {
                    jwk.setKeyId(kid);
                }
                Map<String, Object> params = new LinkedHashMap<>(jwk.toParams(org.jose4j.jwk.JsonWebKey.OutputControlLevel.PUBLIC_ONLY));
                params.putAll(extraJwkParams);
                return JsonUtil.toJson(params);
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        }

        Key withJwkParam(String name, Object value) {
            Map<String, Object> extra = new LinkedHashMap<>(extraJwkParams);
            extra.put(name, value);
            return new Key(kid, alg, pair, extra);
        }
    }

    final String issuer;
    final List<Key> keys = new ArrayList<>();

    TestIssuer(String issuer) {
        this.issuer = issuer;
    }

    static KeyPair generate(String alg) {
        try {
            if (alg.startsWith("RS") || alg.startsWith("PS")) {
                KeyPairGenerator g = KeyPairGenerator.getInstance("RSA");
                g.initialize(2048);
                return g.generateKeyPair();
            }
            if (alg.startsWith("ES")) {
                KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
                String curve = alg.equals("ES256") ? "secp256r1" : alg.equals("ES384") ? "secp384r1" : "secp521r1";
                g.initialize(new ECGenParameterSpec(curve));
                return g.generateKeyPair();
            }
            if (alg.equals("EdDSA")) {
                return KeyPairGenerator.getInstance("Ed25519").generateKeyPair();
            }
            throw new IllegalArgumentException(alg);
        } catch (java.security.GeneralSecurityException e) {
            throw new IllegalStateException(e);
        }
    }

    Key addKey(String kid, String alg) {
        Key key = new Key(kid, alg, generate(alg), Map.of());
        keys.add(key);
        return key;
    }

    String jwks() {
        return jwks(keys);
    }

    static String jwks(List<Key> keys) {
        StringBuilder json = new StringBuilder("{\"keys\":[");
        for (int i = 0; i < keys.size(); i++) {
            json.append(i == 0 ? "" : ",").append(keys.get(i).jwkJson());
        }
        return json.append("]}").toString();
    }

    /** Claims valid for an hour from now, with iss, sub and aud. */
    Map<String, Object> claims() {
        Map<String, Object> claims = new LinkedHashMap<>();
        claims.put("iss", issuer);
        claims.put("sub", "alice");
        claims.put("aud", "api");
        long now = Instant.now().getEpochSecond();
        claims.put("iat", now);
        claims.put("exp", now + Duration.ofHours(1).toSeconds());
        return claims;
    }

    String token() {
        return sign(keys.get(0), claims());
    }

    String sign(Key key, Map<String, Object> claims) {
        return sign(key, claims, Map.of());
    }

    static String sign(Key key, Map<String, Object> claims, Map<String, Object> headers) {
        try {
            JsonWebSignature jws = new JsonWebSignature();
            jws.setPayload(JsonUtil.toJson(claims));
            jws.setAlgorithmHeaderValue(key.alg());
            if (key.kid() != null) {
                jws.setKeyIdHeaderValue(key.kid());
            }
            headers.forEach(jws::setHeader);
            jws.setKey(key.pair().getPrivate());
            jws.setDoKeyValidation(false);
            return jws.getCompactSerialization();
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    /** A token assembled from raw JSON parts and a raw signature segment. */
    static String raw(String headerJson, String payloadJson, String signature) {
        Base64.Encoder b64 = Base64.getUrlEncoder().withoutPadding();
        return b64.encodeToString(headerJson.getBytes(StandardCharsets.UTF_8)) + "."
                + b64.encodeToString(payloadJson.getBytes(StandardCharsets.UTF_8)) + "." + signature;
    }

    JWTRule inlineRule() {
        return rule(jwks(), "");
    }

    JWTRule rule(String jwks, String jwksUri) {
        return new JWTRule(issuer, List.of(), jwksUri, jwks, List.of(), List.of(), "", false, List.of(), Optional.empty(),
                List.of(), List.of());
    }

    static JWTRule withLocations(JWTRule r, List<JWTHeader> headers, List<String> params, List<String> cookies) {
        return new JWTRule(r.issuer(), r.audiences(), r.jwksUri(), r.jwks(), headers, params, r.outputPayloadToHeader(),
                r.forwardOriginalToken(), r.outputClaimToHeaders(), r.timeout(), cookies, r.spaceDelimitedClaims());
    }

    static JWTRule withAudiences(JWTRule r, List<String> audiences) {
        return new JWTRule(r.issuer(), audiences, r.jwksUri(), r.jwks(), r.fromHeaders(), r.fromParams(),
                r.outputPayloadToHeader(), r.forwardOriginalToken(), r.outputClaimToHeaders(), r.timeout(), r.fromCookies(),
                r.spaceDelimitedClaims());
    }

    static JWTRule withOutputs(JWTRule r, boolean forward, String payloadHeader, List<ClaimToHeader> claimHeaders) {
        return new JWTRule(r.issuer(), r.audiences(), r.jwksUri(), r.jwks(), r.fromHeaders(), r.fromParams(), payloadHeader,
                forward, claimHeaders, r.timeout(), r.fromCookies(), r.spaceDelimitedClaims());
    }

    static JWTRule withSpaceDelimited(JWTRule r, List<String> claims) {
        return new JWTRule(r.issuer(), r.audiences(), r.jwksUri(), r.jwks(), r.fromHeaders(), r.fromParams(),
                r.outputPayloadToHeader(), r.forwardOriginalToken(), r.outputClaimToHeaders(), r.timeout(), r.fromCookies(),
                claims);
    }

    static JwtRequest bearer(String token) {
        return JwtRequest.builder().header("Authorization", "Bearer " + token).build();
    }
}
