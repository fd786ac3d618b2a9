package dev.keel.ca;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import dev.keel.identity.KeyType;
import dev.keel.identity.SignatureAlgorithm;
import dev.keel.identity.SigningException;
import dev.keel.identity.SigningKey;
import dev.keel.identity.SpiffeId;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.HexFormat;
import java.util.List;
import java.util.Objects;
import org.bouncycastle.crypto.signers.PlainDSAEncoding;
import org.bouncycastle.crypto.signers.StandardDSAEncoding;

/**
 * Signs JWT-SVIDs (SPIFFE JWT-SVID specification): a JWS with {@code alg} and {@code kid} in the
 * header, and {@code sub}, {@code aud}, {@code exp}, {@code iat}, {@code jti} claims. The key is a
 * {@link SigningKey} of its own, published in the trust bundle as a {@code jwt-svid} authority
 * under {@code keyId}.
 *
 * <p>Thread-safe.
 */
public final class JwtSvidMinter {

    /** Audiences are short strings; a request with many or long ones is a probe. */
    static final int MAX_AUDIENCES = 16;
    static final int MAX_AUDIENCE_LENGTH = 512;

    private static final Base64.Encoder B64URL = Base64.getUrlEncoder().withoutPadding();
    private static final JsonFactory JSON = new JsonFactory();
    private static final SecureRandom RANDOM = new SecureRandom();

    private final SigningKey key;
    private final String keyId;
    private final SignatureAlgorithm algorithm;
    private final Duration defaultTtl;
    private final Duration maxTtl;
    private final Clock clock;
    private final String encodedHeader;

    public JwtSvidMinter(SigningKey key, String keyId, Duration defaultTtl, Duration maxTtl, Clock clock) {
        this.key = Objects.requireNonNull(key, "key");
        this.keyId = Objects.requireNonNull(keyId, "keyId");
        this.defaultTtl = Objects.requireNonNull(defaultTtl, "defaultTtl");
        this.maxTtl = Objects.requireNonNull(maxTtl, "maxTtl");
        this.clock = Objects.requireNonNull(clock, "clock");
        if (defaultTtl.isNegative() || defaultTtl.isZero() || maxTtl.compareTo(defaultTtl) < 0) {
            throw new IllegalArgumentException("defaultTtl: " + defaultTtl + ", maxTtl: " + maxTtl
                    + " (expected: 0 < defaultTtl <= maxTtl)");
        }
        this.algorithm = key.keyType().defaultSignatureAlgorithm();
        this.encodedHeader = B64URL.encodeToString(json(g -> {
            g.writeStringField("alg", algorithm.jwsName());
            g.writeStringField("kid", keyId);
            g.writeStringField("typ", "JWT");
        }));
    }

    public String keyId() {
        return keyId;
    }

    public SigningKey key() {
        return key;
    }

    /**
     * Mints a JWT-SVID for {@code subject}.
     *
     * @param requestedTtl {@link Duration#ZERO} for the default; longer than the maximum is capped
     * @throws CaException INVALID_ARGUMENT for a missing or oversized audience, UNAVAILABLE when
     *     the key cannot sign
     */
    public MintedJwtSvid mint(SpiffeId subject, List<String> audience, Duration requestedTtl) throws CaException {
        Objects.requireNonNull(subject, "subject");
        Objects.requireNonNull(audience, "audience");
        checkAudience(audience);
        if (requestedTtl.isNegative()) {
            throw new CaException(CaException.Code.INVALID_ARGUMENT, "ttl: " + requestedTtl.toSeconds() + "s (expected: >= 0)");
        }
        Duration ttl = requestedTtl.isZero() ? defaultTtl : requestedTtl.compareTo(maxTtl) > 0 ? maxTtl : requestedTtl;
        Instant now = Instant.ofEpochSecond(clock.instant().getEpochSecond());
        Instant exp = now.plus(ttl);
        byte[] jti = new byte[16];
        RANDOM.nextBytes(jti);
        String jwtId = HexFormat.of().formatHex(jti);
        String payload = B64URL.encodeToString(json(g -> {
            g.writeStringField("sub", subject.toString());
            g.writeArrayFieldStart("aud");
            for (String a : audience) {
                g.writeString(a);
            }
            g.writeEndArray();
            g.writeNumberField("exp", exp.getEpochSecond());
            g.writeNumberField("iat", now.getEpochSecond());
            g.writeStringField("jti", jwtId);
        }));
        String signingInput = encodedHeader + "." + payload;
        byte[] signature;
        try {
            signature = toJws(key.sign(algorithm, signingInput.getBytes(StandardCharsets.US_ASCII)));
        } catch (SigningException e) {
            throw new CaException(e.unavailable() ? CaException.Code.UNAVAILABLE
                    : e.refused() ? CaException.Code.FAILED_PRECONDITION : CaException.Code.INTERNAL,
                    "JWT key " + key.id() + " could not sign: " + e.getMessage(), e);
        }
        return new MintedJwtSvid(subject, audience, signingInput + "." + B64URL.encodeToString(signature), exp, jwtId);
    }

    private static void checkAudience(List<String> audience) throws CaException {
        if (audience.isEmpty()) {
            throw new CaException(CaException.Code.INVALID_ARGUMENT, "audience: empty (expected: at least one)");
        }
        if (audience.size() > MAX_AUDIENCES) {
            throw new CaException(CaException.Code.INVALID_ARGUMENT,
                    "audience: " + audience.size() + " values (expected: <= " + MAX_AUDIENCES + ")");
        }
        for (String a : audience) {
            if (a == null || a.isEmpty() || a.length() > MAX_AUDIENCE_LENGTH) {
                throw new CaException(CaException.Code.INVALID_ARGUMENT,
                        "audience: a value is empty or longer than " + MAX_AUDIENCE_LENGTH + " characters");
            }
        }
    }

    /** JWS wants ECDSA as r || s of fixed width (RFC 7518 section 3.4), not X.509's DER. */
    private byte[] toJws(byte[] signature) throws SigningException {
        if (algorithm.family() != KeyType.Family.EC) {
            return signature;
        }
        BigInteger n = key.keyType() == KeyType.EC_P256
                ? new BigInteger("ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551", 16)
                : new BigInteger("ffffffffffffffffffffffffffffffffffffffffffffffffc7634d81f4372ddf581a0db248b0a77aecec196accc52973", 16);
        try {
            BigInteger[] rs = StandardDSAEncoding.INSTANCE.decode(n, signature);
            return PlainDSAEncoding.INSTANCE.encode(n, rs[0], rs[1]);
        } catch (IOException | IllegalArgumentException e) {
            throw new SigningException("the key returned a malformed ECDSA signature", false, e);
        }
    }

    private interface JsonBody {
        void write(JsonGenerator generator) throws IOException;
    }

    private static byte[] json(JsonBody body) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(256);
        try (JsonGenerator g = JSON.createGenerator(out)) {
            g.writeStartObject();
            body.write(g);
            g.writeEndObject();
        } catch (IOException e) {
            throw new IllegalStateException("cannot write JSON to memory", e);
        }
        return out.toByteArray();
    }
}
