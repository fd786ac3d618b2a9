package dev.keel.jwt.internal;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

/**
 * The SHA-256 of a token: what caches are keyed by and what logs name a token by, so that neither ever
 * holds the token itself. Immutable value; equality is that of the digest.
 */
public record TokenDigest(long a, long b, long c, long d) {

    private static final ThreadLocal<MessageDigest> SHA256 = ThreadLocal.withInitial(() -> {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    });

    public static TokenDigest of(String token) {
        byte[] d = SHA256.get().digest(token.getBytes(StandardCharsets.UTF_8));
        return new TokenDigest(longAt(d, 0), longAt(d, 8), longAt(d, 16), longAt(d, 24));
    }

    private static long longAt(byte[] d, int offset) {
        long v = 0;
        for (int i = 0; i < 8; i++) {
            v = (v << 8) | (d[offset + i] & 0xff);
        }
        return v;
    }

    /** Hex of the first 8 bytes: enough to correlate log lines, useless to replay. */
    public String shortHex() {
        return HexFormat.of().toHexDigits(a);
    }

    @Override
    public String toString() {
        return "sha256:" + shortHex();
    }
}
