package dev.keel.testing;

import dev.keel.identity.KeyPairs;
import dev.keel.identity.KeyType;
import dev.keel.identity.SigningKey;
import dev.keel.identity.SoftwareSigningKey;
import java.security.KeyPair;
import java.security.PrivateKey;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;

/** identity-core's in-memory backend against the contract every backend must pass. */
class SoftwareSigningKeyContractTest extends SigningKeyContract {

    private final Map<SigningKey, PrivateKey> privateKeys = new ConcurrentHashMap<>();

    @Override
    protected SigningKey newKey(KeyType type) {
        KeyPair pair = KeyPairs.generate(type);
        SigningKey key = SoftwareSigningKey.of("file:" + type.name().toLowerCase() + "-key.pem", pair);
        privateKeys.put(key, pair.getPrivate());
        return key;
    }

    @Override
    protected Optional<PrivateKey> privateKeyOf(SigningKey key) {
        return Optional.ofNullable(privateKeys.get(key));
    }
}
