package dev.keel.cli.internal;

import dev.keel.ca.CaDirectory;
import dev.keel.ca.KeyResolver;
import dev.keel.hsm.Pkcs11SigningKey;
import dev.keel.hsm.Pkcs11Uri;
import dev.keel.identity.KeyType;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Objects;

/**
 * The key custody backends the {@code keel} command wires into the CA: {@code file:} references
 * relative to the data directory, and {@code pkcs11:} RFC 7512 URIs (hsm-integration). citadel-ca
 * knows neither backend's code; it only resolves references through a {@link KeyResolver}.
 */
public final class KeyResolvers {

    /** Suffixes of the token objects that hold the root and JWT-SVID keys next to the CA key. */
    public static final String ROOT_SUFFIX = "-root";
    public static final String JWT_SUFFIX = "-jwt";

    private KeyResolvers() {
    }

    /** {@code file:} in {@code dataDir}, then {@code pkcs11:}. */
    public static KeyResolver forDataDir(Path dataDir) {
        return KeyResolver.files(dataDir).or(pkcs11());
    }

    /** Opens existing {@code pkcs11:} keys; any other scheme is "unknown" so that {@link KeyResolver#or} moves on. */
    public static KeyResolver pkcs11() {
        return reference -> {
            if (!Pkcs11Uri.isPkcs11(reference)) {
                throw new IllegalArgumentException("key reference " + reference + ": unknown scheme (expected: file: or pkcs11:)");
            }
            return Pkcs11SigningKey.open(Pkcs11Uri.parse(reference));
        };
    }

    /** Checks that {@code reference} is a key reference {@code keel ca init --key} can create keys at. */
    public static Pkcs11Uri parseInitKey(String reference) {
        Objects.requireNonNull(reference, "reference");
        if (!Pkcs11Uri.isPkcs11(reference)) {
            throw new IllegalArgumentException("--key " + reference + ": unsupported (expected: a pkcs11: URI; without"
                    + " --key the CA's keys are files in the data directory)");
        }
        return Pkcs11Uri.parse(reference);
    }

    /**
     * Opens, or generates inside the token, the CA key at {@code uri} and its companions: the root key
     * ({@code <object>-root}, same type) and the JWT-SVID key ({@code <object>-jwt}, EC P-256).
     */
    public static CaDirectory.KeyReferences openOrGenerateCaKeys(Pkcs11Uri uri, KeyType type) throws IOException {
        Pkcs11Uri root = uri.withObject(uri.object() + ROOT_SUFFIX);
        Pkcs11SigningKey.openOrGenerate(root, type);
        Pkcs11SigningKey.openOrGenerate(uri, type);
        String jwt = openOrGenerateJwtKey(uri);
        return new CaDirectory.KeyReferences(root.toString(), uri.toString(), jwt);
    }

    /** Opens or generates only the CA key at {@code uri} (for a CSR to an enterprise root). */
    public static Pkcs11SigningKey openOrGenerateCaKey(Pkcs11Uri uri, KeyType type) throws IOException {
        return Pkcs11SigningKey.openOrGenerate(uri, type);
    }

    /** Opens or generates the JWT-SVID key next to the CA key {@code uri}; returns its reference. */
    public static String openOrGenerateJwtKey(Pkcs11Uri uri) throws IOException {
        Pkcs11Uri jwt = uri.withObject(uri.object() + JWT_SUFFIX);
        Pkcs11SigningKey.openOrGenerate(jwt, KeyType.EC_P256);
        return jwt.toString();
    }
}
