package dev.keel.ca.audit;

import java.io.IOException;
import java.io.InputStream;
import java.util.Arrays;

/**
 * Splits a stream into lines on {@code '\n'} exactly as the writer wrote them: no charset
 * decoding and no {@code '\r'} handling, because the chain hashes raw bytes. Reuses one buffer;
 * a line's bytes are valid only until the next call. Not thread-safe.
 */
final class LineReader {

    private final InputStream in;
    private final byte[] input = new byte[64 * 1024];
    private int inputPos;
    private int inputEnd;
    private byte[] line = new byte[1024];
    private int lineLength;
    private boolean terminated;

    LineReader(InputStream in) {
        this.in = in;
    }

    /** Reads the next line; false at end of stream. */
    boolean next() throws IOException {
        lineLength = 0;
        boolean sawAnything = false;
        while (true) {
            if (inputPos == inputEnd) {
                inputEnd = in.read(input);
                inputPos = 0;
                if (inputEnd <= 0) {
                    inputEnd = 0;
                    terminated = false;
                    return sawAnything;
                }
            }
            sawAnything = true;
            int start = inputPos;
            while (inputPos < inputEnd && input[inputPos] != '\n') {
                inputPos++;
            }
            append(start, inputPos);
            if (inputPos < inputEnd) {
                inputPos++; // the newline
                terminated = true;
                return true;
            }
        }
    }

    byte[] bytes() {
        return line;
    }

    int length() {
        return lineLength;
    }

    /** False for a final line that the stream ended in the middle of. */
    boolean terminated() {
        return terminated;
    }

    private void append(int from, int to) {
        int count = to - from;
        if (lineLength + count > line.length) {
            line = Arrays.copyOf(line, Math.max(line.length * 2, lineLength + count));
        }
        System.arraycopy(input, from, line, lineLength, count);
        lineLength += count;
    }
}
