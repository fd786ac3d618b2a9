package dev.keel.ca;

import dev.keel.ca.internal.PemFiles;
import dev.keel.identity.SigningKey;
import dev.keel.identity.SoftwareSigningKey;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Objects;

/**
 * Turns a key reference from the CA's configuration into a {@link SigningKey}: {@code file:ca-key.pem}
 * for the file backend; the HSM and Vault backends add {@code pkcs11:} and {@code vault-transit:} schemes.
 * The composition root (the CLI) decides which resolvers exist.
 */
@FunctionalInterface
public interface KeyResolver {

    /**
     * @throws IOException naming the reference and the problem; never the key bytes
     * @throws IllegalArgumentException if the scheme is not one this resolver knows
     */
    SigningKey resolve(String reference) throws IOException;

    /** The file backend: {@code file:<path>}, relative paths resolved against {@code dir}. */
    static KeyResolver files(Path dir) {
        Objects.requireNonNull(dir, "dir");
        return reference -> {
            if (!reference.startsWith("file:")) {
                throw new IllegalArgumentException("key reference " + reference + ": unknown scheme (expected: file:)");
            }
            Path path = dir.resolve(reference.substring("file:".length()));
            return SoftwareSigningKey.of(reference, PemFiles.readKeyPair(path));
        };
    }

    /** Tries {@code this} and falls back to {@code next} for a scheme this one does not know. */
    default KeyResolver or(KeyResolver next) {
        return reference -> {
            try {
                return resolve(reference);
            } catch (IllegalArgumentException unknownScheme) {
                return next.resolve(reference);
            }
        };
    }
}
