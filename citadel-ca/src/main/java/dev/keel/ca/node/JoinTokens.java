package dev.keel.ca.node;

import dev.keel.ca.internal.GuardedFile;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.keel.ca.CaException;
import dev.keel.identity.SpiffeId;
import dev.keel.identity.TrustDomain;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.List;
import java.util.Objects;

/**
 * One-time join tokens for node attestation, stored in the CA's data directory as
 * {@value #FILE}. The file holds only each token's SHA-256, so reading it (or a backup of it)
 * never yields a usable token; the secret is shown once, by {@link #create}.
 *
 * <p>A token attests one node, once: {@link #consume} marks it used under an exclusive lock
 * shared by every process on the data directory (the server consuming, the CLI creating), so two
 * concurrent attestations with one token, in one process or two, yield exactly one success. Used
 * and expired tokens are removed from the file once they have expired.
 *
 * <p>Thread-safe. {@link #consume} and {@link #create} block on file I/O and the lock.
 */
public final class JoinTokens {

    public static final String FILE = "join-tokens.json";
    public static final String LOCK_FILE = "join-tokens.lock";

    public static final Duration DEFAULT_TTL = Duration.ofHours(1);
    /** Join tokens are bearer secrets; a week is long enough to provision any node. */
    public static final Duration MAX_TTL = Duration.ofDays(7);

    private static final int FORMAT_VERSION = 1;
    private static final int TOKEN_BYTES = 32;
    /** 32 bytes in base64url without padding. */
    static final int TOKEN_LENGTH = 43;

    private static final SecureRandom RANDOM = new SecureRandom();
    private static final ObjectMapper JSON = new ObjectMapper()
            .enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION)
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);

    /** One token as stored: its hash, never the token. */
    private record Stored(String sha256, String node, Instant createdAt, Instant expiresAt, Instant usedAt) {
    }

    private final GuardedFile file;
    private final TrustDomain trustDomain;
    private final Clock clock;

    private JoinTokens(GuardedFile file, TrustDomain trustDomain, Clock clock) {
        this.file = file;
        this.trustDomain = trustDomain;
        this.clock = clock;
    }

    /** The join tokens of the CA in {@code dataDir}, whose node IDs are in {@code trustDomain}. */
    public static JoinTokens open(Path dataDir, TrustDomain trustDomain, Clock clock) {
        Objects.requireNonNull(dataDir, "dataDir");
        return new JoinTokens(new GuardedFile(dataDir.resolve(FILE), dataDir.resolve(LOCK_FILE)),
                Objects.requireNonNull(trustDomain, "trustDomain"), Objects.requireNonNull(clock, "clock"));
    }

    /** As {@link #create(String, Duration)} for a generated node name, {@code join-<12 hex digits>}. */
    public CreatedJoinToken create(Duration ttl) throws IOException {
        byte[] random = new byte[6];
        RANDOM.nextBytes(random);
        return create("join-" + HexFormat.of().formatHex(random), ttl);
    }

    /**
     * Creates a token that attests node {@code nodeName} until {@code ttl} from now.
     *
     * @throws IllegalArgumentException {@code "node: ..."} or {@code "ttl: ..."} naming the rule
     * @throws IOException the store cannot be read (it is never overwritten then) or written
     */
    public CreatedJoinToken create(String nodeName, Duration ttl) throws IOException {
        SpiffeId nodeId = NodeIds.nodeId(trustDomain, nodeName);
        Objects.requireNonNull(ttl, "ttl");
        if (ttl.isNegative() || ttl.isZero() || ttl.compareTo(MAX_TTL) > 0) {
            throw new IllegalArgumentException("ttl: " + ttl.toSeconds() + "s (expected: > 0s and <= "
                    + MAX_TTL.toSeconds() + "s, 7 days)");
        }
        byte[] secret = new byte[TOKEN_BYTES];
        RANDOM.nextBytes(secret);
        String token = Base64.getUrlEncoder().withoutPadding().encodeToString(secret);
        String sha256 = sha256(token);
        // Whole seconds: these are shown to operators and compared in seconds.
        Instant now = clock.instant().truncatedTo(java.time.temporal.ChronoUnit.SECONDS);
        Instant expiresAt = now.plus(ttl);
        file.locked(() -> {
            List<Stored> tokens = purge(load(), now);
            tokens.add(new Stored(sha256, nodeName, now, expiresAt, null));
            file.replace(encode(tokens));
            return null;
        });
        return new CreatedJoinToken(token, sha256.substring(0, 8), nodeName, nodeId, expiresAt);
    }

    /**
     * Consumes {@code token}: if it is known, unexpired and unused, marks it used (durably, before
     * returning) and returns the node ID it attests.
     *
     * @throws CaException UNAUTHENTICATED when the token is malformed, unknown, expired or used (the
     *     message never contains the token); UNAVAILABLE when the store cannot be read or written
     */
    public SpiffeId consume(String token) throws CaException {
        Objects.requireNonNull(token, "token");
        if (token.isEmpty()) {
            throw new CaException(CaException.Code.UNAUTHENTICATED, "join_token: missing");
        }
        if (!wellFormed(token)) {
            throw new CaException(CaException.Code.UNAUTHENTICATED,
                    "join_token: malformed (expected: " + TOKEN_LENGTH + " base64url characters from 'keel ca token create')");
        }
        String sha256 = sha256(token);
        String id = sha256.substring(0, 8);
        try {
            String node = file.locked(() -> {
                Instant now = clock.instant();
                List<Stored> tokens = load();
                Stored found = null;
                for (Stored stored : tokens) {
                    if (MessageDigest.isEqual(stored.sha256().getBytes(StandardCharsets.US_ASCII),
                            sha256.getBytes(StandardCharsets.US_ASCII))) {
                        found = stored;
                    }
                }
                if (found == null) {
                    return null;
                }
                if (found.usedAt() != null) {
                    throw new Refusal("join_token " + id + ": already used at " + found.usedAt()
                            + " (a join token attests one node once; create a new one)");
                }
                if (!now.isBefore(found.expiresAt())) {
                    throw new Refusal("join_token " + id + ": expired at " + found.expiresAt());
                }
                List<Stored> next = new ArrayList<>(tokens.size());
                for (Stored stored : tokens) {
                    next.add(stored == found
                            ? new Stored(stored.sha256(), stored.node(), stored.createdAt(), stored.expiresAt(), now)
                            : stored);
                }
                file.replace(encode(purge(next, now)));
                return found.node();
            });
            if (node == null) {
                throw new CaException(CaException.Code.UNAUTHENTICATED,
                        "join_token " + id + ": unknown (never created here, or expired and removed)");
            }
            return NodeIds.nodeId(trustDomain, node);
        } catch (Refusal e) {
            throw new CaException(CaException.Code.UNAUTHENTICATED, e.getMessage());
        } catch (IOException | IllegalArgumentException e) {
            throw new CaException(CaException.Code.UNAVAILABLE, "join token store: " + e.getMessage(), e);
        }
    }

    /** Every token in the store, oldest first, without secrets. */
    public List<JoinTokenInfo> list() throws IOException {
        List<JoinTokenInfo> infos = new ArrayList<>();
        for (Stored stored : load()) {
            infos.add(new JoinTokenInfo(stored.sha256().substring(0, 8), stored.node(),
                    NodeIds.nodeId(trustDomain, stored.node()), stored.createdAt(), stored.expiresAt(), stored.usedAt()));
        }
        infos.sort(Comparator.comparing(JoinTokenInfo::createdAt));
        return infos;
    }

    /**
     * How audit lines and listings name a token: the first 8 hex digits of its SHA-256. Safe to
     * show; it does not help guess the token.
     */
    public static String tokenId(String token) {
        return token == null || token.isEmpty() ? "none" : sha256(token).substring(0, 8);
    }

    private static boolean wellFormed(String token) {
        if (token.length() != TOKEN_LENGTH) {
            return false;
        }
        for (int i = 0; i < token.length(); i++) {
            char c = token.charAt(i);
            if (!(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_')) {
                return false;
            }
        }
        return true;
    }

    private static List<Stored> purge(List<Stored> tokens, Instant now) {
        List<Stored> kept = new ArrayList<>(tokens.size());
        for (Stored stored : tokens) {
            if (now.isBefore(stored.expiresAt())) {
                kept.add(stored);
            }
        }
        return kept;
    }

    private List<Stored> load() throws IOException {
        var content = file.read();
        if (content.isEmpty()) {
            return new ArrayList<>();
        }
        try {
            JsonNode root = JSON.readTree(content.get());
            if (root == null || !root.isObject() || root.path("version").asInt(-1) != FORMAT_VERSION
                    || !root.path("tokens").isArray()) {
                throw new IOException("expected {\"version\":1,\"tokens\":[...]}");
            }
            List<Stored> tokens = new ArrayList<>();
            for (JsonNode token : root.get("tokens")) {
                String sha256 = text(token, "sha256");
                if (sha256.length() != 64 || !sha256.chars().allMatch(c -> c >= '0' && c <= '9' || c >= 'a' && c <= 'f')) {
                    throw new IOException("a token's sha256 is not 64 lowercase hex digits");
                }
                String node = text(token, "node");
                NodeIds.nodeId(trustDomain, node);
                JsonNode used = token.get("used_at");
                tokens.add(new Stored(sha256, node, Instant.parse(text(token, "created_at")),
                        Instant.parse(text(token, "expires_at")),
                        used == null || used.isNull() ? null : Instant.parse(used.asText())));
            }
            return tokens;
        } catch (IOException | DateTimeParseException | IllegalArgumentException e) {
            throw new IOException(file.path().getFileName() + ": unreadable (" + e.getMessage()
                    + "); fix or remove it (it holds only token hashes)", e);
        }
    }

    private static String text(JsonNode node, String field) throws IOException {
        JsonNode value = node.get(field);
        if (value == null || !value.isTextual()) {
            throw new IOException("a token has no \"" + field + "\"");
        }
        return value.textValue();
    }

    private static byte[] encode(List<Stored> tokens) throws IOException {
        ObjectNode root = JSON.createObjectNode();
        root.put("version", FORMAT_VERSION);
        ArrayNode array = root.putArray("tokens");
        for (Stored stored : tokens) {
            ObjectNode token = array.addObject();
            token.put("sha256", stored.sha256());
            token.put("node", stored.node());
            token.put("created_at", stored.createdAt().toString());
            token.put("expires_at", stored.expiresAt().toString());
            if (stored.usedAt() == null) {
                token.putNull("used_at");
            } else {
                token.put("used_at", stored.usedAt().toString());
            }
        }
        return JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(root);
    }

    static String sha256(String token) {
        try {
            return HexFormat.of().formatHex(
                    MessageDigest.getInstance("SHA-256").digest(token.getBytes(StandardCharsets.UTF_8)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is always available", e);
        }
    }

    /** A refusal decided under the lock; carried out of it as an IOException subtype to keep the lambda simple. */
    private static final class Refusal extends IOException {
        private static final long serialVersionUID = 1L;

        Refusal(String message) {
            super(message);
        }
    }
}
