package dev.keel.cli.internal;

import dev.keel.ca.CaDirectory;
import dev.keel.ca.KeyResolver;
import dev.keel.ca.SuccessorKeys;
import dev.keel.ca.UpstreamAuthority;
import dev.keel.hsm.Pkcs11SigningKey;
import dev.keel.hsm.Pkcs11Uri;
import dev.keel.hsm.VaultPkiUpstreamAuthority;
import dev.keel.hsm.VaultTransitSigningKey;
import dev.keel.hsm.VaultUri;
import dev.keel.identity.KeyType;
import dev.keel.identity.SigningKey;
import java.io.IOException;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * The key custody backends the {@code keel} command wires into the CA: {@code file:} references
 * relative to the data directory, {@code pkcs11:} RFC 7512 URIs and {@code vault-transit:} references
 * (hsm-integration). citadel-ca knows no backend's code; it only resolves references through a
 * {@link KeyResolver} and asks {@link SuccessorKeys} for a new key when it renews its intermediate.
 */
public final class KeyResolvers {

    /** Suffixes of the token objects (or Transit keys) that hold the root and JWT-SVID keys next to the CA key. */
    public static final String ROOT_SUFFIX = "-root";
    public static final String JWT_SUFFIX = "-jwt";

    private KeyResolvers() {
    }

    /**
     * {@code file:} in {@code dataDir}, {@code pkcs11:} and {@code vault-transit:}, chosen by scheme, so
     * that a malformed reference reports its own problem rather than "unknown scheme".
     */
    public static KeyResolver forDataDir(Path dataDir) {
        KeyResolver files = KeyResolver.files(dataDir);
        KeyResolver pkcs11 = pkcs11();
        KeyResolver vault = vaultTransit();
        return reference -> {
            if (Pkcs11Uri.isPkcs11(reference)) {
                return pkcs11.resolve(reference);
            }
            if (VaultUri.isVaultTransit(reference)) {
                return vault.resolve(reference);
            }
            if (!reference.startsWith("file:")) {
                throw new IllegalArgumentException("key reference " + keyId(reference)
                        + ": unknown scheme (expected: file:, pkcs11: or vault-transit:)");
            }
            return files.resolve(reference);
        };
    }

    /** Opens existing {@code pkcs11:} keys; any other scheme is "unknown" so that {@link KeyResolver#or} moves on. */
    public static KeyResolver pkcs11() {
        return reference -> {
            if (!Pkcs11Uri.isPkcs11(reference)) {
                throw new IllegalArgumentException("key reference " + reference
                        + ": unknown scheme (expected: file:, pkcs11: or vault-transit:)");
            }
            return Pkcs11SigningKey.open(Pkcs11Uri.parse(reference));
        };
    }

    /** Opens existing {@code vault-transit:} keys (credentials read from their sources each time). */
    public static KeyResolver vaultTransit() {
        return reference -> {
            if (!VaultUri.isVaultTransit(reference)) {
                throw new IllegalArgumentException("key reference " + keyId(reference)
                        + ": unknown scheme (expected: file:, pkcs11: or vault-transit:)");
            }
            return VaultUri.parse(reference).transitKey().open();
        };
    }

    /**
     * New keys for renewal: a new object in the same token ({@link Pkcs11SigningKey#generateSuccessor}),
     * or a new version of the same Transit key ({@link VaultTransitSigningKey#rotate}), pinned in the
     * returned reference.
     */
    public static SuccessorKeys successors() {
        return (reference, type) -> {
            if (Pkcs11Uri.isPkcs11(reference)) {
                return Pkcs11SigningKey.generateSuccessor(Pkcs11Uri.parse(reference), type).uri().toString();
            }
            if (VaultUri.isVaultTransit(reference)) {
                VaultUri uri = VaultUri.parse(reference);
                VaultTransitSigningKey next = uri.transitKey().open().rotate();
                return uri.withVersion(next.keyVersion()).toString();
            }
            throw new IllegalArgumentException("key reference " + keyId(reference)
                    + ": no backend here can make a new key beside it (expected: pkcs11: or vault-transit:)");
        };
    }

    /** A key reference for {@code keel ca init --key}: where the CA's keys are made. */
    public sealed interface InitKey permits Pkcs11Key, TransitKey {

        /**
         * Opens, or generates, the CA key and its companions: the root key ({@code <name>-root}, same
         * type) and the JWT-SVID key ({@code <name>-jwt}, EC P-256).
         */
        CaDirectory.KeyReferences openOrGenerateCaKeys(KeyType type) throws IOException;

        /** Opens or generates only the CA key (for a CSR to an enterprise root, or under an upstream). */
        OpenedKey openOrGenerateCaKey(KeyType type) throws IOException;

        /** Opens or generates the JWT-SVID key next to the CA key; returns its reference. */
        String openOrGenerateJwtKey() throws IOException;
    }

    /** A key and the reference to store for it in {@code ca.properties}. */
    public record OpenedKey(String reference, SigningKey key) {
    }

    /** Keys in a PKCS#11 token, generated there as sensitive, non-extractable objects. */
    public record Pkcs11Key(Pkcs11Uri uri) implements InitKey {

        public Pkcs11Key {
            Objects.requireNonNull(uri, "uri");
        }

        @Override
        public CaDirectory.KeyReferences openOrGenerateCaKeys(KeyType type) throws IOException {
            Pkcs11Uri root = uri.withObject(uri.object() + ROOT_SUFFIX);
            Pkcs11SigningKey.openOrGenerate(root, type);
            Pkcs11SigningKey.openOrGenerate(uri, type);
            return new CaDirectory.KeyReferences(root.toString(), uri.toString(), openOrGenerateJwtKey());
        }

        @Override
        public OpenedKey openOrGenerateCaKey(KeyType type) throws IOException {
            return new OpenedKey(uri.toString(), Pkcs11SigningKey.openOrGenerate(uri, type));
        }

        @Override
        public String openOrGenerateJwtKey() throws IOException {
            Pkcs11Uri jwt = uri.withObject(uri.object() + JWT_SUFFIX);
            Pkcs11SigningKey.openOrGenerate(jwt, KeyType.EC_P256);
            return jwt.toString();
        }

    }

    /**
     * Keys in Vault's Transit engine, created there as non-exportable keys if absent. Stored references
     * pin the key version they were opened at, so a rotation made outside Keel never swaps the key
     * under a certificate.
     */
    public record TransitKey(VaultUri uri) implements InitKey {

        public TransitKey {
            Objects.requireNonNull(uri, "uri");
        }

        @Override
        public CaDirectory.KeyReferences openOrGenerateCaKeys(KeyType type) throws IOException {
            String root = create(uri.withKey(uri.path() + ROOT_SUFFIX), type);
            String ca = openOrGenerateCaKey(type).reference();
            return new CaDirectory.KeyReferences(root, ca, openOrGenerateJwtKey());
        }

        @Override
        public OpenedKey openOrGenerateCaKey(KeyType type) throws IOException {
            VaultTransitSigningKey opened = uri.transitKey().openOrCreate(type);
            return new OpenedKey(uri.withVersion(opened.keyVersion()).toString(), opened);
        }

        @Override
        public String openOrGenerateJwtKey() throws IOException {
            return create(uri.withKey(uri.path() + JWT_SUFFIX), KeyType.EC_P256);
        }

        private static String create(VaultUri key, KeyType type) throws IOException {
            VaultTransitSigningKey opened = key.transitKey().openOrCreate(type);
            return key.withVersion(opened.keyVersion()).toString();
        }
    }

    /**
     * The upstream authority a {@code vault-pki:} reference names: Vault's PKI engine signs the CSR with
     * {@code <mount>/root/sign-intermediate}; the answer is the intermediate, then Vault's chain to its root.
     *
     * @throws IllegalArgumentException for another scheme or a malformed reference
     */
    public static UpstreamAuthority upstream(String reference) {
        Objects.requireNonNull(reference, "reference");
        if (!VaultUri.isVaultPki(reference)) {
            throw new IllegalArgumentException("--upstream " + keyId(reference)
                    + ": unsupported (expected: vault-pki:<mount>?address=https://...)");
        }
        VaultUri uri = VaultUri.parse(reference);
        return (csrPem, ttl) -> {
            // Built per call: credentials are read from their sources when used, as for keys.
            VaultPkiUpstreamAuthority.SignedIntermediate signed = uri.pkiAuthority().build()
                    .signIntermediate(csrPem, "Keel Intermediate CA", ttl);
            List<X509Certificate> chain = new ArrayList<>();
            chain.add(signed.certificate());
            chain.addAll(signed.upstreamChain());
            return chain;
        };
    }

    /** {@link Pkcs11Key#openOrGenerateCaKeys} for {@code uri}. */
    public static CaDirectory.KeyReferences openOrGenerateCaKeys(Pkcs11Uri uri, KeyType type) throws IOException {
        return new Pkcs11Key(uri).openOrGenerateCaKeys(type);
    }

    /** Checks that {@code reference} is a key reference {@code keel ca init --key} can create keys at. */
    public static InitKey parseInitKey(String reference) {
        Objects.requireNonNull(reference, "reference");
        if (Pkcs11Uri.isPkcs11(reference)) {
            return new Pkcs11Key(Pkcs11Uri.parse(reference));
        }
        if (VaultUri.isVaultTransit(reference)) {
            return new TransitKey(VaultUri.parse(reference));
        }
        throw new IllegalArgumentException("--key " + keyId(reference) + ": unsupported (expected: a pkcs11: URI or a "
                + "vault-transit: reference; without --key the CA's keys are files in the data directory)");
    }

    /** A reference without its query: what may be shown even if the query wrongly held a secret. */
    private static String keyId(String reference) {
        int q = reference.indexOf('?');
        return q < 0 ? reference : reference.substring(0, q) + "?…";
    }
}
