package dev.keel.ca.crl;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.math.BigInteger;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * The JSON form of {@link RevocationList.Snapshot}:
 * <pre>{"format":1,"crl_number":N,"revocations":[{"serial":"hex","reason":"keyCompromise",
 * "revoked_at":"ISO-8601","not_after":"ISO-8601"|null,"spiffe_id":"..."|null}],
 * "requests":[{"serial":"hex","reason":"...","revoked_at":"ISO-8601","caller":"..."}]}</pre>
 * ({@code requests} may be absent: an empty queue).
 * Reading is strict (unknown or duplicate fields, duplicate serials, trailing bytes are errors), so
 * a hand edit that would silently drop a revocation is refused instead. Thread-safe.
 */
final class RevocationFile {

    static final int FORMAT = 1;

    private static final ObjectMapper JSON = new ObjectMapper()
            .enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION)
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
            .enable(SerializationFeature.INDENT_OUTPUT);

    private RevocationFile() {
    }

    static byte[] encode(RevocationList.Snapshot snapshot) {
        ObjectNode root = JSON.createObjectNode();
        root.put("format", FORMAT);
        root.put("crl_number", snapshot.crlNumber());
        ArrayNode entries = root.putArray("revocations");
        for (Revocation revocation : snapshot.revocations()) {
            ObjectNode entry = entries.addObject();
            entry.put("serial", revocation.serialHex());
            entry.put("reason", revocation.reason().rfcName());
            entry.put("revoked_at", revocation.revokedAt().toString());
            entry.put("not_after", revocation.notAfter().map(Instant::toString).orElse(null));
            entry.put("spiffe_id", revocation.spiffeId().orElse(null));
        }
        ArrayNode requests = root.putArray("requests");
        for (RevocationList.Request request : snapshot.requests()) {
            ObjectNode entry = requests.addObject();
            entry.put("serial", request.serial().toString(16));
            entry.put("reason", request.reason().rfcName());
            entry.put("revoked_at", request.revokedAt().toString());
            entry.put("caller", request.caller());
        }
        try {
            return JSON.writeValueAsBytes(root);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("cannot encode the revocation list", e);
        }
    }

    /** @throws IOException naming the file, what is wrong and that nothing was changed */
    static RevocationList.Snapshot decode(String fileName, byte[] content) throws IOException {
        try {
            return decode(content);
        } catch (Corrupt e) {
            throw new IOException(fileName + " is corrupt: " + e.getMessage() + ". Nothing was changed; restore the file"
                    + " from a backup (every revocation is also in the audit log) before revoking or signing a CRL.");
        }
    }

    private static RevocationList.Snapshot decode(byte[] content) throws Corrupt {
        JsonNode root;
        try {
            root = JSON.readTree(content);
        } catch (IOException e) {
            throw new Corrupt("not valid JSON (" + (e instanceof JsonProcessingException j ? j.getOriginalMessage()
                    : e.getMessage()) + ")");
        }
        if (root == null || !root.isObject()) {
            throw new Corrupt("not a JSON object");
        }
        onlyFields(root, "top level", Set.of("format", "crl_number", "revocations", "requests"));
        JsonNode format = root.get("format");
        if (format == null || !format.isInt() || format.intValue() != FORMAT) {
            throw new Corrupt("\"format\" is missing or not " + FORMAT);
        }
        JsonNode number = root.get("crl_number");
        if (number == null || !number.isIntegralNumber() || !number.canConvertToLong() || number.longValue() < 0) {
            throw new Corrupt("\"crl_number\" is missing or not a non-negative integer");
        }
        JsonNode entries = root.get("revocations");
        if (entries == null || !entries.isArray()) {
            throw new Corrupt("\"revocations\" is missing or not an array");
        }
        List<Revocation> revocations = new ArrayList<>(entries.size());
        Set<BigInteger> serials = new HashSet<>();
        for (int i = 0; i < entries.size(); i++) {
            Revocation revocation = entry(entries.get(i), "revocations[" + i + "]");
            if (!serials.add(revocation.serial())) {
                throw new Corrupt("revocations[" + i + "]: serial " + revocation.serialHex() + " appears twice");
            }
            revocations.add(revocation);
        }
        JsonNode queued = root.get("requests");
        if (queued != null && !queued.isArray()) {
            throw new Corrupt("\"requests\" is not an array");
        }
        List<RevocationList.Request> requests = new ArrayList<>();
        for (int i = 0; queued != null && i < queued.size(); i++) {
            RevocationList.Request request = request(queued.get(i), "requests[" + i + "]");
            if (!serials.add(request.serial())) {
                throw new Corrupt("requests[" + i + "]: serial " + request.serial().toString(16) + " appears twice");
            }
            requests.add(request);
        }
        return new RevocationList.Snapshot(number.longValue(), revocations, requests);
    }

    private static RevocationList.Request request(JsonNode node, String where) throws Corrupt {
        if (!node.isObject()) {
            throw new Corrupt(where + " is not an object");
        }
        onlyFields(node, where, Set.of("serial", "reason", "revoked_at", "caller"));
        try {
            return new RevocationList.Request(Revocation.parseSerial(text(node, "serial", where, false)),
                    RevocationReason.parse(text(node, "reason", where, false)),
                    Instant.parse(text(node, "revoked_at", where, false)), text(node, "caller", where, false));
        } catch (DateTimeParseException e) {
            throw new Corrupt(where + ": a time is not ISO-8601 UTC (" + e.getParsedString() + ")");
        } catch (IllegalArgumentException e) {
            throw new Corrupt(where + ": " + e.getMessage());
        }
    }

    private static Revocation entry(JsonNode node, String where) throws Corrupt {
        if (!node.isObject()) {
            throw new Corrupt(where + " is not an object");
        }
        onlyFields(node, where, Set.of("serial", "reason", "revoked_at", "not_after", "spiffe_id"));
        try {
            BigInteger serial = Revocation.parseSerial(text(node, "serial", where, false));
            RevocationReason reason = RevocationReason.parse(text(node, "reason", where, false));
            Instant revokedAt = Instant.parse(text(node, "revoked_at", where, false));
            Optional<Instant> notAfter = Optional.ofNullable(text(node, "not_after", where, true)).map(Instant::parse);
            Optional<String> spiffeId = Optional.ofNullable(text(node, "spiffe_id", where, true));
            return new Revocation(serial, reason, revokedAt, notAfter, spiffeId);
        } catch (DateTimeParseException e) {
            throw new Corrupt(where + ": a time is not ISO-8601 UTC (" + e.getParsedString() + ")");
        } catch (IllegalArgumentException e) {
            throw new Corrupt(where + ": " + e.getMessage());
        }
    }

    private static String text(JsonNode node, String field, String where, boolean nullable) throws Corrupt {
        JsonNode value = node.get(field);
        if (value == null) {
            throw new Corrupt(where + ": \"" + field + "\" is missing");
        }
        if (value.isNull() && nullable) {
            return null;
        }
        if (!value.isTextual()) {
            throw new Corrupt(where + ": \"" + field + "\" is not a string" + (nullable ? " or null" : ""));
        }
        return value.textValue();
    }

    private static void onlyFields(JsonNode node, String where, Set<String> allowed) throws Corrupt {
        for (Iterator<String> names = node.fieldNames(); names.hasNext(); ) {
            String name = names.next();
            if (!allowed.contains(name)) {
                throw new Corrupt(where + ": unknown field \"" + name + "\"");
            }
        }
    }

    /** Why the content is not a revocation list, naming the entry and field. */
    private static final class Corrupt extends Exception {
        private static final long serialVersionUID = 1L;

        Corrupt(String message) {
            super(message, null, false, false);
        }
    }
}
