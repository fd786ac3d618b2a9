package dev.keel.ca.node;

import dev.keel.ca.internal.GuardedFile;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.keel.ca.CitadelCa;
import dev.keel.ca.IssuancePolicy;
import dev.keel.identity.TrustDomain;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.ReentrantLock;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The CA's registration entries, stored in its data directory as {@value #FILE} with a
 * {@code revision} that grows by one with every change. The CLI changes the file
 * ({@link #create}, {@link #delete}) under an exclusive lock shared by every process on the data
 * directory, replacing it atomically; the server reads it through {@link #current()}, which costs
 * one {@code stat} per call and re-reads the file only when it changed, so entries created or
 * deleted by the CLI take effect without a restart.
 *
 * <p>A file the server cannot read or that breaks a rule does not take the CA down and does not
 * empty it: {@link #current()} keeps serving the last good set and logs the problem once per
 * broken version of the file. {@link #read()} and the writers refuse it instead, naming the problem,
 * and never overwrite it.
 *
 * <p>Thread-safe.
 */
public final class RegistrationEntries {

    private static final Logger log = LoggerFactory.getLogger(RegistrationEntries.class);

    public static final String FILE = "entries.json";
    public static final String LOCK_FILE = "entries.lock";

    public static final int MAX_SELECTORS = 64;
    /** The node agent's limit for one selector, {@code type:value}. */
    public static final int MAX_SELECTOR_LENGTH = 512;
    public static final int MAX_HINT_LENGTH = 1024;
    public static final Duration MAX_X509_SVID_TTL = IssuancePolicy.DEFAULT.maxTtl();
    public static final Duration MAX_JWT_SVID_TTL = CitadelCa.JWT_MAX_TTL;

    private static final int FORMAT_VERSION = 1;
    /**
     * File times are kept at the kernel's coarse clock tick, so two writes within one tick can leave
     * equal stamps; a file younger than this when it was read is read again on the next call.
     */
    private static final long RACY_NANOS = TimeUnit.SECONDS.toNanos(2);
    /**
     * While the file is that young, re-read it at most this often: every call re-reading (and
     * decoding thousands of entries under a lock) made a node's first burst of requests crawl.
     */
    private static final long RACY_RECHECK_NANOS = TimeUnit.MILLISECONDS.toNanos(100);

    private static final ObjectMapper JSON = new ObjectMapper()
            .enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION)
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);

    /** What {@link #current()} serves, and which version of the file it came from. */
    private record Cached(GuardedFile.Stamp stamp, EntrySet entries, boolean racy, long readAtNanos) {

        /** Still usable for this stamp: unchanged, and if racy, re-read at most every RACY_RECHECK_NANOS. */
        boolean fresh(GuardedFile.Stamp now) {
            return now.equals(stamp) && (!racy || System.nanoTime() - readAtNanos < RACY_RECHECK_NANOS);
        }
    }

    private final GuardedFile file;
    private final EntryRules rules;
    private final Clock clock;
    private volatile Cached cached = new Cached(null, EntrySet.EMPTY, true, 0);
    private final ReentrantLock reload = new ReentrantLock();
    /** The broken version of the file last logged, so each is logged once. */
    private Object reportedBroken;

    private RegistrationEntries(GuardedFile file, EntryRules rules, Clock clock) {
        this.file = file;
        this.rules = rules;
        this.clock = clock;
    }

    /** The entries of the CA in {@code dataDir}, whose SPIFFE IDs are in {@code trustDomain}. */
    public static RegistrationEntries open(Path dataDir, TrustDomain trustDomain, Clock clock) {
        Objects.requireNonNull(dataDir, "dataDir");
        Objects.requireNonNull(trustDomain, "trustDomain");
        return new RegistrationEntries(new GuardedFile(dataDir.resolve(FILE), dataDir.resolve(LOCK_FILE)),
                new EntryRules(trustDomain, MAX_X509_SVID_TTL, MAX_JWT_SVID_TTL), Objects.requireNonNull(clock, "clock"));
    }

    /**
     * Checks and stores a new entry with a fresh UUID.
     *
     * @throws InvalidEntryException naming the field and the rule, or {@code entry} for a duplicate
     *     (same SPIFFE ID, parent and selector set as an existing entry)
     * @throws IOException the file cannot be read (it is left as it is) or written
     */
    public RegistrationEntry create(EntrySpec spec) throws IOException {
        Objects.requireNonNull(spec, "spec");
        RegistrationEntry entry = rules.check(UUID.randomUUID().toString(), spec,
                clock.instant().truncatedTo(java.time.temporal.ChronoUnit.SECONDS));
        return file.locked(() -> {
            EntrySet set = read();
            for (RegistrationEntry existing : set.entries()) {
                if (existing.duplicates(entry)) {
                    throw new InvalidEntryException("entry", "duplicates entry " + existing.id()
                            + " (same spiffe_id, parent_id and selectors)");
                }
            }
            List<RegistrationEntry> next = new ArrayList<>(set.entries());
            next.add(entry);
            file.replace(encode(new EntrySet(set.revision() + 1, next)));
            return entry;
        });
    }

    /**
     * Deletes the entry with {@code id}.
     *
     * @return false if there is none (nothing is written then)
     */
    public boolean delete(String id) throws IOException {
        Objects.requireNonNull(id, "id");
        return file.locked(() -> {
            EntrySet set = read();
            if (set.find(id).isEmpty()) {
                return false;
            }
            List<RegistrationEntry> next = set.entries().stream().filter(e -> !e.id().equals(id)).toList();
            file.replace(encode(new EntrySet(set.revision() + 1, next)));
            return true;
        });
    }

    /**
     * Reads the file now, strictly.
     *
     * @throws IOException naming the file and the problem when it is unreadable or an entry in it
     *     breaks a rule
     */
    public EntrySet read() throws IOException {
        return decode(file.read());
    }

    /**
     * The entries as of the file's last good version: re-read when the file changed since the last
     * call, otherwise from memory. Never throws; see the class comment for a broken file.
     */
    public EntrySet current() {
        Cached seen = cached;
        GuardedFile.Stamp stamp;
        try {
            stamp = file.stamp();
        } catch (IOException e) {
            reportBroken("stat failed: " + e.getMessage(), e);
            return seen.entries();
        }
        if (seen.fresh(stamp)) {
            return seen.entries();
        }
        if (stamp.equals(seen.stamp())) {
            // Unchanged, only young enough to be re-checked: one caller re-reads, the others keep the
            // set they have rather than queue behind a decode of the whole file.
            if (!reload.tryLock()) {
                return seen.entries();
            }
        } else {
            reload.lock();
        }
        try {
            seen = cached;
            if (seen.fresh(stamp)) {
                return seen.entries();
            }
            boolean racy = stamp != GuardedFile.Stamp.MISSING
                    && System.currentTimeMillis() * 1_000_000L - stamp.modifiedNanos() < RACY_NANOS;
            try {
                EntrySet fresh = read();
                cached = new Cached(stamp, fresh, racy, System.nanoTime());
                if (reportedBroken != null) {
                    log.info("{}: readable again; serving revision {}", file.path(), fresh.revision());
                    reportedBroken = null;
                }
                return fresh;
            } catch (IOException e) {
                reportBroken(stamp, e);
                // Remember the broken stamp with the last good entries, so it is not re-read until it changes.
                cached = new Cached(stamp, seen.entries(), racy, System.nanoTime());
                return seen.entries();
            }
        } finally {
            reload.unlock();
        }
    }

    private synchronized void reportBroken(Object version, IOException e) {
        if (version.equals(reportedBroken)) {
            return;
        }
        reportedBroken = version;
        log.error("{} ({}); keeping the last good registration entries (revision {})", e.getMessage(), file.path(),
                cached.entries().revision());
    }

    private EntrySet decode(Optional<byte[]> content) throws IOException {
        if (content.isEmpty()) {
            return EntrySet.EMPTY;
        }
        try {
            JsonNode root = JSON.readTree(content.get());
            if (root == null || !root.isObject() || root.path("version").asInt(-1) != FORMAT_VERSION
                    || !root.path("revision").canConvertToLong() || !root.path("entries").isArray()) {
                throw new IOException("expected {\"version\":1,\"revision\":N,\"entries\":[...]}");
            }
            long revision = root.get("revision").asLong();
            if (revision < 0) {
                throw new IOException("revision " + revision + " (expected: >= 0)");
            }
            List<RegistrationEntry> entries = new ArrayList<>();
            Set<String> ids = new HashSet<>();
            for (JsonNode node : root.get("entries")) {
                RegistrationEntry entry = decodeEntry(node);
                if (!ids.add(entry.id())) {
                    throw new IOException("entry id " + entry.id() + " appears twice");
                }
                entries.add(entry);
            }
            return new EntrySet(revision, entries);
        } catch (IOException | InvalidEntryException | DateTimeParseException | ArithmeticException e) {
            throw new IOException(file.path().getFileName() + ": unreadable (" + e.getMessage() + ")", e);
        }
    }

    private RegistrationEntry decodeEntry(JsonNode node) throws IOException {
        String id = text(node, "id");
        List<String> selectors = new ArrayList<>();
        JsonNode array = node.get("selectors");
        if (array == null || !array.isArray()) {
            throw new IOException("entry " + id + ": no \"selectors\" array");
        }
        for (JsonNode selector : array) {
            if (!selector.isTextual()) {
                throw new IOException("entry " + id + ": a selector is not a string");
            }
            selectors.add(selector.textValue());
        }
        EntrySpec spec = new EntrySpec(text(node, "spiffe_id"), text(node, "parent_id"), selectors,
                seconds(node, "x509_svid_ttl_seconds"), seconds(node, "jwt_svid_ttl_seconds"), text(node, "hint"));
        try {
            return rules.check(id, spec, Instant.parse(text(node, "created_at")));
        } catch (InvalidEntryException e) {
            throw new IOException("entry " + id + ": " + e.getMessage(), e);
        }
    }

    private static String text(JsonNode node, String field) throws IOException {
        JsonNode value = node.get(field);
        if (value == null || !value.isTextual()) {
            throw new IOException("an entry has no string \"" + field + "\"");
        }
        return value.textValue();
    }

    private static Duration seconds(JsonNode node, String field) throws IOException {
        JsonNode value = node.get(field);
        if (value == null || !value.isIntegralNumber() || !value.canConvertToLong()) {
            throw new IOException("an entry has no integer \"" + field + "\"");
        }
        return Duration.ofSeconds(value.asLong());
    }

    private static byte[] encode(EntrySet set) throws IOException {
        ObjectNode root = JSON.createObjectNode();
        root.put("version", FORMAT_VERSION);
        root.put("revision", set.revision());
        ArrayNode entries = root.putArray("entries");
        for (RegistrationEntry entry : set.entries()) {
            ObjectNode node = entries.addObject();
            node.put("id", entry.id());
            node.put("spiffe_id", entry.spiffeId().toString());
            node.put("parent_id", entry.parentId());
            ArrayNode selectors = node.putArray("selectors");
            entry.selectors().forEach(selectors::add);
            node.put("x509_svid_ttl_seconds", entry.x509SvidTtl().toSeconds());
            node.put("jwt_svid_ttl_seconds", entry.jwtSvidTtl().toSeconds());
            node.put("hint", entry.hint());
            node.put("created_at", entry.createdAt().toString());
        }
        return JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(root);
    }
}
