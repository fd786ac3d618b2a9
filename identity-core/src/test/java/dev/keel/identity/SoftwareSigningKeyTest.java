package dev.keel.identity;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.Signature;
import java.security.interfaces.ECPrivateKey;
import java.security.spec.ECGenParameterSpec;
import java.util.Base64;
import java.util.HexFormat;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

class SoftwareSigningKeyTest {

    private static final byte[] DATA = "to be signed".getBytes(StandardCharsets.UTF_8);

    @ParameterizedTest
    @EnumSource(value = KeyType.class, names = {"EC_P256", "EC_P384", "RSA_2048"})
    void signaturesVerifyWithTheJdk(KeyType type) throws Exception {
        SoftwareSigningKey key = SoftwareSigningKey.generate("test", type);

        assertThat(key.keyType()).isEqualTo(type);
        for (SignatureAlgorithm algorithm : SignatureAlgorithm.values()) {
            if (!algorithm.fits(type)) {
                assertThatThrownBy(() -> key.sign(algorithm, DATA)).isInstanceOf(IllegalArgumentException.class)
                        .hasMessageContaining("algorithm: " + algorithm);
                continue;
            }
            byte[] signature = key.sign(algorithm, DATA);
            Signature verifier = Signature.getInstance(algorithm.jcaName());
            verifier.initVerify(key.publicKey());
            verifier.update(DATA);
            assertThat(verifier.verify(signature)).as(algorithm.name()).isTrue();
            assertThat(SignatureVerifier.of(key.publicKey()).verify(algorithm, DATA, signature)).isTrue();
        }
    }

    @Test
    void ecdsaSignaturesAreDerAndRandomized() throws Exception {
        SoftwareSigningKey key = SoftwareSigningKey.generate("test", KeyType.EC_P256);

        byte[] first = key.sign(SignatureAlgorithm.ECDSA_SHA256, DATA);
        byte[] second = key.sign(SignatureAlgorithm.ECDSA_SHA256, DATA);

        assertThat(first[0]).isEqualTo((byte) 0x30);
        assertThat(first).isNotEqualTo(second);
    }

    @Test
    void refusesRsa1024() throws Exception {
        KeyPairGenerator generator = KeyPairGenerator.getInstance("RSA");
        generator.initialize(1024);
        KeyPair weak = generator.generateKeyPair();

        assertThatThrownBy(() -> SoftwareSigningKey.of("weak", weak)).isInstanceOf(WeakKeyException.class)
                .hasMessageContaining("1024 bits (expected: >= 2048)");
    }

    @Test
    void refusesUnsupportedCurves() throws Exception {
        KeyPairGenerator generator = KeyPairGenerator.getInstance("EC");
        generator.initialize(new ECGenParameterSpec("secp521r1"));
        KeyPair p521 = generator.generateKeyPair();

        assertThatThrownBy(() -> SoftwareSigningKey.of("p521", p521)).isInstanceOf(WeakKeyException.class)
                .hasMessageContaining("secp521r1 (expected: P-256 or P-384)");
    }

    @Test
    void refusesMismatchedHalves() {
        KeyPair a = KeyPairs.generate(KeyType.EC_P256);
        KeyPair b = KeyPairs.generate(KeyType.EC_P256);
        KeyPair rsa = KeyPairs.generate(KeyType.RSA_2048);

        assertThatThrownBy(() -> SoftwareSigningKey.of("mixed", new KeyPair(a.getPublic(), b.getPrivate())))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("does not match");
        assertThatThrownBy(() -> SoftwareSigningKey.of("mixed", new KeyPair(rsa.getPublic(), a.getPrivate())))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("does not match");
        assertThatThrownBy(() -> SoftwareSigningKey.of("mixed", new KeyPair(a.getPublic(), rsa.getPrivate())))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("does not match");
    }

    @Test
    void matchesOnlyItsOwnPublicKey() {
        KeyPair pair = KeyPairs.generate(KeyType.EC_P256);
        SoftwareSigningKey key = SoftwareSigningKey.of("k", pair);

        assertThat(key.matches(pair.getPublic())).isTrue();
        assertThat(SigningKeys.matches(key, pair.getPublic())).isTrue();
        assertThat(key.matches(KeyPairs.generate(KeyType.EC_P256).getPublic())).isFalse();
        assertThat(key.matches(KeyPairs.generate(KeyType.RSA_2048).getPublic())).isFalse();
    }

    @Test
    void toStringHasNoKeyMaterial() {
        KeyPair pair = KeyPairs.generate(KeyType.EC_P256);
        SoftwareSigningKey key = SoftwareSigningKey.of("file:ca-key.pem", pair);
        byte[] pkcs8 = pair.getPrivate().getEncoded();
        BigInteger s = ((ECPrivateKey) pair.getPrivate()).getS();

        assertThat(key.toString()).contains("file:ca-key.pem").contains("EC_P256")
                .doesNotContain(Base64.getEncoder().encodeToString(pkcs8))
                .doesNotContain(HexFormat.of().formatHex(pkcs8))
                .doesNotContain(s.toString()).doesNotContain(s.toString(16));
        assertThat(key.id()).isEqualTo("file:ca-key.pem");
    }

    @Test
    void nullArgumentsAreNamed() {
        SoftwareSigningKey key = SoftwareSigningKey.generate("k", KeyType.EC_P256);

        assertThatThrownBy(() -> key.sign(null, DATA)).isInstanceOf(NullPointerException.class).hasMessage("algorithm");
        assertThatThrownBy(() -> key.sign(SignatureAlgorithm.ECDSA_SHA256, null))
                .isInstanceOf(NullPointerException.class).hasMessage("data");
        assertThatThrownBy(() -> SoftwareSigningKey.of(null, KeyPairs.generate(KeyType.EC_P256)))
                .isInstanceOf(NullPointerException.class).hasMessage("id");
    }
}
