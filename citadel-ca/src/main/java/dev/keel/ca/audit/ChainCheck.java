package dev.keel.ca.audit;

import dev.keel.ca.audit.LineParser.ChainFields;
import dev.keel.ca.audit.LineParser.MalformedLineException;
import dev.keel.ca.audit.VerificationReport.Problem;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.Comparator;
import java.util.List;
import java.util.OptionalLong;
import java.util.function.Supplier;

/**
 * Walks the lines of a log in order and explains every place where the chain breaks. Each kind
 * of tampering leaves a distinct trace, and the messages name it:
 * <ul>
 *   <li>an edited line still parses, but its hash changes, so the next line's {@code prev} no
 *       longer matches while the seqs still count up by one;
 *   <li>a removed line leaves a gap in the seqs;
 *   <li>moved or swapped lines make the seqs go backwards, and the gaps they leave are filled
 *       elsewhere, which is why gaps are judged only once every line has been seen;
 *   <li>an edited last line has no next line, so it is caught by the head file's hash.
 * </ul>
 * Not thread-safe; one instance per verification.
 */
final class ChainCheck {

    private final Head head; // null when the head file is missing or unreadable
    private final MessageDigest sha256 = ChainFormat.sha256();
    // Seqs seen anywhere, to tell a line removed from one moved; an entry may be resolved later.
    private final BitSet seen = new BitSet();
    private final List<Supplier<Problem>> problems = new ArrayList<>();

    private long lineNumber;
    private String previousLineHash = ChainFormat.ZERO_HASH;
    private boolean previousSeqKnown = true; // before line 1, "seq 0" is known
    private long previousSeq;
    private long headLineNumber;
    private String headLineHash;

    ChainCheck(Head head) {
        this.head = head;
    }

    void accept(byte[] line, int length, boolean terminated) {
        long number = ++lineNumber;
        String hash = ChainFormat.hashHex(sha256, line, 0, length);
        if (!terminated) {
            report(number, OptionalLong.empty(), "line " + number + ": incomplete last line (no final"
                    + " newline): a write was cut off, or the log was truncated in the middle of a"
                    + " line");
        }
        ChainFields fields;
        try {
            fields = LineParser.parse(line, 0, length);
        } catch (MalformedLineException e) {
            // A cut-off line is expected not to parse; saying so again would be noise.
            if (terminated) {
                report(number, OptionalLong.empty(), "line " + number + ": " + e.getMessage());
            }
            previousSeqKnown = false;
            previousLineHash = hash;
            return;
        }
        checkChain(number, fields);
        long seq = fields.seq();
        if (seq <= Integer.MAX_VALUE) {
            seen.set((int) seq);
        }
        if (head != null && seq == head.seq() && headLineHash == null) {
            headLineNumber = number;
            headLineHash = hash;
        }
        previousSeqKnown = true;
        previousSeq = seq;
        previousLineHash = hash;
    }

    private void checkChain(long number, ChainFields fields) {
        long seq = fields.seq();
        OptionalLong at = OptionalLong.of(seq);
        boolean linked = fields.prev().equals(previousLineHash);
        if (!previousSeqKnown || seq == previousSeq + 1) {
            if (!linked) {
                report(number, at, number == 1
                        ? "line 1: prev hash is not 64 zeros, so this is not the start of a chain"
                                + " (the line was edited, or lines were removed from the start)"
                        : "line " + number + ": prev hash does not match line " + (number - 1)
                                + " (line " + (number - 1) + " was edited, or a line was removed"
                                + " between them)");
            }
        } else if (seq > previousSeq + 1) {
            long after = previousSeq;
            problems.add(() -> new Problem(number, at, describeGap(number, after, seq, linked)));
        } else {
            report(number, at, "line " + number + ": seq " + seq + " follows seq " + previousSeq
                    + ": lines are out of order (moved, swapped or duplicated)");
        }
    }

    /** Called once every line is seen, so that a gap filled later is not called a removal. */
    private String describeGap(long number, long after, long seq, boolean linked) {
        long skipped = seq - after - 1;
        if (linked) {
            return "line " + number + ": seq " + seq + " follows seq " + after + " although its prev"
                    + " hash matches line " + (number - 1) + ": the seq of line " + number
                    + " was edited";
        }
        long missing = skipped - seenBetween(after, seq);
        String where = after == 0
                ? "line " + number + ": the log starts at seq " + seq + ": "
                : "line " + number + ": seq " + seq + " follows seq " + after + ": ";
        if (missing == skipped) {
            return where + lines(missing) + " removed" + (after == 0 ? " from the start" : "");
        }
        if (missing == 0) {
            return where + "lines are out of order (the skipped seqs appear elsewhere in the log)";
        }
        return where + lines(missing) + " removed, and others moved elsewhere in the log";
    }

    private long seenBetween(long after, long before) {
        if (after + 1 > Integer.MAX_VALUE) {
            return 0;
        }
        int to = (int) Math.min(before, Integer.MAX_VALUE);
        return seen.get((int) after + 1, to).cardinality();
    }

    /** Checks the end of the log against the head file and returns every problem found. */
    List<Problem> finish() {
        if (head != null) {
            checkEnd();
        }
        List<Problem> resolved = new ArrayList<>(problems.size());
        for (Supplier<Problem> problem : problems) {
            resolved.add(problem.get());
        }
        // File order first, then findings about the log as a whole (line 0).
        resolved.sort(Comparator.comparingLong(p -> p.line() == 0 ? Long.MAX_VALUE : p.line()));
        return resolved;
    }

    long lines() {
        return lineNumber;
    }

    private void checkEnd() {
        OptionalLong headSeq = OptionalLong.of(head.seq());
        if (headLineHash != null && !headLineHash.equals(head.hash())) {
            report(headLineNumber, headSeq, "line " + headLineNumber + ": does not match the head"
                    + " file (head says seq " + head.seq() + " has hash "
                    + ChainFormat.shortHash(head.hash()) + "): line " + headLineNumber
                    + " was edited");
        }
        long end = previousSeqKnown ? previousSeq : lastKnownSeq();
        if (head.seq() > 0 && headLineHash == null && end < head.seq()) {
            long missing = head.seq() - end;
            report(0, headSeq, "end of log: head file says " + head + " but the log ends at seq "
                    + end + ": the log was truncated (" + lines(missing) + " missing)");
        } else if (end > head.seq() + ChainFormat.MAX_BATCH_LINES) {
            // Up to one batch past the head is a crash between forcing the log and moving the
            // head; the per-line checks have already vouched for how those lines chain.
            report(0, headSeq, "end of log: the log goes on to seq " + end + ", "
                    + lines(end - head.seq()) + " past the head file's " + head
                    + ": lines were appended outside the CA, or the head file was replaced by"
                    + " an older one");
        }
    }

    private long lastKnownSeq() {
        // The last line did not parse; the highest seq seen is the best guess of where the log
        // ends, and is never higher than the truth.
        return Math.max(0, seen.length() - 1);
    }

    private void report(long line, OptionalLong seq, String message) {
        Problem problem = new Problem(line, seq, message);
        problems.add(() -> problem);
    }

    private static String lines(long count) {
        return count + (count == 1 ? " line" : " lines");
    }
}
