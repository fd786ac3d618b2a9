package dev.keel.jwt.internal;

import dev.keel.jwt.JwtResult.Reason;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.Map;

/**
 * A compact JWS split and decoded, nothing verified (RFC 7515 section 7.1, RFC 7519 section 7.2): three
 * base64url segments without padding, a UTF-8 JSON object header and payload ({@link StrictJson}: duplicate
 * member names and deep nesting refused). Immutable.
 */
public final class ParsedJwt {

    private static final Base64.Decoder B64 = Base64.getUrlDecoder();

    private final String token;
    private final Map<String, Object> header;
    private final Map<String, Object> payload;
    private final String payloadSegment;
    private final byte[] signingInput;
    private final byte[] signature;

    private ParsedJwt(String token, Map<String, Object> header, Map<String, Object> payload, String payloadSegment,
            byte[] signingInput, byte[] signature) {
        this.token = token;
        this.header = header;
        this.payload = payload;
        this.payloadSegment = payloadSegment;
        this.signingInput = signingInput;
        this.signature = signature;
    }

    /** Parses {@code token}; refuses it if over {@code maxBytes} or malformed. */
    public static ParsedJwt parse(String token, int maxBytes) throws TokenRejected {
        if (token.length() > maxBytes) {
            throw new TokenRejected(Reason.TOO_LARGE, "token of " + token.length() + " characters (expected: <= " + maxBytes + ")");
        }
        int first = token.indexOf('.');
        int second = first < 0 ? -1 : token.indexOf('.', first + 1);
        if (first < 0 || second < 0 || token.indexOf('.', second + 1) >= 0) {
            throw new TokenRejected(Reason.MALFORMED, "not a compact JWS of three segments");
        }
        String headerSegment = token.substring(0, first);
        String payloadSegment = token.substring(first + 1, second);
        String signatureSegment = token.substring(second + 1);
        if (headerSegment.isEmpty() || payloadSegment.isEmpty() || signatureSegment.isEmpty()) {
            throw new TokenRejected(Reason.MALFORMED, "empty segment");
        }
        Map<String, Object> header = json(decode(headerSegment, "header"), "header");
        Map<String, Object> payload = json(decode(payloadSegment, "payload"), "payload");
        byte[] signature = decode(signatureSegment, "signature");
        byte[] signingInput = token.substring(0, second).getBytes(StandardCharsets.US_ASCII);
        return new ParsedJwt(token, header, payload, payloadSegment, signingInput, signature);
    }

    private static byte[] decode(String segment, String what) throws TokenRejected {
        for (int i = 0; i < segment.length(); i++) {
            char c = segment.charAt(i);
            if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_')) {
                throw new TokenRejected(Reason.MALFORMED, what + ": not base64url without padding");
            }
        }
        try {
            return B64.decode(segment);
        } catch (IllegalArgumentException e) {
            throw new TokenRejected(Reason.MALFORMED, what + ": not base64url");
        }
    }

    private static Map<String, Object> json(byte[] bytes, String what) throws TokenRejected {
        String text;
        try {
            text = StandardCharsets.UTF_8.newDecoder().decode(java.nio.ByteBuffer.wrap(bytes)).toString();
        } catch (java.nio.charset.CharacterCodingException e) {
            throw new TokenRejected(Reason.MALFORMED, what + ": not UTF-8");
        }
        try {
            return StrictJson.parseObject(text);
        } catch (IllegalArgumentException | StackOverflowError e) {
            throw new TokenRejected(Reason.MALFORMED, what + ": " + e.getMessage());
        }
    }

    public String token() {
        return token;
    }

    /** The header, as parsed (mutable map owned by this object; do not modify). */
    public Map<String, Object> header() {
        return header;
    }

    public Map<String, Object> payload() {
        return payload;
    }

    /** The payload exactly as it appeared, base64url: what {@code outputPayloadToHeader} forwards. */
    public String payloadSegment() {
        return payloadSegment;
    }

    /** ASCII of {@code header.payload}: what the signature covers. */
    public byte[] signingInput() {
        return signingInput;
    }

    public byte[] signature() {
        return signature;
    }

    /** A header parameter that must be a string if present. */
    public String headerString(String name) throws TokenRejected {
        return string(header, name, "header");
    }

    /** A claim that must be a string if present. */
    public String claimString(String name) throws TokenRejected {
        return string(payload, name, "claim");
    }

    private static String string(Map<String, Object> map, String name, String what) throws TokenRejected {
        Object value = map.get(name);
        if (value == null) {
            return null;
        }
        if (!(value instanceof String)) {
            throw new TokenRejected(Reason.MALFORMED, what + " " + name + ": not a string");
        }
        return (String) value;
    }

    /** A NumericDate claim (RFC 7519 section 2) in whole seconds, or null if absent. */
    public Long numericDate(String name) throws TokenRejected {
        Object value = payload.get(name);
        if (value == null) {
            return null;
        }
        if (value instanceof Long || value instanceof Integer) {
            return ((Number) value).longValue();
        }
        if (value instanceof Double && Double.isFinite((Double) value)) {
            return (long) Math.floor((Double) value);
        }
        throw new TokenRejected(Reason.MALFORMED, "claim " + name + ": not a NumericDate");
    }
}
