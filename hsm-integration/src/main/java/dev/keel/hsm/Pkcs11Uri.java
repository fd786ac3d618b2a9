package dev.keel.hsm;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.Set;

/**
 * An RFC 7512 PKCS#11 URI naming a private key in a token, as Keel's key references use it:
 * {@code pkcs11:token=keel-ca;object=ca-key?module-path=/usr/lib/softhsm/libsofthsm2.so&pin-source=file:/etc/keel/pin}.
 *
 * <p>Path attributes: {@code token} (label), {@code object} (label, required), {@code id}
 * (percent-encoded bytes, informational), {@code slot-id}, {@code type} (only {@code private}).
 * Query attributes: {@code module-path} (required) and {@code pin-source} ({@code file:<path>} or
 * {@code env:<VARIABLE>}, required). {@code pin-value} is refused: a PIN never appears in a
 * reference, a command line or a log. Unknown attributes are refused rather than ignored.
 *
 * <p>Immutable. {@link #toString()} gives the full reference; {@link #keyId()} the non-secret path part.
 */
public final class Pkcs11Uri {

    private static final Set<String> PATH_ATTRIBUTES = Set.of("token", "object", "id", "slot-id", "type");
    private static final Set<String> QUERY_ATTRIBUTES = Set.of("module-path", "pin-source");

    private final String text;
    private final String token;
    private final String object;
    private final byte[] id;
    private final Long slotId;
    private final Path modulePath;
    private final PinSource pinSource;

    private Pkcs11Uri(String text, String token, String object, byte[] id, Long slotId, Path modulePath,
            PinSource pinSource) {
        this.text = text;
        this.token = token;
        this.object = object;
        this.id = id;
        this.slotId = slotId;
        this.modulePath = modulePath;
        this.pinSource = pinSource;
    }

    /** True when {@code reference} has the {@code pkcs11:} scheme (case-insensitive, RFC 3986). */
    public static boolean isPkcs11(String reference) {
        return reference != null && reference.regionMatches(true, 0, "pkcs11:", 0, 7);
    }

    /**
     * Parses {@code uri}.
     *
     * @throws IllegalArgumentException naming the attribute and the problem
     */
    public static Pkcs11Uri parse(String uri) {
        Objects.requireNonNull(uri, "uri");
        if (!isPkcs11(uri)) {
            throw new IllegalArgumentException("PKCS#11 URI " + uri + ": unknown scheme (expected: pkcs11:)");
        }
        String rest = uri.substring("pkcs11:".length());
        int q = rest.indexOf('?');
        String path = q < 0 ? rest : rest.substring(0, q);
        String query = q < 0 ? "" : rest.substring(q + 1);
        Map<String, byte[]> attributes = new LinkedHashMap<>();
        split(uri, path, ';', PATH_ATTRIBUTES, attributes);
        split(uri, query, '&', QUERY_ATTRIBUTES, attributes);

        String object = string(attributes.get("object"));
        if (object == null || object.isEmpty()) {
            throw new IllegalArgumentException("PKCS#11 URI " + redacted(uri) + ": object is missing (expected: object=<label>)");
        }
        String type = string(attributes.get("type"));
        if (type != null && !type.equals("private")) {
            throw new IllegalArgumentException("PKCS#11 URI " + redacted(uri) + ": type=" + type + " (expected: private)");
        }
        Long slotId = null;
        String slot = string(attributes.get("slot-id"));
        if (slot != null) {
            try {
                slotId = Long.parseUnsignedLong(slot);
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("PKCS#11 URI " + redacted(uri) + ": slot-id=" + slot
                        + " (expected: a decimal number)");
            }
        }
        String module = string(attributes.get("module-path"));
        if (module == null || module.isEmpty()) {
            throw new IllegalArgumentException("PKCS#11 URI " + redacted(uri)
                    + ": module-path is missing (expected: ?module-path=/path/to/pkcs11-module.so)");
        }
        String pin = string(attributes.get("pin-source"));
        if (pin == null) {
            throw new IllegalArgumentException("PKCS#11 URI " + redacted(uri)
                    + ": pin-source is missing (expected: pin-source=file:<path> or pin-source=env:<VARIABLE>)");
        }
        return new Pkcs11Uri(uri, string(attributes.get("token")), object, attributes.get("id"), slotId,
                Path.of(module), PinSource.parse(pin));
    }

    private static void split(String uri, String part, char separator, Set<String> known, Map<String, byte[]> into) {
        if (part.isEmpty()) {
            return;
        }
        for (String attribute : part.split(java.util.regex.Pattern.quote(String.valueOf(separator)), -1)) {
            int eq = attribute.indexOf('=');
            if (eq <= 0) {
                throw new IllegalArgumentException("PKCS#11 URI " + redacted(uri) + ": malformed attribute '"
                        + redacted(attribute) + "' (expected: name=value)");
            }
            String name = attribute.substring(0, eq);
            if (name.equals("pin-value")) {
                throw new IllegalArgumentException("PKCS#11 URI: pin-value is refused; a PIN must not appear in a key"
                        + " reference (expected: pin-source=file:<path> or pin-source=env:<VARIABLE>)");
            }
            if (!known.contains(name)) {
                throw new IllegalArgumentException("PKCS#11 URI " + redacted(uri) + ": unsupported attribute " + name
                        + " (expected one of " + new java.util.TreeSet<>(known) + ")");
            }
            if (into.put(name, decode(uri, attribute.substring(eq + 1))) != null) {
                throw new IllegalArgumentException("PKCS#11 URI " + redacted(uri) + ": " + name + " appears twice");
            }
        }
    }

    private static byte[] decode(String uri, String value) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (int i = 0; i < value.length(); i++) {
            char c = value.charAt(i);
            if (c == '%') {
                if (i + 2 >= value.length()) {
                    throw new IllegalArgumentException("PKCS#11 URI " + redacted(uri) + ": truncated percent-encoding");
                }
                try {
                    out.write(HexFormat.fromHexDigits(value, i + 1, i + 3));
                } catch (IllegalArgumentException | IndexOutOfBoundsException e) {
                    throw new IllegalArgumentException("PKCS#11 URI " + redacted(uri) + ": bad percent-encoding");
                }
                i += 2;
            } else {
                byte[] utf8 = String.valueOf(c).getBytes(StandardCharsets.UTF_8);
                out.write(utf8, 0, utf8.length);
            }
        }
        return out.toByteArray();
    }

    private static String string(byte[] value) {
        return value == null ? null : new String(value, StandardCharsets.UTF_8);
    }

    /** Drops anything after a {@code pin-value=}, should a caller pass one, before a URI goes into a message. */
    static String redacted(String text) {
        int at = text.indexOf("pin-value=");
        return at < 0 ? text : text.substring(0, at) + "pin-value=<redacted>";
    }

    /** The token label, if the URI names one. */
    public Optional<String> token() {
        return Optional.ofNullable(token);
    }

    /** The key's label ({@code CKA_LABEL}). */
    public String object() {
        return object;
    }

    /** The {@code id} attribute ({@code CKA_ID}) as bytes, if present. */
    public Optional<byte[]> id() {
        return Optional.ofNullable(id).map(byte[]::clone);
    }

    /** The slot, if the URI names one ({@code slot-id}). */
    public OptionalLong slotId() {
        return slotId == null ? OptionalLong.empty() : OptionalLong.of(slotId);
    }

    public Path modulePath() {
        return modulePath;
    }

    public PinSource pinSource() {
        return pinSource;
    }

    /** The same token and settings, another object. */
    public Pkcs11Uri withObject(String newObject) {
        Objects.requireNonNull(newObject, "newObject");
        String rebuilt = "pkcs11:" + (slotId == null ? "" : "slot-id=" + Long.toUnsignedString(slotId) + ";")
                + (token == null ? "" : "token=" + encode(token) + ";") + "object=" + encode(newObject)
                + "?module-path=" + encode(modulePath.toString()) + "&pin-source=" + encode(pinSource.toString());
        return parse(rebuilt);
    }

    private static String encode(String value) {
        StringBuilder out = new StringBuilder();
        for (byte b : value.getBytes(StandardCharsets.UTF_8)) {
            char c = (char) (b & 0xff);
            if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || "-._~/:".indexOf(c) >= 0) {
                out.append(c);
            } else {
                out.append('%').append(HexFormat.of().withUpperCase().toHexDigits(b));
            }
        }
        return out.toString();
    }

    /** The non-secret identity of the key: scheme and path attributes, no module or PIN source. */
    public String keyId() {
        int q = text.indexOf('?');
        return q < 0 ? text : text.substring(0, q);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Pkcs11Uri && ((Pkcs11Uri) o).text.equals(text);
    }

    @Override
    public int hashCode() {
        return text.hashCode();
    }

    /** The reference as parsed; it holds where the PIN comes from, never the PIN. */
    @Override
    public String toString() {
        return text;
    }
}
