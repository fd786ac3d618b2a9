package dev.keel.hsm;

import dev.keel.identity.KeyType;
import dev.keel.identity.Pem;
import dev.keel.identity.SignatureAlgorithm;
import dev.keel.identity.SigningException;
import dev.keel.identity.SigningKey;
import dev.keel.identity.SigningKeys;
import io.github.jopenlibs.vault.json.JsonObject;
import io.github.jopenlibs.vault.json.JsonValue;
import java.io.IOException;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.MessageDigest;
import java.security.PublicKey;
import java.security.spec.X509EncodedKeySpec;
import java.time.Duration;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;

/**
 * A {@link SigningKey} held by Vault's Transit secrets engine: every signature is one
 * {@code POST <mount>/sign/<key>} call with the message's digest ({@code prehashed=true},
 * {@code hash_algorithm}), {@code marshaling_algorithm=asn1} for ECDSA (DER, as X.509 wants) and
 * {@code signature_algorithm=pkcs1v15} for RSA. The public key and the key version are read once from
 * {@code <mount>/keys/<key>} when the key is opened, and every signature is pinned to that version, so
 * a key rotated in Vault never produces signatures that do not match the certificate.
 *
 * <p>Errors: a sealed or standby Vault (503), rate limiting (429), other 5xx answers and timeouts
 * are retried a bounded number of times, then refused with {@link SigningException#unavailable()}
 * set; permission denied (403; after one fresh AppRole login) and other 4xx answers are refused at
 * once as permanent errors. Messages and logs carry the HTTP status and the key name, never a token
 * or secret id.
 *
 * <p>Thread-safe: calls run in parallel; an AppRole re-login is serialized.
 */
public final class VaultTransitSigningKey implements SigningKey {

    private final String mount;
    private final String name;
    private final String what;
    private final VaultSession session;
    private final PublicKey publicKey;
    private final KeyType keyType;
    private final int keyVersion;

    private VaultTransitSigningKey(String mount, String name, VaultSession session, PublicKey publicKey, int keyVersion) {
        this.mount = mount;
        this.name = name;
        this.what = "Vault transit key " + mount + "/" + name;
        this.session = session;
        this.publicKey = publicKey;
        this.keyType = KeyType.of(publicKey);
        this.keyVersion = keyVersion;
    }

    /** Starts a key at {@code address} (an {@code https://} URL), named {@code key} in the transit engine. */
    public static Builder builder(String address, String key) {
        return new Builder(address, key);
    }

    /** Settings of a Transit key; {@link #open()} reads the key and checks it. Not thread-safe. */
    public static final class Builder {
        private final VaultSession.Settings settings;
        private final String key;
        private String mount = "transit";
        private int version;

        Builder(String address, String key) {
            this.settings = new VaultSession.Settings(address, Duration.ofSeconds(5), Duration.ofMillis(200));
            this.key = Objects.requireNonNull(key, "key");
            if (!address.startsWith("https://")) {
                throw new IllegalArgumentException("address: " + address + " (expected: an https:// URL)");
            }
            if (!key.matches("[A-Za-z0-9._-]+")) {
                throw new IllegalArgumentException("key: '" + key + "' (expected: a Transit key name)");
            }
        }

        /** The Transit engine's mount path (default {@code transit}). */
        public Builder mount(String mount) {
            this.mount = VaultSession.mountPath(mount);
            return this;
        }

        /** PEM certificates to trust for Vault's TLS certificate (default: the JVM's trust store). */
        public Builder trustedCertificatesPem(String pem) {
            settings.trustedCertificatesPem(pem);
            return this;
        }

        public Builder credentials(VaultCredentials credentials) {
            settings.credentials(credentials);
            return this;
        }

        /** Connect and read timeout of each call (default 5 s). */
        public Builder timeout(Duration timeout) {
            settings.timeout(timeout);
            return this;
        }

        /** Attempts per signature for transient errors (default 3) and the pause between them (default 200 ms). */
        public Builder retries(int maxAttempts, Duration backoff) {
            settings.retries(maxAttempts, backoff);
            return this;
        }

        /** Pins the key version (default: the latest when the key is opened). */
        public Builder version(int version) {
            if (version < 1) {
                throw new IllegalArgumentException("version: " + version + " (expected: >= 1)");
            }
            this.version = version;
            return this;
        }

        /**
         * Logs in if needed, reads {@code <mount>/keys/<key>} and returns the key at the pinned version,
         * or the latest.
         *
         * @throws IOException naming the key and the Vault status when it cannot be read, lacks the
         *     version, or is of a type Keel does not sign with
         */
        public VaultTransitSigningKey open() throws IOException {
            return load(settings.open(), mount, key, version);
        }

        /**
         * Opens the key as {@link #open()} does, creating it first as a non-exportable {@code type} key
         * ({@code POST <mount>/keys/<key>}) if Vault does not have it. A key that exists is only read,
         * so a policy that grants read and sign on keys an operator made is enough.
         */
        public VaultTransitSigningKey openOrCreate(KeyType type) throws IOException {
            Objects.requireNonNull(type, "type");
            VaultSession session = settings.open();
            String what = "Vault transit key " + mount + "/" + key;
            Map<String, Object> body = new LinkedHashMap<>();
            body.put("type", switch (type) {
                case EC_P256 -> "ecdsa-p256";
                case EC_P384 -> "ecdsa-p384";
                default -> "rsa-" + type.bits();
            });
            body.put("exportable", false);
            try {
                if (!session.exists(what, mount + "/keys/" + key)) {
                    session.post(what, mount + "/keys/" + key, body);
                }
            } catch (VaultSession.Failure e) {
                throw new IOException(what + ": cannot read or create the key: " + e.getMessage().substring(what.length() + 2), e);
            }
            return load(session, mount, key, version);
        }
    }

    private static VaultTransitSigningKey load(VaultSession session, String mount, String key, int pinned)
            throws IOException {
        String what = "Vault transit key " + mount + "/" + key;
        try {
            JsonObject data = session.read(what, mount + "/keys/" + key);
            // Custody means the key cannot leave Vault: a key someone made exportable (or backed up in
            // plaintext) is not a CA key, whoever created it.
            if (data.getBoolean("exportable", false) || data.getBoolean("allow_plaintext_backup", false)) {
                throw new IOException(what + ": is exportable or allows plaintext backup; a CA key must be created "
                        + "with exportable=false and allow_plaintext_backup=false");
            }
            int latest = data.getInt("latest_version", 0);
            int version = pinned > 0 ? pinned : latest;
            JsonValue keys = data.get("keys");
            JsonValue entry = keys == null || !keys.isObject() ? null : keys.asObject().get(String.valueOf(version));
            if (pinned > latest) {
                throw new IOException(what + ": has no version " + pinned + " (latest: " + latest + ")");
            }
            if (version < 1 || entry == null || !entry.isObject() || entry.asObject().get("public_key") == null) {
                throw new IOException(what + ": " + mount + "/keys/" + key + " has no public key for version " + version
                        + " (expected: an ecdsa-p256, ecdsa-p384 or rsa-* signing key)");
            }
            PublicKey publicKey = parsePublicKey(entry.asObject().getString("public_key", ""));
            KeyType.of(publicKey);
            return new VaultTransitSigningKey(mount, key, session, publicKey, version);
        } catch (VaultSession.Failure e) {
            throw new IOException(what + ": cannot read the key: " + e.getMessage().substring(what.length() + 2), e);
        } catch (GeneralSecurityException | RuntimeException e) {
            throw new IOException(what + ": unusable public key (" + e.getMessage() + ")", e);
        }
    }

    /**
     * Rotates the key in Vault ({@code POST <mount>/keys/<key>/rotate}) and returns its new version, for
     * a renewal that wants a new key: this key stays pinned to its own version and keeps signing.
     */
    public VaultTransitSigningKey rotate() throws IOException {
        try {
            session.post(what, mount + "/keys/" + name + "/rotate", Map.of());
        } catch (VaultSession.Failure e) {
            throw new IOException(what + ": cannot rotate the key: " + e.getMessage().substring(what.length() + 2), e);
        }
        VaultTransitSigningKey next = load(session, mount, name, 0);
        if (next.keyVersion <= keyVersion) {
            throw new IOException(what + ": Vault did not make a new version on rotate (latest: " + next.keyVersion + ")");
        }
        return next;
    }

    /** The Transit engine's mount path. */
    public String mount() {
        return mount;
    }

    /** The key's name in the Transit engine. */
    public String name() {
        return name;
    }

    private static PublicKey parsePublicKey(String pem) throws GeneralSecurityException {
        byte[] spki = Pem.decode(pem).get(0).der();
        java.security.spec.X509EncodedKeySpec spec = new X509EncodedKeySpec(spki);
        try {
            return KeyFactory.getInstance("EC").generatePublic(spec);
        } catch (GeneralSecurityException notEc) {
            return KeyFactory.getInstance("RSA").generatePublic(spec);
        }
    }

    /** The key version every signature is pinned to. */
    public int keyVersion() {
        return keyVersion;
    }

    /** {@code vault-transit:<mount>/<key>#v<version>}: names the key, carries no secret. */
    @Override
    public String id() {
        return "vault-transit:" + mount + "/" + name + "#v" + keyVersion;
    }

    @Override
    public PublicKey publicKey() {
        return publicKey;
    }

    @Override
    public KeyType keyType() {
        return keyType;
    }

    @Override
    public byte[] sign(SignatureAlgorithm algorithm, byte[] data) throws SigningException {
        SigningKeys.checkSignArguments(keyType, algorithm, data);
        Map<String, Object> body = new LinkedHashMap<>();
        try {
            body.put("input", Base64.getEncoder().encodeToString(MessageDigest.getInstance(algorithm.digestName()).digest(data)));
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("the JDK lacks " + algorithm.digestName(), e);
        }
        body.put("prehashed", true);
        body.put("hash_algorithm", "sha2-" + algorithm.digestName().substring("SHA-".length()));
        body.put("key_version", keyVersion);
        if (keyType.family() == KeyType.Family.EC) {
            body.put("marshaling_algorithm", "asn1");
        } else {
            body.put("signature_algorithm", "pkcs1v15");
        }
        try {
            return decodeSignature(session.write(what, mount + "/sign/" + name, body).getString("signature", ""));
        } catch (VaultSession.Failure e) {
            throw new SigningException(e.getMessage(), e.unavailable, e.refused, e.getCause());
        }
    }

    private byte[] decodeSignature(String signature) throws SigningException {
        // "vault:v<version>:<base64>"
        String[] parts = signature.split(":", 3);
        if (parts.length != 3 || !parts[0].equals("vault") || !parts[1].equals("v" + keyVersion)) {
            throw new SigningException(what + ": Vault returned a malformed signature (expected: vault:v" + keyVersion
                    + ":<base64>)", false);
        }
        try {
            return Base64.getDecoder().decode(parts[2]);
        } catch (IllegalArgumentException e) {
            throw new SigningException(what + ": Vault returned a signature that is not base64", false, e);
        }
    }

    @Override
    public String toString() {
        return "VaultTransitSigningKey{id=" + id() + ", type=" + keyType + "}";
    }
}
