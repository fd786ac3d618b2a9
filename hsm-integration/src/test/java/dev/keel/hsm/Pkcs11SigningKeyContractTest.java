package dev.keel.hsm;

import dev.keel.identity.KeyType;
import dev.keel.identity.SigningKey;
import dev.keel.testing.SigningKeyContract;
import java.util.UUID;

/** The {@link SigningKeyContract} against keys generated inside a SoftHSM2 token. */
class Pkcs11SigningKeyContractTest extends SigningKeyContract {

    @Override
    protected SigningKey newKey(KeyType type) throws Exception {
        return Pkcs11SigningKey.generate(SoftHsm.uri("contract-" + type + "-" + UUID.randomUUID()), type);
    }
}
