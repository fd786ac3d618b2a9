package dev.keel.ca.audit;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;

/**
 * Reads the last lines of a log by scanning backwards, so that reopening a large log costs
 * the size of one batch, not the size of the log.
 */
final class LogTail {

    private static final int CHUNK = 64 * 1024;

    /** Up to {@code count} last complete lines, in file order, without their newlines. */
    record Lines(List<byte[]> lines, boolean reachedStart) {}

    private LogTail() {}

    static boolean endsWithNewline(FileChannel channel) throws IOException {
        long size = channel.size();
        if (size == 0) {
            return true;
        }
        ByteBuffer last = ByteBuffer.allocate(1);
        readFully(channel, last, size - 1);
        return last.get(0) == '\n';
    }

    /**
     * The last {@code count} lines of a file that ends with a newline. {@code reachedStart} says
     * whether the first returned line is the first line of the file.
     */
    static Lines lastLines(FileChannel channel, int count) throws IOException {
        long end = channel.size() - 1; // position of the final newline
        List<byte[]> lines = new ArrayList<>();
        byte[] pending = new byte[0]; // bytes after the newest newline found, not yet a full line
        long position = end;
        while (position > 0 && lines.size() < count) {
            int size = (int) Math.min(CHUNK, position);
            ByteBuffer chunk = ByteBuffer.allocate(size);
            readFully(channel, chunk, position - size);
            byte[] bytes = chunk.array();
            int lineEnd = size;
            for (int i = size - 1; i >= 0 && lines.size() < count; i--) {
                if (bytes[i] == '\n') {
                    lines.add(concat(bytes, i + 1, lineEnd, pending));
                    pending = new byte[0];
                    lineEnd = i;
                }
            }
            pending = concat(bytes, 0, lineEnd, pending);
            position -= size;
        }
        boolean reachedStart = false;
        if (lines.size() < count && position == 0 && end >= 0) {
            lines.add(pending);
            reachedStart = true;
        }
        Collections.reverse(lines);
        return new Lines(lines, reachedStart);
    }

    private static byte[] concat(byte[] bytes, int from, int to, byte[] tail) {
        byte[] joined = Arrays.copyOfRange(bytes, from, to + tail.length);
        System.arraycopy(tail, 0, joined, to - from, tail.length);
        return joined;
    }

    private static void readFully(FileChannel channel, ByteBuffer buffer, long position)
            throws IOException {
        while (buffer.hasRemaining()) {
            int read = channel.read(buffer, position + buffer.position());
            if (read < 0) {
                throw new IOException("log shrank while it was being read");
            }
        }
    }
}
