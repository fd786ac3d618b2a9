package dev.keel.ca.audit;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/** Records and raw file surgery shared by the audit tests. */
final class AuditTestSupport {

    static final Instant T0 = Instant.parse("2025-03-01T12:00:00Z");

    private AuditTestSupport() {}

    static AuditRecord issued(int n) {
        return AuditRecord.issued(T0.plusSeconds(n), "spiffe://keel.test/ns/keel/sa/agent",
                "spiffe://keel.test/ns/default/sa/app-" + n, "0a" + Integer.toHexString(1000 + n),
                T0.plusSeconds(3600 + n), "sha256:" + "ab".repeat(32));
    }

    static AuditRecord refused(int n) {
        return AuditRecord.refused(T0.plusSeconds(n), "spiffe://keel.test/ns/keel/sa/agent",
                "spiffe://keel.test/ns/other/sa/app-" + n, null, "caller may not request this ID");
    }

    /** Writes {@code count} records alternating issued/refused, and closes the log. */
    static void writeLog(Path file, int count) {
        try (AuditLog log = AuditLog.open(file)) {
            for (int i = 1; i <= count; i++) {
                log.appendAndWait(i % 3 == 0 ? refused(i) : issued(i));
            }
        }
    }

    /** The log's lines without newlines; a final unterminated fragment is included. */
    static List<String> lines(Path file) throws IOException {
        String text = Files.readString(file, StandardCharsets.US_ASCII);
        List<String> lines = new ArrayList<>(Arrays.asList(text.split("\n", -1)));
        if (lines.get(lines.size() - 1).isEmpty()) {
            lines.remove(lines.size() - 1);
        }
        return lines;
    }

    static void rewrite(Path file, List<String> lines) throws IOException {
        rewrite(file, lines, true);
    }

    static void rewrite(Path file, List<String> lines, boolean finalNewline) throws IOException {
        String text = String.join("\n", lines) + (finalNewline && !lines.isEmpty() ? "\n" : "");
        Files.writeString(file, text, StandardCharsets.US_ASCII);
    }

    static Path headOf(Path file) {
        return file.resolveSibling(file.getFileName() + ".head");
    }
}
