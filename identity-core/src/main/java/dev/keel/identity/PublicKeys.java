package dev.keel.identity;

import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.PublicKey;
import java.util.HexFormat;

/** Helpers for public keys that more than one module needs. */
public final class PublicKeys {

    private PublicKeys() {
    }

    /** SHA-256 of the DER SubjectPublicKeyInfo, lower-case hex: the key fingerprint audit lines carry. */
    public static String sha256Fingerprint(PublicKey key) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(key.getEncoded()));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is required of every JDK", e);
        }
    }
}
