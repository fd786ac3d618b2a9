package dev.keel.ca.audit;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.time.Instant;
import java.time.format.DateTimeParseException;

/**
 * Reads back the two fields the chain needs, {@code seq} and {@code prev}, and checks that the
 * rest of the line has the shape the writer gives it. Thread-safe.
 */
final class LineParser {

    /** A line that is not an audit line; the message says why, without the line number. */
    static final class MalformedLineException extends Exception {
        private static final long serialVersionUID = 1L;

        MalformedLineException(String message) {
            super(message);
        }
    }

    /** The chain fields of a well-formed line. */
    record ChainFields(long seq, String prev) {}

    // Duplicate keys and trailing bytes are refused because both let one line say two things:
    // a reader taking the first "seq" and another taking the last would disagree.
    private static final ObjectMapper JSON = new ObjectMapper()
            .enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION)
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);

    private static final String[] NULLABLE_STRINGS = {
        "caller", "spiffe_id", "serial", "not_after", "key_fingerprint", "reason"
    };

    private LineParser() {}

    static ChainFields parse(byte[] line, int offset, int length) throws MalformedLineException {
        JsonNode node;
        try {
            node = JSON.readTree(line, offset, length);
        } catch (JsonProcessingException e) {
            throw new MalformedLineException("not valid JSON: " + e.getOriginalMessage());
        } catch (IOException e) {
            throw new MalformedLineException("not valid JSON: " + e.getMessage());
        }
        if (node == null || !node.isObject()) {
            throw new MalformedLineException("not valid JSON: not an object");
        }
        JsonNode seq = node.get("seq");
        if (seq == null || !seq.isIntegralNumber() || !seq.canConvertToLong() || seq.asLong() < 1) {
            throw new MalformedLineException("field \"seq\" is missing or not a positive integer");
        }
        JsonNode prev = node.get("prev");
        if (prev == null || !prev.isTextual() || !isSha256Hex(prev.textValue())) {
            throw new MalformedLineException(
                    "field \"prev\" is missing or not 64 lowercase hex digits");
        }
        requireInstant(node, "time", false);
        requireInstant(node, "not_after", true);
        for (String field : NULLABLE_STRINGS) {
            JsonNode value = node.get(field);
            if (value == null || !(value.isTextual() || value.isNull())) {
                throw new MalformedLineException(
                        "field \"" + field + "\" is missing or not a string or null");
            }
        }
        JsonNode outcome = node.get("outcome");
        if (outcome == null
                || !("issued".equals(outcome.textValue()) || "refused".equals(outcome.textValue())
                        || "revoked".equals(outcome.textValue()))) {
            throw new MalformedLineException("field \"outcome\" is missing or not issued/refused/revoked");
        }
        return new ChainFields(seq.asLong(), prev.textValue());
    }

    static boolean isSha256Hex(String value) {
        if (value == null || value.length() != 64) {
            return false;
        }
        for (int i = 0; i < 64; i++) {
            char c = value.charAt(i);
            if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
                return false;
            }
        }
        return true;
    }

    private static void requireInstant(JsonNode node, String field, boolean nullable)
            throws MalformedLineException {
        JsonNode value = node.get(field);
        if (value != null && nullable && value.isNull()) {
            return;
        }
        if (value == null || !value.isTextual()) {
            throw new MalformedLineException("field \"" + field + "\" is missing or not a time");
        }
        try {
            Instant.parse(value.textValue());
        } catch (DateTimeParseException e) {
            // The value is not echoed: it is attacker-controllable text headed for a terminal.
            throw new MalformedLineException(
                    "field \"" + field + "\" is not an ISO-8601 UTC time");
        }
    }
}
