package dev.keel.hsm;

import static org.assertj.core.api.Assertions.assertThat;

import dev.keel.identity.KeyType;
import dev.keel.identity.SignatureAlgorithm;
import java.nio.charset.StandardCharsets;
import java.security.Signature;
import java.util.UUID;
import org.junit.jupiter.api.Test;

/** A renewal's new key goes into the same token under the next free label; the current key stays. */
class Pkcs11SuccessorKeyTest {

    @Test
    void theSuccessorIsANewTokenKeyUnderTheNextLabelAndTheCurrentOneStays() throws Exception {
        String base = "renew-" + UUID.randomUUID();
        Pkcs11SigningKey current = Pkcs11SigningKey.generate(SoftHsm.uri(base), KeyType.EC_P256);

        Pkcs11SigningKey second = Pkcs11SigningKey.generateSuccessor(current.uri(), KeyType.EC_P256);
        Pkcs11SigningKey third = Pkcs11SigningKey.generateSuccessor(second.uri(), KeyType.EC_P256);

        assertThat(second.uri().object()).isEqualTo(base + "-2");
        assertThat(third.uri().object()).isEqualTo(base + "-3");
        assertThat(second.publicKey()).isNotEqualTo(current.publicKey());
        assertThat(third.publicKey()).isNotEqualTo(second.publicKey());
        assertThat(Pkcs11SigningKey.open(current.uri()).publicKey()).isEqualTo(current.publicKey());
        assertThat(verifies(third)).isTrue();
    }

    @Test
    void aLabelLeftByAnAbandonedRenewalIsSkippedNotReplaced() throws Exception {
        String base = "abandoned-" + UUID.randomUUID();
        Pkcs11SigningKey current = Pkcs11SigningKey.generate(SoftHsm.uri(base), KeyType.EC_P256);
        Pkcs11SigningKey orphan = Pkcs11SigningKey.generate(SoftHsm.uri(base + "-2"), KeyType.EC_P256);

        Pkcs11SigningKey next = Pkcs11SigningKey.generateSuccessor(current.uri(), KeyType.EC_P256);

        assertThat(next.uri().object()).isEqualTo(base + "-3");
        assertThat(Pkcs11SigningKey.open(orphan.uri()).publicKey()).isEqualTo(orphan.publicKey());
    }

    private static boolean verifies(Pkcs11SigningKey key) throws Exception {
        byte[] data = "tbs".getBytes(StandardCharsets.UTF_8);
        byte[] signature = key.sign(SignatureAlgorithm.ECDSA_SHA256, data);
        Signature verifier = Signature.getInstance("SHA256withECDSA");
        verifier.initVerify(key.publicKey());
        verifier.update(data);
        return verifier.verify(signature);
    }
}
