package dev.keel.ca.audit;

import static dev.keel.ca.audit.AuditTestSupport.headOf;
import static dev.keel.ca.audit.AuditTestSupport.issued;
import static dev.keel.ca.audit.AuditTestSupport.lines;
import static dev.keel.ca.audit.AuditTestSupport.rewrite;
import static dev.keel.ca.audit.AuditTestSupport.writeLog;
import static org.assertj.core.api.Assertions.assertThat;

import dev.keel.ca.audit.VerificationReport.Problem;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.OptionalLong;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class AuditLogVerifierTest {

    @TempDir
    Path dir;

    Path file;
    List<String> original;

    @BeforeEach
    void writeFiveLines() throws Exception {
        file = dir.resolve("audit.log");
        writeLog(file, 5);
        original = lines(file);
        assertThat(original).hasSize(5);
        assertThat(AuditLogVerifier.verify(file).ok()).isTrue();
    }

    @Test
    void editedMiddleLineIsNamedByTheLineAfterIt() throws Exception {
        List<String> lines = new ArrayList<>(original);
        lines.set(2, lines.get(2).replace("\"spiffe_id\":\"spiffe://keel.test/ns/other/",
                "\"spiffe_id\":\"spiffe://keel.test/ns/admin/"));
        assertThat(lines.get(2)).isNotEqualTo(original.get(2));
        rewrite(file, lines);

        VerificationReport report = AuditLogVerifier.verify(file);

        assertThat(report.ok()).isFalse();
        assertThat(report.lines()).isEqualTo(5);
        assertThat(report.problems()).containsExactly(new Problem(4, OptionalLong.of(4),
                "line 4: prev hash does not match line 3 (line 3 was edited, or a line was"
                        + " removed between them)"));
    }

    @Test
    void removedMiddleLineIsAGapInTheSeqs() throws Exception {
        List<String> lines = new ArrayList<>(original);
        lines.remove(2);
        rewrite(file, lines);

        assertThat(messages()).containsExactly("line 3: seq 4 follows seq 2: 1 line removed");
        assertThat(AuditLogVerifier.verify(file).problems().get(0).line()).isEqualTo(3);
    }

    @Test
    void removedFirstLineIsReportedAsRemovedFromTheStart() throws Exception {
        rewrite(file, original.subList(1, 5));

        assertThat(messages()).containsExactly(
                "line 1: the log starts at seq 2: 1 line removed from the start");
    }

    @Test
    void swappedLinesAreOutOfOrderNotRemoved() throws Exception {
        List<String> lines = new ArrayList<>(original);
        lines.set(2, original.get(3));
        lines.set(3, original.get(2));
        rewrite(file, lines);

        List<Problem> problems = AuditLogVerifier.verify(file).problems();

        assertThat(problems).extracting(Problem::line).containsExactly(3L, 4L, 5L);
        assertThat(problems).extracting(Problem::message).containsExactly(
                "line 3: seq 4 follows seq 2: lines are out of order (the skipped seqs appear"
                        + " elsewhere in the log)",
                "line 4: seq 3 follows seq 4: lines are out of order (moved, swapped or"
                        + " duplicated)",
                "line 5: seq 5 follows seq 3: lines are out of order (the skipped seqs appear"
                        + " elsewhere in the log)");
        assertThat(problems).allSatisfy(p -> assertThat(p.message()).doesNotContain("removed"));
    }

    @Test
    void truncatedLastLineIsCaughtByTheHeadFile() throws Exception {
        rewrite(file, original.subList(0, 4));

        List<Problem> problems = AuditLogVerifier.verify(file).problems();

        assertThat(problems).hasSize(1);
        assertThat(problems.get(0).line()).isZero();
        assertThat(problems.get(0).seq()).hasValue(5);
        assertThat(problems.get(0).message())
                .startsWith("end of log: head file says seq 5 (hash ")
                .endsWith("but the log ends at seq 4: the log was truncated (1 line missing)");
    }

    @Test
    void truncatedLastThreeLinesAreCaughtByTheHeadFile() throws Exception {
        rewrite(file, original.subList(0, 2));

        assertThat(messages()).singleElement().asString()
                .startsWith("end of log: head file says seq 5 (hash ")
                .endsWith("but the log ends at seq 2: the log was truncated (3 lines missing)");
    }

    @Test
    void truncatedToNothingIsCaughtByTheHeadFile() throws Exception {
        Files.write(file, new byte[0]);

        assertThat(messages()).singleElement().asString()
                .contains("but the log ends at seq 0: the log was truncated (5 lines missing)");
    }

    @Test
    void choppedFinalNewlineIsAnIncompleteLastLine() throws Exception {
        rewrite(file, original, false);

        assertThat(messages()).containsExactly("line 5: incomplete last line (no final newline):"
                + " a write was cut off, or the log was truncated in the middle of a line");
    }

    @Test
    void lastLineCutInTheMiddleIsIncompleteAndTruncated() throws Exception {
        List<String> lines = new ArrayList<>(original);
        lines.set(4, original.get(4).substring(0, 40));
        rewrite(file, lines, false);

        VerificationReport report = AuditLogVerifier.verify(file);

        assertThat(report.lines()).isEqualTo(5);
        assertThat(report.problems()).extracting(Problem::message).satisfiesExactly(
                m -> assertThat(m).startsWith("line 5: incomplete last line (no final newline)"),
                m -> assertThat(m).startsWith("end of log: head file says seq 5")
                        .endsWith("the log ends at seq 4: the log was truncated (1 line missing)"));
    }

    @Test
    void editedLastLineIsCaughtByTheHeadFileHash() throws Exception {
        List<String> lines = new ArrayList<>(original);
        lines.set(4, original.get(4).replace("\"serial\":\"0a3ed\"", "\"serial\":\"0a3ee\""));
        assertThat(lines.get(4)).isNotEqualTo(original.get(4));
        rewrite(file, lines);

        List<Problem> problems = AuditLogVerifier.verify(file).problems();

        assertThat(problems).hasSize(1);
        assertThat(problems.get(0).line()).isEqualTo(5);
        assertThat(problems.get(0).message()).startsWith(
                "line 5: does not match the head file (head says seq 5 has hash ")
                .endsWith("): line 5 was edited");
    }

    @Test
    void aLineThatIsNotJsonIsReportedAndBreaksTheChainAfterIt() throws Exception {
        List<String> lines = new ArrayList<>(original);
        lines.set(1, "{\"seq\":2, oops");
        rewrite(file, lines);

        List<String> messages = messages();

        assertThat(messages).hasSize(2);
        assertThat(messages.get(0)).startsWith("line 2: not valid JSON: ");
        assertThat(messages.get(1)).isEqualTo("line 3: prev hash does not match line 2 (line 2"
                + " was edited, or a line was removed between them)");
    }

    @Test
    void aLineWithADuplicatedFieldIsMalformed() throws Exception {
        List<String> lines = new ArrayList<>(original);
        lines.set(1, original.get(1).replace("{\"seq\":2,", "{\"seq\":2,\"seq\":7,"));
        rewrite(file, lines);

        assertThat(messages()).first().asString().startsWith("line 2: not valid JSON: Duplicate field");
    }

    @Test
    void trailingBytesAfterTheJsonObjectAreMalformed() throws Exception {
        List<String> lines = new ArrayList<>(original);
        lines.set(1, original.get(1) + " {}");
        rewrite(file, lines);

        assertThat(messages()).first().asString().startsWith("line 2: not valid JSON: ");
    }

    @Test
    void missingHeadFileIsReported() throws Exception {
        Files.delete(headOf(file));

        VerificationReport report = AuditLogVerifier.verify(file);

        assertThat(report.problems()).singleElement().satisfies(p -> {
            assertThat(p.line()).isZero();
            assertThat(p.message()).startsWith("head file missing: ")
                    .contains("audit.log.head");
        });
    }

    @Test
    void unreadableHeadFileIsReported() throws Exception {
        Files.writeString(headOf(file), "seq=5");

        assertThat(messages()).singleElement().asString().startsWith("head file unreadable: ");
    }

    @Test
    void missingLogIsReported() throws Exception {
        Files.delete(file);

        assertThat(messages()).containsExactly("log file missing: " + file);
    }

    @Test
    void aLogOneBatchAheadOfItsHeadIsACrashNotTampering() throws Exception {
        byte[] headAtFive = Files.readAllBytes(headOf(file));
        try (AuditLog log = AuditLog.open(file)) {
            log.appendAndWait(issued(6));
        }
        Files.write(headOf(file), headAtFive);

        assertThat(AuditLogVerifier.verify(file).problems()).isEmpty();
    }

    @Test
    void aLogFarAheadOfItsHeadIsReported() throws Exception {
        byte[] headAtFive = Files.readAllBytes(headOf(file));
        int extra = ChainFormat.MAX_BATCH_LINES + 10;
        try (AuditLog log = AuditLog.open(file)) {
            List<CompletableFuture<Void>> futures = new ArrayList<>();
            for (int i = 0; i < extra; i++) {
                futures.add(log.append(issued(6 + i)));
            }
            CompletableFuture.allOf(futures.toArray(CompletableFuture[]::new)).join();
        }
        Files.write(headOf(file), headAtFive);

        assertThat(messages()).singleElement().asString().startsWith(
                "end of log: the log goes on to seq " + (5 + extra) + ", " + extra
                        + " lines past the head file's seq 5 (hash ");
    }

    @Test
    void summaryReadsWell() throws Exception {
        assertThat(AuditLogVerifier.verify(file).summary()).isEqualTo("ok: 5 lines, chain intact");
        rewrite(file, original.subList(0, 4));
        assertThat(AuditLogVerifier.verify(file).summary()).isEqualTo("1 problem in 4 lines");
    }

    private List<String> messages() {
        List<String> messages = new ArrayList<>();
        for (Problem problem : AuditLogVerifier.verify(file).problems()) {
            messages.add(problem.message());
        }
        return messages;
    }
}
