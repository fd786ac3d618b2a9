package dev.keel.ca.audit;

import java.util.List;
import java.util.Objects;
import java.util.OptionalLong;

/**
 * What {@link AuditLogVerifier#verify} found. Immutable and thread-safe.
 *
 * @param lines how many lines the log has, counting an incomplete last line
 * @param problems everything that breaks the chain or the format, in file order, with problems
 *     about the log as a whole (its end, its head file) last; empty when the log is intact
 */
public record VerificationReport(long lines, List<Problem> problems) {

    public VerificationReport {
        problems = List.copyOf(problems);
    }

    /** True when the log is intact: every line chains and its end matches the head file. */
    public boolean ok() {
        return problems.isEmpty();
    }

    /** A one-line verdict, such as {@code ok: 120 lines, chain intact} or {@code 2 problems in 120 lines}. */
    public String summary() {
        if (ok()) {
            return "ok: " + lines + (lines == 1 ? " line" : " lines") + ", chain intact";
        }
        return problems.size() + (problems.size() == 1 ? " problem" : " problems") + " in " + lines
                + (lines == 1 ? " line" : " lines");
    }

    /**
     * One thing wrong with the log.
     *
     * @param line the 1-based line the problem was found on, or 0 when it is about the log as a
     *     whole (its end, or its head file)
     * @param seq the seq of that line, or of the head when the problem is about the end of the
     *     log, when known
     * @param message the finding in words, starting with where it is ({@code line 17: ...},
     *     {@code end of log: ...}, {@code head file ...}); print it as it is
     */
    public record Problem(long line, OptionalLong seq, String message) {

        public Problem {
            Objects.requireNonNull(seq, "seq");
            Objects.requireNonNull(message, "message");
        }

        @Override
        public String toString() {
            return message;
        }
    }
}
