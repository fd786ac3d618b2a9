package dev.keel.ca.audit;

import static dev.keel.ca.audit.AuditTestSupport.T0;
import static dev.keel.ca.audit.AuditTestSupport.headOf;
import static dev.keel.ca.audit.AuditTestSupport.issued;
import static dev.keel.ca.audit.AuditTestSupport.lines;
import static dev.keel.ca.audit.AuditTestSupport.refused;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class AuditLogTest {

    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path dir;

    @Test
    void appendedLinesHaveTheFixedFormatAndVerify() throws Exception {
        Path file = dir.resolve("audit.log");
        try (AuditLog log = AuditLog.open(file)) {
            log.appendAndWait(AuditRecord.issued(T0, "spiffe://keel.test/ns/keel/sa/agent",
                    "spiffe://keel.test/ns/default/sa/web", "1f2e", T0.plusSeconds(3600), "ab12"));
            log.append(AuditRecord.refused(T0.plusSeconds(1), null,
                    "spiffe://keel.test/ns/default/sa/db", null, "not authorized")).get();
        }

        List<String> lines = lines(file);
        assertThat(lines).hasSize(2);
        assertThat(lines.get(0)).isEqualTo("{\"seq\":1,\"time\":\"2025-03-01T12:00:00Z\","
                + "\"caller\":\"spiffe://keel.test/ns/keel/sa/agent\","
                + "\"spiffe_id\":\"spiffe://keel.test/ns/default/sa/web\",\"serial\":\"1f2e\","
                + "\"not_after\":\"2025-03-01T13:00:00Z\",\"key_fingerprint\":\"ab12\","
                + "\"outcome\":\"issued\",\"reason\":null,\"prev\":\"" + "0".repeat(64) + "\"}");
        assertThat(lines.get(1)).isEqualTo("{\"seq\":2,\"time\":\"2025-03-01T12:00:01Z\","
                + "\"caller\":null,\"spiffe_id\":\"spiffe://keel.test/ns/default/sa/db\","
                + "\"serial\":null,\"not_after\":null,\"key_fingerprint\":null,"
                + "\"outcome\":\"refused\",\"reason\":\"not authorized\",\"prev\":\""
                + sha256Hex(lines.get(0)) + "\"}");
        assertThat(Files.readString(headOf(file)))
                .isEqualTo("{\"seq\":2,\"hash\":\"" + sha256Hex(lines.get(1)) + "\"}\n");

        VerificationReport report = AuditLogVerifier.verify(file);
        assertThat(report.problems()).isEmpty();
        assertThat(report.ok()).isTrue();
        assertThat(report.lines()).isEqualTo(2);
    }

    @Test
    void newLogIsEmptyAndVerifies() {
        Path file = dir.resolve("audit.log");
        AuditLog.open(file).close();

        assertThat(file).isEmptyFile();
        assertThat(AuditLogVerifier.verify(file).ok()).isTrue();
        AuditLog.open(file).close();
    }

    @Test
    void reopeningContinuesTheChain() throws Exception {
        Path file = dir.resolve("audit.log");
        AuditTestSupport.writeLog(file, 3);
        try (AuditLog log = AuditLog.open(file)) {
            log.appendAndWait(issued(4));
            log.appendAndWait(refused(5));
        }
        try (AuditLog log = AuditLog.open(file)) {
            log.appendAndWait(issued(6));
        }

        VerificationReport report = AuditLogVerifier.verify(file);
        assertThat(report.problems()).isEmpty();
        assertThat(report.lines()).isEqualTo(6);
        assertThat(seqs(file)).containsExactly(1L, 2L, 3L, 4L, 5L, 6L);
    }

    @Test
    void reopeningFindsTheLastLineEvenWhenItIsLongerThanOneReadChunk() {
        Path file = dir.resolve("audit.log");
        String hugeCaller = "x".repeat(200_000);
        try (AuditLog log = AuditLog.open(file)) {
            log.appendAndWait(issued(1));
            log.appendAndWait(AuditRecord.refused(T0, hugeCaller, null, null, "too long"));
        }
        try (AuditLog log = AuditLog.open(file)) {
            log.appendAndWait(issued(3));
        }
        assertThat(AuditLogVerifier.verify(file).problems()).isEmpty();
    }

    @Test
    void concurrentAppendsAllBecomeDurableInOneContiguousChain() throws Exception {
        Path file = dir.resolve("audit.log");
        int threads = 32;
        int perThread = 100;
        ExecutorService callers = Executors.newFixedThreadPool(threads);
        try (AuditLog log = AuditLog.open(file)) {
            CountDownLatch start = new CountDownLatch(1);
            List<Future<List<CompletableFuture<Void>>>> submitted = new ArrayList<>();
            for (int t = 0; t < threads; t++) {
                int thread = t;
                submitted.add(callers.submit(() -> {
                    start.await();
                    List<CompletableFuture<Void>> futures = new ArrayList<>();
                    for (int i = 0; i < perThread; i++) {
                        int n = thread * perThread + i;
                        if (i % 2 == 0) {
                            futures.add(log.append(issued(n)));
                        } else {
                            log.appendAndWait(refused(n));
                        }
                    }
                    return futures;
                }));
            }
            start.countDown();
            for (Future<List<CompletableFuture<Void>>> caller : submitted) {
                for (CompletableFuture<Void> durable : caller.get(60, TimeUnit.SECONDS)) {
                    durable.get(60, TimeUnit.SECONDS);
                }
            }
        } finally {
            callers.shutdownNow();
        }

        VerificationReport report = AuditLogVerifier.verify(file);
        assertThat(report.problems()).isEmpty();
        assertThat(report.lines()).isEqualTo(threads * perThread);
        List<Long> seqs = seqs(file);
        for (int i = 0; i < seqs.size(); i++) {
            assertThat(seqs.get(i)).isEqualTo(i + 1L);
        }
    }

    @Test
    void futureCompletesOnlyAfterItsLineWasForced() throws Exception {
        Path file = dir.resolve("audit.log");
        List<FailingFileChannel> channels = new ArrayList<>();
        try (AuditLog log = AuditLog.open(file, path -> {
            FailingFileChannel channel = new FailingFileChannel(FileChannel.open(path,
                    StandardOpenOption.CREATE, StandardOpenOption.READ, StandardOpenOption.WRITE));
            channels.add(channel);
            return channel;
        })) {
            for (int i = 1; i <= 20; i++) {
                log.append(issued(i)).get();
                // Read through the file system, not the channel: the bytes the caller was
                // promised must be within what had been forced when the future completed.
                assertThat(channels.get(0).forcedSize.get()).isEqualTo(Files.size(file));
            }
        }
    }

    @Test
    void callerControlledStringsCannotBreakTheLineStructure() throws Exception {
        Path file = dir.resolve("audit.log");
        String nasty = "evil\"},\n{\"seq\":99,\"prev\":\"" + "0".repeat(64) + "\"}\r\n"
                + "\\ \t \u0000 \u001b[31m \u2028 \u00e9\u540d\u524d \ud83d\ude00 \ud800 end";
        try (AuditLog log = AuditLog.open(file)) {
            log.appendAndWait(AuditRecord.refused(T0, nasty, nasty, nasty, nasty));
            log.appendAndWait(issued(2));
        }

        byte[] bytes = Files.readAllBytes(file);
        for (byte b : bytes) {
            assertThat(b == '\n' || (b >= 0x20 && b <= 0x7e))
                    .as("byte 0x%02x is printable ASCII or a newline", b).isTrue();
        }
        List<String> lines = lines(file);
        assertThat(lines).hasSize(2);
        JsonNode first = JSON.readTree(lines.get(0));
        assertThat(first.get("seq").asLong()).isEqualTo(1);
        assertThat(first.get("caller").textValue()).isEqualTo(nasty);
        assertThat(first.get("spiffe_id").textValue()).isEqualTo(nasty);
        assertThat(first.get("reason").textValue()).isEqualTo(nasty);
        assertThat(AuditLogVerifier.verify(file).problems()).isEmpty();
    }

    @Test
    void aSecondWriterOnTheSameFileIsRefused() {
        Path file = dir.resolve("audit.log");
        try (AuditLog log = AuditLog.open(file)) {
            assertThatThrownBy(() -> AuditLog.open(file))
                    .isInstanceOf(AuditLogException.class)
                    .hasMessageContaining("already open");
            log.appendAndWait(issued(1));
        }
        assertThat(AuditLogVerifier.verify(file).ok()).isTrue();
    }

    @Test
    void closeWritesWhatWasQueuedAndThenRefusesAppends() throws Exception {
        Path file = dir.resolve("audit.log");
        List<CompletableFuture<Void>> futures = new ArrayList<>();
        AuditLog log = AuditLog.open(file);
        for (int i = 1; i <= 50; i++) {
            futures.add(log.append(issued(i)));
        }
        log.close();
        log.close();

        for (CompletableFuture<Void> future : futures) {
            assertThat(future).isCompleted().isNotCompletedExceptionally();
        }
        assertThat(log.append(issued(51))).isCompletedExceptionally();
        assertThatThrownBy(() -> log.appendAndWait(issued(52)))
                .isInstanceOf(AuditLogException.class)
                .hasMessageContaining("closed");
        assertThat(AuditLogVerifier.verify(file).lines()).isEqualTo(50);
        assertThat(AuditLogVerifier.verify(file).ok()).isTrue();
    }

    @Test
    void afterAWriteFailureAppendsFailAndStayFailed() throws Exception {
        Path file = dir.resolve("audit.log");
        FailingFileChannel[] channel = new FailingFileChannel[1];
        AuditLog log = AuditLog.open(file, path -> channel[0] = new FailingFileChannel(
                FileChannel.open(path, StandardOpenOption.CREATE, StandardOpenOption.READ,
                        StandardOpenOption.WRITE)));
        try {
            log.appendAndWait(issued(1));

            channel[0].failWrites = true;
            CompletableFuture<Void> failed = log.append(issued(2));
            assertThatThrownBy(failed::join).hasCauseInstanceOf(AuditLogException.class)
                    .hasMessageContaining("simulated write failure");

            // The disk recovers, but the log must not: its state after a failed write is unknown.
            channel[0].failWrites = false;
            assertThatThrownBy(() -> log.appendAndWait(issued(3)))
                    .isInstanceOf(AuditLogException.class)
                    .hasMessageContaining("failed");
            assertThat(log.append(issued(4))).isCompletedExceptionally();
        } finally {
            log.close();
        }

        assertThat(AuditLogVerifier.verify(file).lines()).isEqualTo(1);
        assertThat(AuditLogVerifier.verify(file).ok()).isTrue();
    }

    @Test
    void afterAForceFailureAppendsFailAndTheLogReopensConsistent() throws Exception {
        Path file = dir.resolve("audit.log");
        FailingFileChannel[] channel = new FailingFileChannel[1];
        try (AuditLog log = AuditLog.open(file, path -> channel[0] = new FailingFileChannel(
                FileChannel.open(path, StandardOpenOption.CREATE, StandardOpenOption.READ,
                        StandardOpenOption.WRITE)))) {
            log.appendAndWait(issued(1));
            channel[0].failForces = true;
            assertThatThrownBy(() -> log.appendAndWait(issued(2)))
                    .isInstanceOf(AuditLogException.class)
                    .hasMessageContaining("simulated fsync failure");
            channel[0].failForces = false;
            assertThatThrownBy(() -> log.appendAndWait(issued(3)))
                    .isInstanceOf(AuditLogException.class);
        }

        // Line 2 reached the file but its head never moved: the same state as a crash between
        // forcing the log and writing the head, which reopening repairs. The CA refused that
        // request, so the log over-reports one issuance; it never under-reports.
        try (AuditLog log = AuditLog.open(file)) {
            log.appendAndWait(issued(4));
        }
        assertThat(AuditLogVerifier.verify(file).problems()).isEmpty();
        assertThat(seqs(file)).containsExactly(1L, 2L, 3L);
    }

    @Test
    void recordsRequireTimeAndOutcome() {
        assertThatThrownBy(() -> new AuditRecord(null, null, null, null, null, null,
                AuditRecord.Outcome.REFUSED, "x"))
                .isInstanceOf(NullPointerException.class).hasMessage("time");
        assertThatThrownBy(() -> new AuditRecord(T0, null, null, null, null, null, null, null))
                .isInstanceOf(NullPointerException.class).hasMessage("outcome");
        assertThatThrownBy(() -> AuditRecord.issued(T0, "c", "spiffe://x/y", null, T0, "k"))
                .isInstanceOf(NullPointerException.class).hasMessage("serial");
        AuditRecord refusal = AuditRecord.refused(T0, null, null, null, "no");
        assertThat(refusal.outcome()).isEqualTo(AuditRecord.Outcome.REFUSED);
        assertThat(refusal.serial()).isNull();
        assertThat(refusal.notAfter()).isNull();
    }

    private static List<Long> seqs(Path file) throws Exception {
        List<Long> seqs = new ArrayList<>();
        for (String line : lines(file)) {
            seqs.add(JSON.readTree(line).get("seq").asLong());
        }
        return seqs;
    }

    static String sha256Hex(String line) throws Exception {
        return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256")
                .digest(line.getBytes(StandardCharsets.US_ASCII)));
    }
}
