package dev.keel.ca.audit;

import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

/** Constants of the on-disk format shared by the writer, the recovery on open and the verifier. */
final class ChainFormat {

    /** The {@code prev} of the first line, and the hash of "seq 0" in a new log's head file. */
    static final String ZERO_HASH = "0".repeat(64);

    /**
     * Most lines the writer puts in one batch. The head file is replaced after every batch, so
     * after a crash the log can be at most this many lines ahead of the head; open() and the
     * verifier accept that much and no more.
     */
    static final int MAX_BATCH_LINES = 1024;

    /**
     * A batch is also cut once it holds this many bytes of records, so that a burst of unusually
     * long lines cannot make the writer's reusable buffer grow without bound.
     */
    static final int MAX_BATCH_BYTES = 4 * 1024 * 1024;

    static final HexFormat HEX = HexFormat.of();

    private ChainFormat() {}

    static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every Java runtime must provide SHA-256", e);
        }
    }

    static String hashHex(MessageDigest sha256, byte[] line, int offset, int length) {
        sha256.update(line, offset, length);
        return HEX.formatHex(sha256.digest());
    }

    /** For messages: enough of a hash to compare by eye, not 64 characters of noise. */
    static String shortHash(String hex) {
        return hex.length() <= 12 ? hex : hex.substring(0, 12) + "\u2026";
    }
}
