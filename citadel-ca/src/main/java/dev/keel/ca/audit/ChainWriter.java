package dev.keel.ca.audit;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.security.DigestException;
import java.security.MessageDigest;
import java.util.List;

/**
 * Appends batches of lines to the log file, each line chained to the one before it, and makes
 * each batch durable with a single force. Confined to the writer thread: it keeps the chain's
 * position in plain fields and reuses one buffer and one digest for every line.
 */
final class ChainWriter {

    private static final byte[] SEQ_PREFIX = "{\"seq\":".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] PREV_PREFIX = ",\"prev\":\"".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] LINE_END = "\"}\n".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] HEX_DIGITS = "0123456789abcdef".getBytes(StandardCharsets.US_ASCII);

    private final FileChannel channel;
    private final MessageDigest sha256 = ChainFormat.sha256();
    private final byte[] prevHash = new byte[32];
    private long seq;
    private byte[] buffer = new byte[64 * 1024];
    private int length;

    ChainWriter(FileChannel channel, Head start) {
        this.channel = channel;
        this.seq = start.seq();
        System.arraycopy(ChainFormat.HEX.parseHex(start.hash()), 0, prevHash, 0, prevHash.length);
    }

    /**
     * Writes the batch and forces it to disk. Returns the new head. On an exception the file
     * may hold part of the batch and this writer must not be used again.
     */
    Head writeBatch(List<PendingLine> batch) throws IOException {
        length = 0;
        for (PendingLine line : batch) {
            frame(line.body());
        }
        ByteBuffer bytes = ByteBuffer.wrap(buffer, 0, length);
        while (bytes.hasRemaining()) {
            channel.write(bytes);
        }
        // force(true): on some file systems the new file length is metadata, and a line past
        // the recorded length is a line lost.
        channel.force(true);
        return new Head(seq, ChainFormat.HEX.formatHex(prevHash));
    }

    private void frame(byte[] body) {
        seq++;
        ensureRoom(SEQ_PREFIX.length + 20 + 1 + body.length + PREV_PREFIX.length + 64 + LINE_END.length);
        int start = length;
        put(SEQ_PREFIX);
        putDecimal(seq);
        buffer[length++] = ',';
        put(body);
        put(PREV_PREFIX);
        for (byte b : prevHash) {
            buffer[length++] = HEX_DIGITS[(b >> 4) & 0xf];
            buffer[length++] = HEX_DIGITS[b & 0xf];
        }
        put(LINE_END);
        // The format defines prev over the line without its newline: exactly the bytes a
        // reader sees between two newlines, so the verifier never has to re-encode anything.
        sha256.update(buffer, start, length - 1 - start);
        try {
            sha256.digest(prevHash, 0, prevHash.length);
        } catch (DigestException e) {
            throw new IllegalStateException("a 32-byte buffer always fits SHA-256", e);
        }
    }

    private void put(byte[] bytes) {
        System.arraycopy(bytes, 0, buffer, length, bytes.length);
        length += bytes.length;
    }

    private void putDecimal(long value) {
        int digits = 1;
        for (long v = value; v >= 10; v /= 10) {
            digits++;
        }
        for (int i = length + digits - 1; i >= length; i--) {
            buffer[i] = (byte) ('0' + value % 10);
            value /= 10;
        }
        length += digits;
    }

    private void ensureRoom(int needed) {
        if (length + needed > buffer.length) {
            byte[] bigger = new byte[Math.max(buffer.length * 2, length + needed)];
            System.arraycopy(buffer, 0, bigger, 0, length);
            buffer = bigger;
        }
    }
}
