package dev.keel.hsm;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.OptionalInt;
import java.util.Set;

/**
 * A reference to something Keel uses in Vault, in the style of {@link Pkcs11Uri}: the thing in the
 * path, how to reach Vault in the query, never a secret.
 *
 * <ul>
 *   <li>{@code vault-transit:<key>?address=https://vault:8200} a Transit signing key; optional
 *       {@code mount} (default {@code transit}) and {@code version} (pins a key version);</li>
 *   <li>{@code vault-pki:<mount>?address=https://vault:8200} a PKI engine that signs Keel's
 *       intermediate.</li>
 * </ul>
 *
 * Both take {@code ca-file} (PEM certificates to trust for Vault's TLS, like {@code VAULT_CACERT}) and
 * credentials as sources ({@code file:<path>} or {@code env:<VARIABLE>}, see {@link PinSource}):
 * {@code token-source} (default {@code env:VAULT_TOKEN}), or {@code role-id-source} and
 * {@code secret-id-source} for AppRole (optional {@code approle-mount}, default {@code approle}).
 * {@code token}, {@code role-id} and {@code secret-id} values are refused: a secret is never in a
 * reference, a command line, a configuration file or a log. Without {@code address} or {@code ca-file},
 * {@code VAULT_ADDR} and {@code VAULT_CACERT} are used when parsing, and {@link #toString()} writes
 * every setting out, so a stored reference does not depend on the environment it was made in.
 *
 * <p>Immutable and thread-safe.
 */
public final class VaultUri {

    public static final String TRANSIT = "vault-transit";
    public static final String PKI = "vault-pki";

    private static final Set<String> KNOWN = Set.of("address", "mount", "version", "ca-file", "token-source",
            "role-id-source", "secret-id-source", "approle-mount");
    private static final Set<String> SECRETS = Set.of("token", "role-id", "secret-id", "vault-token");

    private final String scheme;
    private final String path;
    private final Map<String, String> query;

    private VaultUri(String scheme, String path, Map<String, String> query) {
        this.scheme = scheme;
        this.path = path;
        this.query = query;
    }

    public static boolean isVaultTransit(String reference) {
        return reference != null && reference.startsWith(TRANSIT + ":");
    }

    public static boolean isVaultPki(String reference) {
        return reference != null && reference.startsWith(PKI + ":");
    }

    /** Parses {@code reference}, taking defaults from this process's environment. */
    public static VaultUri parse(String reference) {
        return parse(reference, System.getenv());
    }

    /**
     * Parses {@code reference}; {@code env} supplies {@code VAULT_ADDR} and {@code VAULT_CACERT} when the
     * reference has no {@code address} or {@code ca-file}.
     *
     * @throws IllegalArgumentException naming the parameter and what is expected
     */
    public static VaultUri parse(String reference, Map<String, String> env) {
        Objects.requireNonNull(reference, "reference");
        Objects.requireNonNull(env, "env");
        String scheme = isVaultTransit(reference) ? TRANSIT : isVaultPki(reference) ? PKI : null;
        if (scheme == null) {
            throw new IllegalArgumentException("reference " + redacted(reference) + ": expected vault-transit:<key>?... or "
                    + "vault-pki:<mount>?...");
        }
        String rest = reference.substring(scheme.length() + 1);
        int q = rest.indexOf('?');
        String path = decode(q < 0 ? rest : rest.substring(0, q));
        Map<String, String> query = new LinkedHashMap<>();
        if (q >= 0 && q + 1 < rest.length()) {
            for (String pair : rest.substring(q + 1).split("&")) {
                int eq = pair.indexOf('=');
                String name = eq < 0 ? pair : pair.substring(0, eq);
                if (SECRETS.contains(name)) {
                    throw new IllegalArgumentException(scheme + ": " + name + " is refused: a secret never goes in a "
                            + "reference (use token-source, role-id-source or secret-id-source with file:<path> or "
                            + "env:<VARIABLE>)");
                }
                if (!KNOWN.contains(name)) {
                    throw new IllegalArgumentException(scheme + ": unknown parameter '" + name + "' (expected: "
                            + String.join(", ", KNOWN.stream().sorted().toList()) + ")");
                }
                if (eq < 0 || eq == pair.length() - 1) {
                    throw new IllegalArgumentException(scheme + ": " + name + " has no value");
                }
                if (query.put(name, decode(pair.substring(eq + 1))) != null) {
                    throw new IllegalArgumentException(scheme + ": " + name + " is given twice");
                }
            }
        }
        String what = scheme.equals(TRANSIT) ? "key" : "mount";
        if (!path.matches("[A-Za-z0-9._-]+(/[A-Za-z0-9._-]+)*")) {
            throw new IllegalArgumentException(scheme + ": " + what + " '" + path + "' (expected: a Vault "
                    + (scheme.equals(TRANSIT) ? "Transit key name" : "PKI mount path") + ")");
        }
        if (scheme.equals(TRANSIT) && path.contains("/")) {
            throw new IllegalArgumentException(scheme + ": key '" + path + "' (expected: a key name; set the engine with mount=)");
        }
        if (scheme.equals(PKI) && (query.containsKey("mount") || query.containsKey("version"))) {
            throw new IllegalArgumentException(scheme + ": mount and version are for vault-transit (the PKI mount is the path)");
        }
        defaultFrom(query, "address", env.get("VAULT_ADDR"));
        defaultFrom(query, "ca-file", env.get("VAULT_CACERT"));
        String address = query.get("address");
        if (address == null) {
            throw new IllegalArgumentException(scheme + ": address is missing (expected: address=https://... or VAULT_ADDR)");
        }
        if (!address.startsWith("https://")) {
            throw new IllegalArgumentException(scheme + ": address " + address + " (expected: an https:// URL)");
        }
        if (query.containsKey("version") && !query.get("version").matches("[1-9][0-9]{0,8}")) {
            throw new IllegalArgumentException(scheme + ": version " + query.get("version") + " (expected: a number >= 1)");
        }
        if (query.containsKey("role-id-source") != query.containsKey("secret-id-source")) {
            throw new IllegalArgumentException(scheme + ": AppRole needs both role-id-source and secret-id-source");
        }
        if (query.containsKey("role-id-source") && query.containsKey("token-source")) {
            throw new IllegalArgumentException(scheme + ": token-source and AppRole (role-id-source) exclude each other");
        }
        if (!query.containsKey("role-id-source")) {
            query.putIfAbsent("token-source", "env:VAULT_TOKEN");
        }
        for (String source : new String[] {"token-source", "role-id-source", "secret-id-source"}) {
            if (query.containsKey(source)) {
                query.put(source, PinSource.parse(source, query.get(source)).toString());
            }
        }
        return new VaultUri(scheme, path, Map.copyOf(query));
    }

    private static void defaultFrom(Map<String, String> query, String name, String value) {
        if (!query.containsKey(name) && value != null && !value.isBlank()) {
            query.put(name, value.trim());
        }
    }

    /** {@value #TRANSIT} or {@value #PKI}. */
    public String scheme() {
        return scheme;
    }

    /** The Transit key name, or the PKI mount. */
    public String path() {
        return path;
    }

    public String address() {
        return query.get("address");
    }

    /** The pinned Transit key version, if any. */
    public OptionalInt version() {
        return query.containsKey("version") ? OptionalInt.of(Integer.parseInt(query.get("version"))) : OptionalInt.empty();
    }

    /** The Transit engine's mount ({@code transit} unless set). */
    public String mount() {
        return scheme.equals(PKI) ? path : query.getOrDefault("mount", "transit");
    }

    /** The same settings for another Transit key (no version pinned). */
    public VaultUri withKey(String key) {
        Map<String, String> copy = new LinkedHashMap<>(query);
        copy.remove("version");
        return parse(TRANSIT + ":" + key + "?" + encodeQuery(copy), Map.of());
    }

    /** The same key pinned to {@code version}. */
    public VaultUri withVersion(int version) {
        Map<String, String> copy = new LinkedHashMap<>(query);
        copy.put("version", String.valueOf(version));
        return parse(scheme + ":" + path + "?" + encodeQuery(copy), Map.of());
    }

    /**
     * Reads the credentials from their sources.
     *
     * @throws IOException naming the source (never its contents) when it is missing or empty
     */
    public VaultCredentials credentials() throws IOException {
        if (query.containsKey("role-id-source")) {
            String roleId = read("role-id-source");
            String secretId = read("secret-id-source");
            return VaultCredentials.appRole(query.getOrDefault("approle-mount", "approle"), roleId, secretId);
        }
        return VaultCredentials.token(read("token-source"));
    }

    private String read(String source) throws IOException {
        char[] secret = PinSource.parse(source, query.get(source)).read();
        try {
            return new String(secret);
        } finally {
            Arrays.fill(secret, '\0');
        }
    }

    /** The PEM certificates in {@code ca-file}, or null to trust the JVM's trust store. */
    String trustedCertificatesPem() throws IOException {
        String file = query.get("ca-file");
        if (file == null) {
            return null;
        }
        try {
            return Files.readString(Path.of(file), StandardCharsets.US_ASCII);
        } catch (IOException e) {
            throw new IOException(scheme + ": ca-file " + file + ": cannot read it (" + e.getClass().getSimpleName() + ")", e);
        }
    }

    /** A builder for the Transit key this names, with its address, TLS trust, credentials and version set. */
    public VaultTransitSigningKey.Builder transitKey() throws IOException {
        if (!scheme.equals(TRANSIT)) {
            throw new IllegalStateException(this + " is not a vault-transit reference");
        }
        VaultTransitSigningKey.Builder builder = VaultTransitSigningKey.builder(address(), path).mount(mount())
                .credentials(credentials());
        String ca = trustedCertificatesPem();
        if (ca != null) {
            builder.trustedCertificatesPem(ca);
        }
        version().ifPresent(builder::version);
        return builder;
    }

    /** A builder for the PKI engine this names, with its address, TLS trust and credentials set. */
    public VaultPkiUpstreamAuthority.Builder pkiAuthority() throws IOException {
        if (!scheme.equals(PKI)) {
            throw new IllegalStateException(this + " is not a vault-pki reference");
        }
        VaultPkiUpstreamAuthority.Builder builder = VaultPkiUpstreamAuthority.builder(address()).mount(path)
                .credentials(credentials());
        String ca = trustedCertificatesPem();
        if (ca != null) {
            builder.trustedCertificatesPem(ca);
        }
        return builder;
    }

    /** The thing referenced without connection settings: {@code vault-transit:transit/keel-ca#v2}, {@code vault-pki:pki}. */
    public String keyId() {
        if (scheme.equals(PKI)) {
            return PKI + ":" + path;
        }
        return TRANSIT + ":" + mount() + "/" + path + version().stream().mapToObj(v -> "#v" + v).findFirst().orElse("");
    }

    private static String encodeQuery(Map<String, String> query) {
        StringBuilder out = new StringBuilder();
        for (String name : new String[] {"address", "mount", "version", "ca-file", "token-source", "role-id-source",
                "secret-id-source", "approle-mount"}) {
            if (query.containsKey(name)) {
                out.append(out.length() == 0 ? "" : "&").append(name).append('=').append(encode(query.get(name)));
            }
        }
        return out.toString();
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

    private static String decode(String value) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (int i = 0; i < value.length(); i++) {
            char c = value.charAt(i);
            if (c == '%' && i + 2 < value.length()) {
                out.write(HexFormat.fromHexDigits(value, i + 1, i + 3));
                i += 2;
            } else {
                out.writeBytes(String.valueOf(c).getBytes(StandardCharsets.UTF_8));
            }
        }
        return out.toString(StandardCharsets.UTF_8);
    }

    /** The scheme and path only: a reference that failed to parse may hold a secret in its query. */
    private static String redacted(String reference) {
        int q = reference.indexOf('?');
        return q < 0 ? reference : reference.substring(0, q) + "?…";
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof VaultUri && o.toString().equals(toString());
    }

    @Override
    public int hashCode() {
        return toString().hashCode();
    }

    /** The reference with every setting written out: where the secrets come from, never a secret. */
    @Override
    public String toString() {
        return scheme + ":" + path + "?" + encodeQuery(query);
    }
}
