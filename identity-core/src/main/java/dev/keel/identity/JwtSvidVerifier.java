package dev.keel.identity;

import dev.keel.identity.JwtSvidValidationException.Rule;
import dev.keel.identity.internal.Json;
import dev.keel.identity.internal.JsonException;
import java.math.BigDecimal;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.PublicKey;
import java.security.Signature;
import java.security.interfaces.RSAPublicKey;
import java.security.spec.MGF1ParameterSpec;
import java.security.spec.PSSParameterSpec;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Validates JWT-SVIDs as the JWT-SVID specification says:
 * <ol>
 *   <li>JWS compact serialization: three base64url segments, a JSON object header and payload, at
 *       most {@link #MAX_TOKEN_LENGTH} characters;</li>
 *   <li>header: only {@code alg}, {@code kid} and {@code typ} (section 2); {@code alg} one of RS256,
 *       RS384, RS512, ES256, ES384, ES512, PS256, PS384, PS512, so never {@code none} nor an HMAC
 *       (section 2.1); {@code typ}, when present, {@code JWT} or {@code JOSE} (section 2.3);
 *       {@code kid} present (the specification makes it optional, but a bundle holds JWT
 *       authorities by key ID, so without one there is nothing to verify against);</li>
 *   <li>{@code sub} a SPIFFE ID with a path; the key is the JWT authority with the token's
 *       {@code kid} in the bundle of {@code sub}'s own trust domain, and must be a {@link KeyType}
 *       Keel accepts, of the family {@code alg} needs (ES256 with P-256 and ES384 with P-384; Keel
 *       accepts no P-521 key, so ES512 never verifies);</li>
 *   <li>the signature verifies over the first two segments;</li>
 *   <li>then the claims: {@code aud} present and containing the expected audience, {@code exp}
 *       present and after the verification time, {@code nbf}, if present, not after it. No leeway.</li>
 * </ol>
 *
 * <p>Immutable and thread-safe. It calls the {@link BundleSource} once per token.
 */
public final class JwtSvidVerifier {

    /** The longest token accepted, in characters: JWT-SVIDs are a few hundred bytes. */
    public static final int MAX_TOKEN_LENGTH = 16 * 1024;

    private static final int MAX_JSON_DEPTH = 32;
    private static final Set<String> HEADERS = Set.of("alg", "kid", "typ");
    /** The last second of year 9999: anything later is not a date a token means. */
    private static final BigDecimal MAX_NUMERIC_DATE = BigDecimal.valueOf(253_402_300_799L);
    private static final int MAX_CACHED_VERIFIERS = 256;

    /** The JWS algorithms the JWT-SVID specification allows (RFC 7518 sections 3.3, 3.4 and 3.5). */
    private enum JwsAlgorithm {
        RS256(SignatureAlgorithm.RSA_PKCS1_SHA256, null, 0),
        RS384(SignatureAlgorithm.RSA_PKCS1_SHA384, null, 0),
        RS512(SignatureAlgorithm.RSA_PKCS1_SHA512, null, 0),
        ES256(SignatureAlgorithm.ECDSA_SHA256, null, 0),
        ES384(SignatureAlgorithm.ECDSA_SHA384, null, 0),
        ES512(SignatureAlgorithm.ECDSA_SHA512, null, 0),
        PS256(null, "SHA-256", 32),
        PS384(null, "SHA-384", 48),
        PS512(null, "SHA-512", 64);

        /** For RSASSA-PKCS1-v1_5 and ECDSA: the algorithm {@link SignatureVerifier} verifies. */
        final SignatureAlgorithm signatureAlgorithm;
        /** For RSASSA-PSS: the digest, used for MGF1 too, and the salt length (RFC 7518 section 3.5). */
        final String pssDigest;
        final int pssSaltLength;

        JwsAlgorithm(SignatureAlgorithm signatureAlgorithm, String pssDigest, int pssSaltLength) {
            this.signatureAlgorithm = signatureAlgorithm;
            this.pssDigest = pssDigest;
            this.pssSaltLength = pssSaltLength;
        }

        KeyType.Family family() {
            return signatureAlgorithm == null ? KeyType.Family.RSA : signatureAlgorithm.family();
        }

        static JwsAlgorithm of(String name) {
            for (JwsAlgorithm algorithm : values()) {
                if (algorithm.name().equals(name)) {
                    return algorithm;
                }
            }
            return null;
        }
    }

    private final BundleSource bundles;
    private final Clock clock;
    private final Map<PublicKey, SignatureVerifier> verifiers = new ConcurrentHashMap<>();

    private JwtSvidVerifier(BundleSource bundles, Clock clock) {
        this.bundles = bundles;
        this.clock = clock;
    }

    /** A verifier that trusts the JWT authorities of what {@code bundles} returns, at {@code clock}'s time. */
    public static JwtSvidVerifier create(BundleSource bundles, Clock clock) {
        return new JwtSvidVerifier(Objects.requireNonNull(bundles, "bundles"), Objects.requireNonNull(clock, "clock"));
    }

    /**
     * Verifies {@code token} for {@code expectedAudience} at the clock's current time.
     *
     * @throws JwtSvidValidationException naming the first rule that failed
     * @throws IllegalArgumentException if {@code expectedAudience} is empty
     */
    public JwtSvid verify(String token, String expectedAudience) throws JwtSvidValidationException {
        Objects.requireNonNull(token, "token");
        Objects.requireNonNull(expectedAudience, "expectedAudience");
        if (expectedAudience.isEmpty()) {
            throw new IllegalArgumentException("expectedAudience: empty (expected: the audience this validator identifies with)");
        }
        if (token.length() > MAX_TOKEN_LENGTH) {
            throw new JwtSvidValidationException(Rule.TOO_LONG,
                    "token of " + token.length() + " characters (expected: <= " + MAX_TOKEN_LENGTH + ")");
        }
        int firstDot = token.indexOf('.');
        int secondDot = firstDot < 0 ? -1 : token.indexOf('.', firstDot + 1);
        if (secondDot < 0 || token.indexOf('.', secondDot + 1) >= 0) {
            throw new JwtSvidValidationException(Rule.MALFORMED,
                    "not a JWS compact serialization (expected: three base64url segments separated by '.')");
        }
        String encodedHeader = token.substring(0, firstDot);
        String encodedPayload = token.substring(firstDot + 1, secondDot);
        Map<String, Object> header = jsonObject(decodeSegment(encodedHeader, "header"), "header");

        for (String name : header.keySet()) {
            if (!HEADERS.contains(name)) {
                throw new JwtSvidValidationException(Rule.HEADER, "header " + quote(name)
                        + " is not allowed (expected: only alg, kid and typ)");
            }
        }
        Object alg = header.get("alg");
        JwsAlgorithm algorithm = alg instanceof String ? JwsAlgorithm.of((String) alg) : null;
        if (algorithm == null) {
            throw new JwtSvidValidationException(Rule.ALGORITHM, (alg == null ? "alg is missing"
                    : "alg " + describe(alg) + " is not allowed")
                    + " (expected: RS256, RS384, RS512, ES256, ES384, ES512, PS256, PS384 or PS512)");
        }
        Object typ = header.get("typ");
        if (typ != null && !"JWT".equals(typ) && !"JOSE".equals(typ)) {
            throw new JwtSvidValidationException(Rule.TYPE, "typ " + describe(typ) + " (expected: JWT or JOSE, or no typ)");
        }
        Object kid = header.get("kid");
        if (!(kid instanceof String) || ((String) kid).isEmpty()) {
            throw new JwtSvidValidationException(Rule.KEY_ID,
                    (kid == null ? "kid is missing" : "kid " + describe(kid) + " is not a non-empty string")
                            + " (required to find the JWT authority in the bundle)");
        }
        String keyId = (String) kid;

        Map<String, Object> payload = jsonObject(decodeSegment(encodedPayload, "payload"), "payload");
        byte[] signature = decodeSegment(token.substring(secondDot + 1), "signature");
        SpiffeId subject = subject(payload.get("sub"));

        Optional<Bundle> bundle = bundles.bundleFor(subject.trustDomain());
        if (bundle.isEmpty()) {
            throw new JwtSvidValidationException(Rule.NO_BUNDLE, "no bundle for trust domain " + subject.trustDomain()
                    + " of subject " + subject);
        }
        PublicKey key = bundle.get().jwtAuthority(keyId).orElseThrow(() -> new JwtSvidValidationException(
                Rule.UNKNOWN_KEY, "the bundle of " + subject.trustDomain() + " has no JWT authority with kid " + quote(keyId)));

        byte[] signingInput = (encodedHeader + "." + encodedPayload).getBytes(StandardCharsets.US_ASCII);
        if (!signatureValid(algorithm, key, keyId, signingInput, signature)) {
            throw new JwtSvidValidationException(Rule.SIGNATURE, "the " + algorithm + " signature does not verify under"
                    + " JWT authority " + quote(keyId) + " of " + subject.trustDomain());
        }

        List<String> audience = audience(payload.get("aud"));
        if (!audience.contains(expectedAudience)) {
            throw new JwtSvidValidationException(Rule.AUDIENCE, "aud " + describeAudience(audience)
                    + " does not contain " + quote(expectedAudience));
        }
        Instant now = clock.instant();
        BigDecimal nowSeconds = BigDecimal.valueOf(now.getEpochSecond()).add(BigDecimal.valueOf(now.getNano(), 9));
        BigDecimal exp = numericDate(payload, "exp", Rule.EXPIRY);
        if (exp == null) {
            throw new JwtSvidValidationException(Rule.EXPIRY, "exp is missing (required)");
        }
        if (exp.compareTo(nowSeconds) <= 0) {
            throw new JwtSvidValidationException(Rule.EXPIRED, "expired at " + Instant.ofEpochSecond(exp.longValue())
                    + " (now " + now + ")");
        }
        BigDecimal nbf = numericDate(payload, "nbf", Rule.MALFORMED);
        if (nbf != null && nbf.compareTo(nowSeconds) > 0) {
            throw new JwtSvidValidationException(Rule.NOT_YET_VALID, "not valid before "
                    + Instant.ofEpochSecond(nbf.longValue()) + " (now " + now + ")");
        }
        @SuppressWarnings("unchecked")
        Map<String, Object> claims = (Map<String, Object>) plain(payload);
        return new JwtSvid(subject, audience, Instant.ofEpochSecond(exp.longValue()), keyId, algorithm.name(), claims,
                token);
    }

    private boolean signatureValid(JwsAlgorithm algorithm, PublicKey key, String keyId, byte[] data, byte[] signature)
            throws JwtSvidValidationException {
        KeyType keyType;
        try {
            keyType = KeyType.of(key);
        } catch (WeakKeyException e) {
            throw new JwtSvidValidationException(Rule.WEAK_KEY, "JWT authority " + quote(keyId) + ": " + e.getMessage());
        }
        if (keyType.family() != algorithm.family()
                || keyType.family() == KeyType.Family.EC && keyType.defaultSignatureAlgorithm() != algorithm.signatureAlgorithm) {
            throw new JwtSvidValidationException(Rule.ALGORITHM, "alg " + algorithm + " does not fit the " + keyType
                    + " key of JWT authority " + quote(keyId));
        }
        if (algorithm.signatureAlgorithm != null) {
            return verifier(key).verifyJws(algorithm.signatureAlgorithm, data, signature);
        }
        return verifyPss(algorithm, (RSAPublicKey) key, data, signature);
    }

    private SignatureVerifier verifier(PublicKey key) {
        SignatureVerifier verifier = verifiers.get(key);
        if (verifier == null) {
            if (verifiers.size() >= MAX_CACHED_VERIFIERS) {
                verifiers.clear();
            }
            verifier = SignatureVerifier.of(key);
            verifiers.put(key, verifier);
        }
        return verifier;
    }

    private static boolean verifyPss(JwsAlgorithm algorithm, RSAPublicKey key, byte[] data, byte[] signature) {
        try {
            Signature verifier = Signature.getInstance("RSASSA-PSS");
            verifier.setParameter(new PSSParameterSpec(algorithm.pssDigest, "MGF1",
                    new MGF1ParameterSpec(algorithm.pssDigest), algorithm.pssSaltLength, PSSParameterSpec.TRAILER_FIELD_BC));
            verifier.initVerify(key);
            verifier.update(data);
            return verifier.verify(signature);
        } catch (GeneralSecurityException | RuntimeException e) {
            return false;
        }
    }

    private static SpiffeId subject(Object sub) throws JwtSvidValidationException {
        if (!(sub instanceof String)) {
            throw new JwtSvidValidationException(Rule.SUBJECT, sub == null ? "sub is missing (required)"
                    : "sub " + describe(sub) + " is not a string");
        }
        SpiffeId id;
        try {
            id = SpiffeId.parse((String) sub);
        } catch (InvalidSpiffeIdException e) {
            throw new JwtSvidValidationException(Rule.SUBJECT, "sub is not a valid SPIFFE ID: " + e.getMessage());
        }
        if (id.path().isEmpty()) {
            throw new JwtSvidValidationException(Rule.SUBJECT, "sub " + id + " is a trust domain, not a workload "
                    + "(expected: a SPIFFE ID with a path)");
        }
        return id;
    }

    private static List<String> audience(Object aud) throws JwtSvidValidationException {
        if (aud == null) {
            throw new JwtSvidValidationException(Rule.AUDIENCE, "aud is missing (required)");
        }
        if (aud instanceof String) {
            if (((String) aud).isEmpty()) {
                throw new JwtSvidValidationException(Rule.AUDIENCE, "aud is empty");
            }
            return List.of((String) aud);
        }
        if (!(aud instanceof List) || ((List<?>) aud).isEmpty()) {
            throw new JwtSvidValidationException(Rule.AUDIENCE, "aud " + describe(aud)
                    + " (expected: a non-empty string or array of strings)");
        }
        List<String> values = new ArrayList<>();
        for (Object value : (List<?>) aud) {
            if (!(value instanceof String) || ((String) value).isEmpty()) {
                throw new JwtSvidValidationException(Rule.AUDIENCE, "aud has an element " + describe(value)
                        + " (expected: non-empty strings)");
            }
            values.add((String) value);
        }
        return values;
    }

    private static BigDecimal numericDate(Map<String, Object> payload, String name, Rule rule)
            throws JwtSvidValidationException {
        Object value = payload.get(name);
        if (value == null) {
            return null;
        }
        if (!(value instanceof BigDecimal) || ((BigDecimal) value).compareTo(MAX_NUMERIC_DATE) > 0
                || ((BigDecimal) value).compareTo(MAX_NUMERIC_DATE.negate()) < 0) {
            throw new JwtSvidValidationException(rule, name + " " + describe(value)
                    + " (expected: a NumericDate, seconds since the epoch, before year 10000)");
        }
        return (BigDecimal) value;
    }

    private static byte[] decodeSegment(String segment, String name) throws JwtSvidValidationException {
        if (segment.isEmpty()) {
            throw new JwtSvidValidationException(Rule.MALFORMED, "the " + name + " segment is empty");
        }
        for (int i = 0; i < segment.length(); i++) {
            char c = segment.charAt(i);
            if (!(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_')) {
                throw new JwtSvidValidationException(Rule.MALFORMED, "the " + name
                        + " segment is not unpadded base64url (character at index " + i + ")");
            }
        }
        try {
            return Base64.getUrlDecoder().decode(segment);
        } catch (IllegalArgumentException e) {
            throw new JwtSvidValidationException(Rule.MALFORMED, "the " + name + " segment is not valid base64url");
        }
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> jsonObject(byte[] utf8, String name) throws JwtSvidValidationException {
        String text;
        try {
            text = StandardCharsets.UTF_8.newDecoder().decode(ByteBuffer.wrap(utf8)).toString();
        } catch (CharacterCodingException e) {
            throw new JwtSvidValidationException(Rule.MALFORMED, "the " + name + " is not UTF-8");
        }
        Object value;
        try {
            value = Json.parse(text, MAX_JSON_DEPTH, MAX_TOKEN_LENGTH);
        } catch (JsonException e) {
            throw new JwtSvidValidationException(Rule.MALFORMED, "the " + name + " is not valid JSON: " + e.getMessage());
        }
        if (!(value instanceof Map)) {
            throw new JwtSvidValidationException(Rule.MALFORMED, "the " + name + " is not a JSON object");
        }
        return (Map<String, Object>) value;
    }

    /** Json's values with JSON null as Java null, so the public type carries nothing from {@code internal}. */
    private static Object plain(Object value) {
        if (value == Json.NULL) {
            return null;
        }
        if (value instanceof Map) {
            Map<String, Object> copy = new LinkedHashMap<>();
            for (Map.Entry<?, ?> e : ((Map<?, ?>) value).entrySet()) {
                copy.put((String) e.getKey(), plain(e.getValue()));
            }
            return Collections.unmodifiableMap(copy);
        }
        if (value instanceof List) {
            List<Object> copy = new ArrayList<>();
            for (Object element : (List<?>) value) {
                copy.add(plain(element));
            }
            return Collections.unmodifiableList(copy);
        }
        return value;
    }

    private static String describeAudience(List<String> audience) {
        StringBuilder out = new StringBuilder("[");
        for (int i = 0; i < audience.size() && i < 8; i++) {
            out.append(i == 0 ? "" : ", ").append(quote(audience.get(i)));
        }
        return out.append(audience.size() > 8 ? ", ...]" : "]").toString();
    }

    private static String describe(Object value) {
        if (value instanceof String) {
            return quote((String) value);
        }
        if (value instanceof Map) {
            return "(an object)";
        }
        if (value instanceof List) {
            return "(an array)";
        }
        return String.valueOf(value);
    }

    /** Quotes a value taken from the token: short, printable, so messages stay safe to log. */
    private static String quote(String s) {
        StringBuilder out = new StringBuilder("\"");
        for (int i = 0; i < s.length() && i < 64; i++) {
            char c = s.charAt(i);
            out.append(c < 0x20 || c == 0x7f || c == '"' || c == '\\' ? '?' : c);
        }
        return out.append(s.length() > 64 ? "...\"" : "\"").toString();
    }
}
