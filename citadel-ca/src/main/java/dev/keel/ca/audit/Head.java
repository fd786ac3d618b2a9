package dev.keel.ca.audit;

/**
 * The end of the chain: the seq of the last line and the hex SHA-256 of its bytes. A new log's
 * head is seq 0 with {@link ChainFormat#ZERO_HASH}, which is what the first line's prev names.
 */
record Head(long seq, String hash) {

    static final Head EMPTY = new Head(0, ChainFormat.ZERO_HASH);

    @Override
    public String toString() {
        return "seq " + seq + " (hash " + ChainFormat.shortHash(hash) + ")";
    }
}
