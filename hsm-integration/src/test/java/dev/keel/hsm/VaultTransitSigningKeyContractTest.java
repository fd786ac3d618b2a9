package dev.keel.hsm;

import dev.keel.identity.KeyType;
import dev.keel.identity.SigningKey;
import dev.keel.testing.FakeVault;
import dev.keel.testing.SigningKeyContract;
import org.junit.jupiter.api.AfterAll;

/** The {@link SigningKeyContract} against Vault Transit keys, served by {@link FakeVault} over HTTPS. */
class VaultTransitSigningKeyContractTest extends SigningKeyContract {

    private final FakeVault vault;

    VaultTransitSigningKeyContractTest() throws Exception {
        vault = new FakeVault();
    }

    @AfterAll
    void stop() {
        vault.close();
    }

    @Override
    protected SigningKey newKey(KeyType type) throws Exception {
        String name = "keel-" + type.name().toLowerCase(java.util.Locale.ROOT).replace('_', '-');
        vault.createKey(name, type);
        return VaultTransitSigningKey.builder(vault.address(), name).trustedCertificatesPem(vault.caPem())
                .credentials(VaultCredentials.token(vault.rootToken)).open();
    }
}
