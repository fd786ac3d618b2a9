package dev.keel.ca;

import dev.keel.identity.KeyType;
import java.io.IOException;

/**
 * Makes a new key beside a CA key held outside the data directory, for renewal of the issuing
 * intermediate: a new object in the same PKCS#11 token, a new version of a Vault Transit key. The
 * current key is left in place (certificates it issued stay valid); the new one is used only once the
 * renewal commits. The composition root decides which backends can do this.
 *
 * <p>Implementations are thread-safe.
 */
@FunctionalInterface
public interface SuccessorKeys {

    /**
     * Creates a new key of {@code type} in the custody of {@code reference}'s key.
     *
     * @return the new key's reference, resolvable by the CA's {@link KeyResolver}; it names no secret
     * @throws IOException naming the reference and the problem
     * @throws IllegalArgumentException if no backend here can make keys for {@code reference}'s scheme
     */
    String generateSuccessor(String reference, KeyType type) throws IOException;

    /** For file keys only, which the CA directory makes itself: every other reference is refused. */
    static SuccessorKeys none() {
        return (reference, type) -> {
            throw new IllegalArgumentException("key reference " + reference
                    + ": no backend here can make a new key beside it");
        };
    }
}
