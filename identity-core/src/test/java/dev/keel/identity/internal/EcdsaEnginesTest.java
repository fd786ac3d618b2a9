package dev.keel.identity.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.keel.identity.KeyPairs;
import dev.keel.identity.KeyType;
import java.nio.charset.StandardCharsets;
import java.security.KeyPair;
import java.security.Signature;
import java.security.interfaces.ECPrivateKey;
import java.security.interfaces.ECPublicKey;
import java.util.Arrays;
import org.bouncycastle.crypto.signers.PlainDSAEncoding;
import org.bouncycastle.crypto.signers.StandardDSAEncoding;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * BoringSSL and BouncyCastle must be interchangeable: each verifies the other's signatures and the
 * JDK's, and each refuses the same forgeries. Runs both engines whatever the platform offers.
 */
class EcdsaEnginesTest {

    static final byte[] DATA = "the TBSCertificate".getBytes(StandardCharsets.US_ASCII);

    @ParameterizedTest(name = "{0} signs with native={1}, verifies with native={2}")
    @CsvSource({
        "EC_P256, true, true", "EC_P256, true, false", "EC_P256, false, true", "EC_P256, false, false",
        "EC_P384, true, false", "EC_P384, false, true"
    })
    void enginesAgreeWithEachOtherAndTheJdk(KeyType type, boolean nativeSigner, boolean nativeVerifier) throws Exception {
        KeyPair pair = KeyPairs.generate(type);
        String jca = type.defaultSignatureAlgorithm().jcaName();
        String digest = type.defaultSignatureAlgorithm().digestName();
        FastEcdsa signer = FastEcdsa.forKey((ECPrivateKey) pair.getPrivate(), nativeSigner);
        FastEcdsaVerifier verifier = FastEcdsaVerifier.forKey((ECPublicKey) pair.getPublic(), nativeVerifier);
        assertThat(signer.isNative()).isEqualTo(nativeSigner && NativeCrypto.available());
        assertThat(verifier.isNative()).isEqualTo(nativeVerifier && NativeCrypto.available());

        byte[] der = signer.sign(jca, digest, DATA);
        assertThat(verifier.verifyDer(jca, digest, DATA, der)).isTrue();
        Signature jdk = Signature.getInstance(jca);
        jdk.initVerify(pair.getPublic());
        jdk.update(DATA);
        assertThat(jdk.verify(der)).as("the JDK accepts it").isTrue();

        java.math.BigInteger n = ((ECPublicKey) pair.getPublic()).getParams().getOrder();
        java.math.BigInteger[] rs = StandardDSAEncoding.INSTANCE.decode(n, der);
        byte[] p1363 = PlainDSAEncoding.INSTANCE.encode(n, rs[0], rs[1]);
        assertThat(verifier.verifyP1363(jca, digest, DATA, p1363)).isTrue();

        byte[] otherData = "another TBSCertificate".getBytes(StandardCharsets.US_ASCII);
        assertThat(verifier.verifyDer(jca, digest, otherData, der)).isFalse();
        byte[] flipped = der.clone();
        flipped[flipped.length - 1] ^= 1;
        assertThat(verifier.verifyDer(jca, digest, DATA, flipped)).isFalse();
        assertThat(verifier.verifyDer(jca, digest, DATA, Arrays.copyOf(der, 3))).isFalse();
        assertThat(verifier.verifyP1363(jca, digest, DATA, new byte[p1363.length])).as("r = s = 0").isFalse();
        assertThat(verifier.verifyP1363(jca, digest, DATA, Arrays.copyOf(p1363, 10))).isFalse();
    }

    @ParameterizedTest(name = "native={0}")
    @CsvSource({"true", "false"})
    void aSignatureUnderAnotherKeyIsRefused(boolean nativeEngine) throws Exception {
        KeyPair signerPair = KeyPairs.generate(KeyType.EC_P256);
        KeyPair otherPair = KeyPairs.generate(KeyType.EC_P256);
        byte[] der = FastEcdsa.forKey((ECPrivateKey) signerPair.getPrivate(), nativeEngine)
                .sign("SHA256withECDSA", "SHA-256", DATA);
        assertThat(FastEcdsaVerifier.forKey((ECPublicKey) otherPair.getPublic(), nativeEngine)
                .verifyDer("SHA256withECDSA", "SHA-256", DATA, der)).isFalse();
    }

    @ParameterizedTest(name = "native={0}")
    @CsvSource({"true", "false"})
    void aP521KeyIsRefused(boolean nativeEngine) throws Exception {
        java.security.KeyPairGenerator generator = java.security.KeyPairGenerator.getInstance("EC");
        generator.initialize(new java.security.spec.ECGenParameterSpec("secp521r1"));
        KeyPair pair = generator.generateKeyPair();
        assertThatThrownBy(() -> FastEcdsaVerifier.forKey((ECPublicKey) pair.getPublic(), nativeEngine))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("P-256 or P-384");
        assertThatThrownBy(() -> FastEcdsa.forKey((ECPrivateKey) pair.getPrivate(), nativeEngine))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("P-256 or P-384");
    }
}
