package dev.keel.ca.audit;

import dev.keel.ca.audit.VerificationReport.Problem;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.OptionalLong;

/**
 * Checks a whole audit log offline, as {@code keel ca audit verify <file>} does: every line's
 * format, every link of the hash chain, the seqs, and the end of the log against its head file.
 * It reports every problem it can find, with the line it is on, rather than stopping at the
 * first, so that an operator can see which lines were edited, removed, reordered or cut off.
 *
 * <p>A log up to one batch longer than its head file with those lines chaining correctly is
 * reported as intact: that is what a crash between forcing the log and replacing the head
 * leaves, and {@link AuditLog#open} repairs it.
 *
 * <p>Read-only, and safe to run while the CA is appending, though lines written during the run
 * may then be reported against a head file that has already moved on. Stateless and
 * thread-safe.
 */
public final class AuditLogVerifier {

    private AuditLogVerifier() {}

    /**
     * Verifies the log at {@code file} and its {@code <file>.head}.
     *
     * @throws AuditLogException if a file exists but cannot be read
     */
    public static VerificationReport verify(Path file) {
        HeadFile headFile = new HeadFile(file);
        List<Problem> headProblems = new ArrayList<>();
        Head head = readHead(headFile, headProblems);
        ChainCheck check = new ChainCheck(head);
        try (InputStream in = Files.newInputStream(file)) {
            LineReader reader = new LineReader(in);
            while (reader.next()) {
                check.accept(reader.bytes(), reader.length(), reader.terminated());
            }
        } catch (NoSuchFileException e) {
            return new VerificationReport(0, List.of(new Problem(0, OptionalLong.empty(),
                    "log file missing: " + file)));
        } catch (IOException e) {
            throw new AuditLogException("cannot read audit log " + file + ": " + e, e);
        }
        List<Problem> problems = new ArrayList<>(check.finish());
        problems.addAll(headProblems);
        return new VerificationReport(check.lines(), problems);
    }

    private static Head readHead(HeadFile headFile, List<Problem> problems) {
        String consequence = ": cannot tell whether lines were cut off the end of the log";
        try {
            Optional<Head> head = headFile.read();
            if (head.isEmpty()) {
                problems.add(new Problem(0, OptionalLong.empty(),
                        "head file missing: " + headFile.path() + consequence));
                return null;
            }
            return head.get();
        } catch (IOException e) {
            problems.add(new Problem(0, OptionalLong.empty(),
                    "head file unreadable: " + headFile.path() + ": " + e.getMessage()
                            + consequence));
            return null;
        } finally {
            try {
                headFile.close();
            } catch (IOException e) {
                // Reading never opens the directory handle, so there is nothing to fail here.
            }
        }
    }
}
