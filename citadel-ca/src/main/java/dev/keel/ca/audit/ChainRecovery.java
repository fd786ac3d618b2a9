package dev.keel.ca.audit;

import dev.keel.ca.audit.LineParser.ChainFields;
import dev.keel.ca.audit.LineParser.MalformedLineException;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.security.MessageDigest;
import java.util.List;
import java.util.Optional;

/**
 * Decides, when a log is opened, where its chain continues, by comparing the end of the log
 * with the head file. It reads only the tail, so it catches damage at the end (truncation, an
 * edited or partial last line) but not in the middle; that is the verifier's job.
 *
 * <p>The writer forces the log before it replaces the head, so a crash between the two leaves
 * the log at most one batch ahead of the head. That state is accepted, and the head repaired,
 * only if the extra lines chain onto the line the head names. Anything else is refused.
 */
final class ChainRecovery {

    /** Where to continue, and whether the head file must be rewritten to match it. */
    record Resume(Head head, boolean headNeedsRepair) {}

    /** The log cannot be trusted; the message says why, in words for the operator. */
    static final class DamagedLogException extends Exception {
        private static final long serialVersionUID = 1L;

        DamagedLogException(String message) {
            super(message);
        }
    }

    private ChainRecovery() {}

    static Resume resume(FileChannel log, Optional<Head> recorded)
            throws IOException, DamagedLogException {
        if (log.size() == 0) {
            if (recorded.isEmpty()) {
                // A crash while creating the log, before its first head was written.
                return new Resume(Head.EMPTY, true);
            }
            if (recorded.get().seq() != 0) {
                throw new DamagedLogException("the log is empty but the head file says "
                        + recorded.get() + ": the log was truncated");
            }
            if (!recorded.get().equals(Head.EMPTY)) {
                throw new DamagedLogException("the head file says seq 0 but its hash is not 64"
                        + " zeros: it was edited");
            }
            return new Resume(recorded.get(), false);
        }
        if (!LogTail.endsWithNewline(log)) {
            throw new DamagedLogException("the last line is incomplete (no final newline)");
        }
        if (recorded.isEmpty()) {
            throw new DamagedLogException("the head file is missing");
        }
        Head head = recorded.get();
        MessageDigest sha256 = ChainFormat.sha256();
        byte[] lastLine = LogTail.lastLines(log, 1).lines().get(0);
        ChainFields last = parse(lastLine, "the last line");
        String lastHash = ChainFormat.hashHex(sha256, lastLine, 0, lastLine.length);
        if (last.seq() == head.seq()) {
            if (!lastHash.equals(head.hash())) {
                throw new DamagedLogException("the last line (seq " + last.seq()
                        + ") does not match the head file's hash: it was edited");
            }
            return new Resume(head, false);
        }
        if (last.seq() < head.seq()) {
            throw new DamagedLogException("the head file says " + head + " but the log ends at seq "
                    + last.seq() + ": the log was truncated");
        }
        long ahead = last.seq() - head.seq();
        if (ahead > ChainFormat.MAX_BATCH_LINES) {
            throw new DamagedLogException("the log ends at seq " + last.seq()
                    + ", more than one batch past the head file's " + head);
        }
        checkLinesAfterHead(log, head, (int) ahead, sha256);
        return new Resume(new Head(last.seq(), lastHash), true);
    }

    private static void checkLinesAfterHead(
            FileChannel log, Head head, int ahead, MessageDigest sha256)
            throws IOException, DamagedLogException {
        // With a head of seq 0 there is no head line to read: the extra lines are the whole log.
        boolean fromStart = head.seq() == 0;
        LogTail.Lines tail = LogTail.lastLines(log, fromStart ? ahead : ahead + 1);
        List<byte[]> lines = tail.lines();
        if (fromStart && !(tail.reachedStart() && lines.size() == ahead)) {
            throw new DamagedLogException("the head file says the log is empty, but it is not");
        }
        String expectedPrev = head.hash();
        long expectedSeq = head.seq() + 1;
        int first = 0;
        if (!fromStart) {
            if (lines.size() != ahead + 1) {
                throw new DamagedLogException("the log is shorter than its seq numbers claim");
            }
            byte[] headLine = lines.get(0);
            ChainFields fields = parse(headLine, "the line the head file names");
            String hash = ChainFormat.hashHex(sha256, headLine, 0, headLine.length);
            if (fields.seq() != head.seq() || !hash.equals(head.hash())) {
                throw new DamagedLogException("the lines after the head file's " + head
                        + " do not start from the line it names");
            }
            first = 1;
        }
        for (int i = first; i < lines.size(); i++) {
            byte[] line = lines.get(i);
            ChainFields fields = parse(line, "a line after the head");
            if (fields.seq() != expectedSeq || !fields.prev().equals(expectedPrev)) {
                throw new DamagedLogException("the lines after the head file's " + head
                        + " do not chain onto it");
            }
            expectedPrev = ChainFormat.hashHex(sha256, line, 0, line.length);
            expectedSeq++;
        }
    }

    private static ChainFields parse(byte[] line, String which) throws DamagedLogException {
        try {
            return LineParser.parse(line, 0, line.length);
        } catch (MalformedLineException e) {
            throw new DamagedLogException(which + ": " + e.getMessage());
        }
    }
}
