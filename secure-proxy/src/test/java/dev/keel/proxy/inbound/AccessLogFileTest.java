package dev.keel.proxy.inbound;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The batched access log file: every line, whole and in order, appended. */
class AccessLogFileTest {

    @TempDir
    Path dir;

    @Test
    void linesAreAppendedWholeAndInOrderAcrossBatches() throws Exception {
        Path file = dir.resolve("access.log");
        Files.writeString(file, "{\"earlier\":true}\n");
        List<String> expected = new ArrayList<>();
        expected.add("{\"earlier\":true}");
        try (AccessLogFile log = AccessLogFile.open(file, Duration.ofHours(1))) {
            // More than FLUSH_BYTES, so some batches go out on the caller's thread and the rest at close.
            for (int i = 0; i < 3000; i++) {
                String line = "{\"n\":" + i + ",\"path\":\"/" + "x".repeat(i % 50) + "\"}";
                log.accept(line);
                expected.add(line);
            }
            assertThat(log.dropped()).isZero();
        }
        assertThat(Files.readAllLines(file)).containsExactlyElementsOf(expected);
    }

    @Test
    void flushWritesWhatIsBuffered() throws Exception {
        Path file = dir.resolve("access.log");
        try (AccessLogFile log = AccessLogFile.open(file, Duration.ofHours(1))) {
            log.accept("{\"a\":1}");
            assertThat(Files.readString(file)).isEmpty();
            log.flush();
            assertThat(Files.readString(file)).isEqualTo("{\"a\":1}\n");
        }
    }

    @Test
    void accessLogLinesArePureAscii() {
        List<String> lines = new ArrayList<>();
        AccessLog log = new AccessLog(lines::add);
        AccessLog.Entry e = new AccessLog.Entry();
        e.path = "/caf\u00e9/\u2603\u0001";
        log.log(e);
        assertThat(lines).singleElement().asString().contains("\"path\":\"/caf\\u00e9/\\u2603\\u0001\"")
                .matches("\\p{ASCII}*");
    }
}
