package dev.keel.ca.audit;

import com.fasterxml.jackson.core.JsonEncoding;
import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.json.JsonWriteFeature;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Instant;
import java.util.Arrays;
import java.util.Locale;

/**
 * Turns a record into the middle of its line: every field except {@code seq} and {@code prev},
 * which only the writer thread can know. Runs on the caller's thread so that JSON escaping is
 * spread over the callers instead of serialised on the one writer thread.
 */
final class RecordEncoder {

    /*
     * Non-ASCII is escaped so that every line is pure ASCII: the hashed bytes are then the same
     * whatever tool reads or copies the file, a lone surrogate cannot make the encoder throw,
     * and U+2028 or terminal control sequences cannot hide in a line shown to an operator.
     */
    private static final JsonFactory JSON =
            JsonFactory.builder().enable(JsonWriteFeature.ESCAPE_NON_ASCII).build();

    private RecordEncoder() {}

    /**
     * Returns {@code "time":...,"reason":...} in the fixed field order, without braces. Absent
     * fields are written as JSON null rather than omitted, so every line has the same shape
     * and a reader never has to guess whether a field was dropped or never existed.
     */
    static byte[] encodeBody(AuditRecord record) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(256);
        try (JsonGenerator json = JSON.createGenerator(out, JsonEncoding.UTF8)) {
            json.writeStartObject();
            json.writeStringField("time", record.time().toString());
            writeNullable(json, "caller", record.caller());
            writeNullable(json, "spiffe_id", record.spiffeId());
            writeNullable(json, "serial", record.serial());
            writeNullable(json, "not_after", instant(record.notAfter()));
            writeNullable(json, "key_fingerprint", record.keyFingerprint());
            json.writeStringField("outcome", record.outcome().name().toLowerCase(Locale.ROOT));
            writeNullable(json, "reason", record.reason());
            json.writeEndObject();
        } catch (IOException e) {
            throw new UncheckedIOException("writing JSON to memory cannot fail", e);
        }
        byte[] object = out.toByteArray();
        return Arrays.copyOfRange(object, 1, object.length - 1);
    }

    private static String instant(Instant value) {
        return value == null ? null : value.toString();
    }

    private static void writeNullable(JsonGenerator json, String field, String value)
            throws IOException {
        if (value == null) {
            json.writeNullField(field);
        } else {
            json.writeStringField(field, value);
        }
    }
}
