package dev.keel.identity;

import dev.keel.identity.internal.Json;
import dev.keel.identity.internal.JsonException;
import dev.keel.identity.internal.Jwk;
import java.io.ByteArrayInputStream;
import java.math.BigDecimal;
import java.security.PublicKey;
import java.security.cert.CertificateEncodingException;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * The SPIFFE bundle format (SPIFFE Trust Domain and Bundle, section 4; X509-SVID and JWT-SVID,
 * section 6): a JWK Set with {@code keys}, {@code spiffe_sequence} and {@code spiffe_refresh_hint}.
 *
 * <p>Parsing follows the specifications and fails closed where they leave room:
 * <ul>
 *   <li>{@code keys} must be present; other top-level members are ignored.</li>
 *   <li>An entry's {@code use} and {@code kty} must be set; entries with an unknown {@code use} or
 *       {@code kty} are ignored, as the specification requires.</li>
 *   <li>An {@code x509-svid} entry must carry exactly one standard-base64 DER certificate in
 *       {@code x5c} and key parameters equal to that certificate's public key. (The X509-SVID
 *       specification would have a consumer skip an entry without {@code x5c} and ignore extra
 *       certificates; Keel rejects the bundle instead, as go-spiffe does, so a malformed publisher is
 *       noticed rather than silently half-trusted.) A {@code kid} on such an entry, which publishers
 *       must not set, is ignored.</li>
 *   <li>A {@code jwt-svid} entry must have a non-empty {@code kid}, unique in the bundle.</li>
 *   <li>The JSON itself is read strictly: no duplicate member names, at most {@link #MAX_LENGTH} chars
 *       and {@link #MAX_DEPTH} levels.</li>
 * </ul>
 * The trust domain is not in the document: the caller says which trust domain the bundle is for,
 * from configuration, never from the bundle's contents.
 *
 * <p>Stateless and thread-safe.
 */
public final class BundleJson {

    /** The longest document accepted, in chars; several hundred RSA-4096 roots fit. */
    public static final int MAX_LENGTH = 4 * 1024 * 1024;
    /** The deepest nesting accepted; a bundle needs 3. */
    public static final int MAX_DEPTH = 16;

    static final String USE_X509_SVID = "x509-svid";
    static final String USE_JWT_SVID = "jwt-svid";

    private BundleJson() {
    }

    /**
     * The bundle as a compact JWK Set: X.509 authorities first, then JWT authorities, then the sequence
     * number and refresh hint when set.
     *
     * @throws IllegalArgumentException if a key is neither EC on a named curve nor RSA
     */
    public static String encode(Bundle bundle) {
        Objects.requireNonNull(bundle, "bundle");
        List<Object> keys = new ArrayList<>();
        for (X509Certificate authority : bundle.x509Authorities()) {
            Map<String, Object> jwk = new LinkedHashMap<>();
            jwk.put("use", USE_X509_SVID);
            try {
                jwk.putAll(Jwk.publicKeyMembers(authority.getPublicKey()));
                jwk.put("x5c", List.of(Base64.getEncoder().encodeToString(authority.getEncoded())));
            } catch (CertificateEncodingException | IllegalArgumentException e) {
                throw new IllegalArgumentException("bundle: X.509 authority " + X509Certificates.describe(authority)
                        + ": " + e.getMessage(), e);
            }
            keys.add(jwk);
        }
        for (Map.Entry<String, PublicKey> authority : bundle.jwtAuthorities().entrySet()) {
            Map<String, Object> jwk = new LinkedHashMap<>();
            jwk.put("use", USE_JWT_SVID);
            jwk.put("kid", authority.getKey());
            try {
                jwk.putAll(Jwk.publicKeyMembers(authority.getValue()));
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("bundle: JWT authority \"" + authority.getKey() + "\": "
                        + e.getMessage(), e);
            }
            keys.add(jwk);
        }
        Map<String, Object> document = new LinkedHashMap<>();
        document.put("keys", keys);
        bundle.sequenceNumber().ifPresent(sequence -> document.put("spiffe_sequence", sequence));
        bundle.refreshHint().ifPresent(hint -> document.put("spiffe_refresh_hint", hint.getSeconds()));
        return Json.write(document);
    }

    /**
     * Parses the bundle of {@code trustDomain} from a SPIFFE bundle document.
     *
     * @throws InvalidBundleException naming the entry and rule that failed
     */
    public static Bundle parse(TrustDomain trustDomain, String json) {
        Objects.requireNonNull(trustDomain, "trustDomain");
        Objects.requireNonNull(json, "json");
        Object root;
        try {
            root = Json.parse(json, MAX_DEPTH, MAX_LENGTH);
        } catch (JsonException e) {
            throw new InvalidBundleException("bundle: " + e.getMessage(), e);
        }
        if (!(root instanceof Map)) {
            throw new InvalidBundleException("bundle: the document is not a JSON object");
        }
        Map<?, ?> document = (Map<?, ?>) root;
        Bundle.Builder builder = Bundle.builder(trustDomain);

        Long sequence = integerMember(document, "spiffe_sequence", 0);
        if (sequence != null) {
            builder.sequenceNumber(sequence);
        }
        Long refreshHint = integerMember(document, "spiffe_refresh_hint", 1);
        if (refreshHint != null) {
            builder.refreshHint(Duration.ofSeconds(refreshHint));
        }

        Object keys = document.get("keys");
        if (keys == null) {
            throw new InvalidBundleException("bundle: \"keys\" is missing (required)");
        }
        if (!(keys instanceof List)) {
            throw new InvalidBundleException("bundle: \"keys\" is not an array");
        }
        CertificateFactory factory = certificateFactory();
        Map<String, Integer> kidIndex = new HashMap<>();
        List<?> entries = (List<?>) keys;
        for (int i = 0; i < entries.size(); i++) {
            String where = "bundle: keys[" + i + "]: ";
            if (!(entries.get(i) instanceof Map)) {
                throw new InvalidBundleException(where + "not a JSON object");
            }
            @SuppressWarnings("unchecked")
            Map<String, Object> jwk = (Map<String, Object>) entries.get(i);
            String use = stringMember(jwk, "use", where);
            if (!use.equals(USE_X509_SVID) && !use.equals(USE_JWT_SVID)) {
                continue;
            }
            String kty = stringMember(jwk, "kty", where);
            if (!kty.equals("EC") && !kty.equals("RSA")) {
                continue;
            }
            PublicKey key;
            try {
                key = Jwk.parsePublicKey(jwk);
            } catch (IllegalArgumentException e) {
                throw new InvalidBundleException(where + e.getMessage(), e);
            }
            if (use.equals(USE_X509_SVID)) {
                X509Certificate certificate = x5cCertificate(jwk, where, factory);
                if (!Jwk.sameKey(key, certificate.getPublicKey())) {
                    throw new InvalidBundleException(where + "the key parameters do not match the public key of the "
                            + "x5c certificate " + X509Certificates.describe(certificate));
                }
                builder.addX509Authority(certificate);
            } else {
                Object kid = jwk.get("kid");
                if (!(kid instanceof String) || ((String) kid).isEmpty()) {
                    throw new InvalidBundleException(where + "jwt-svid entry has "
                            + (kid == null ? "no kid" : "an empty or non-string kid") + " (required)");
                }
                Integer previous = kidIndex.putIfAbsent((String) kid, i);
                if (previous != null) {
                    throw new InvalidBundleException(where + "duplicate kid \"" + kid + "\" (also keys[" + previous + "])");
                }
                builder.putJwtAuthority((String) kid, key);
            }
        }
        return builder.build();
    }

    private static X509Certificate x5cCertificate(Map<String, Object> jwk, String where, CertificateFactory factory) {
        Object x5c = jwk.get("x5c");
        if (!(x5c instanceof List)) {
            throw new InvalidBundleException(where + "x509-svid entry " + (x5c == null ? "has no" : "has a non-array")
                    + " x5c (expected: exactly one certificate)");
        }
        List<?> chain = (List<?>) x5c;
        if (chain.size() != 1) {
            throw new InvalidBundleException(where + "x509-svid entry has " + chain.size()
                    + " x5c certificates (expected: exactly 1)");
        }
        if (!(chain.get(0) instanceof String)) {
            throw new InvalidBundleException(where + "x5c[0] is not a string");
        }
        byte[] der;
        try {
            der = Base64.getDecoder().decode((String) chain.get(0));
        } catch (IllegalArgumentException e) {
            throw new InvalidBundleException(where + "x5c[0] is not valid base64 (standard alphabet, padded, "
                    + "not base64url)", e);
        }
        try {
            X509Certificate certificate = (X509Certificate) factory.generateCertificate(new ByteArrayInputStream(der));
            if (certificate.getEncoded().length != der.length) {
                throw new InvalidBundleException(where + "x5c[0] has bytes after the certificate");
            }
            return certificate;
        } catch (CertificateException e) {
            throw new InvalidBundleException(where + "x5c[0] is not a DER X.509 certificate: " + e.getMessage(), e);
        }
    }

    private static String stringMember(Map<String, Object> jwk, String name, String where) {
        Object value = jwk.get(name);
        if (value == null) {
            throw new InvalidBundleException(where + name + " is missing (required)");
        }
        if (!(value instanceof String)) {
            throw new InvalidBundleException(where + name + " is not a string");
        }
        return (String) value;
    }

    private static Long integerMember(Map<?, ?> document, String name, long min) {
        Object value = document.get(name);
        if (value == null) {
            return null;
        }
        Long number = value instanceof BigDecimal ? Json.longValue((BigDecimal) value) : null;
        if (number == null || number < min) {
            throw new InvalidBundleException("bundle: " + name + ": " + value + " (expected: an integer from " + min
                    + " to " + Long.MAX_VALUE + ")");
        }
        return number;
    }

    private static CertificateFactory certificateFactory() {
        try {
            return CertificateFactory.getInstance("X.509");
        } catch (CertificateException e) {
            throw new IllegalStateException("X.509 is required of every JDK", e);
        }
    }
}
