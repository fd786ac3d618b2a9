package dev.keel.ca.crl;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.BufferedReader;
import java.io.IOException;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.Optional;

/**
 * Finds a certificate serial among the issuances in the CA's audit log, the only record of what the
 * CA signed. Reads the file without locking it: the log is append-only and a line still being
 * written (the last, without its newline yet) simply does not parse and is skipped. The chain is
 * not verified here; {@code keel ca audit verify} does that. Thread-safe.
 */
final class AuditedIssuances {

    /** What the issuance line says about the certificate. */
    record Issuance(String spiffeId, Instant notAfter, String keyFingerprint) {
    }

    private static final ObjectMapper JSON = new ObjectMapper();

    private final Path auditLog;

    AuditedIssuances(Path auditLog) {
        this.auditLog = auditLog;
    }

    Optional<Issuance> find(BigInteger serial) throws IOException {
        // The CA writes serials as lowercase hex without leading zeros; matching the text first keeps
        // a scan of a large log from parsing every line.
        String needle = "\"serial\":\"" + serial.toString(16) + "\"";
        try (BufferedReader lines = Files.newBufferedReader(auditLog, StandardCharsets.UTF_8)) {
            String line;
            while ((line = lines.readLine()) != null) {
                if (line.contains(needle)) {
                    Optional<Issuance> issuance = parse(line, serial);
                    if (issuance.isPresent()) {
                        return issuance;
                    }
                }
            }
        } catch (NoSuchFileException e) {
            return Optional.empty(); // a CA that never issued anything
        }
        return Optional.empty();
    }

    private static Optional<Issuance> parse(String line, BigInteger serial) {
        try {
            JsonNode node = JSON.readTree(line);
            if (node == null || !"issued".equals(node.path("outcome").textValue())
                    || !serial.toString(16).equals(node.path("serial").textValue())) {
                return Optional.empty();
            }
            String notAfter = node.path("not_after").textValue();
            String spiffeId = node.path("spiffe_id").textValue();
            if (notAfter == null || spiffeId == null) {
                return Optional.empty();
            }
            return Optional.of(new Issuance(spiffeId, Instant.parse(notAfter), node.path("key_fingerprint").textValue()));
        } catch (IOException | DateTimeParseException e) {
            return Optional.empty();
        }
    }
}
