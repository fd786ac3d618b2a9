package dev.keel.testing;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.keel.identity.KeyPairs;
import dev.keel.identity.KeyType;
import dev.keel.identity.SignatureAlgorithm;
import dev.keel.identity.SigningKey;
import dev.keel.identity.SigningKeys;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.PrivateKey;
import java.security.Signature;
import java.security.interfaces.ECPrivateKey;
import java.security.interfaces.RSAPrivateKey;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The tests every {@link SigningKey} backend must pass: the file key, PKCS#11 and Vault alike. Extend
 * it in the backend's test sources and implement {@link #newKey(KeyType)}:
 *
 * <pre>{@code
 * class Pkcs11SigningKeyContractTest extends SigningKeyContract {
 *     protected SigningKey newKey(KeyType type) throws Exception { return hsm.generate(type); }
 *     protected Set<KeyType> supportedKeyTypes() { return EnumSet.of(KeyType.EC_P256, KeyType.RSA_2048); }
 * }
 * }</pre>
 *
 * <p>Signatures are checked with the JDK's {@link Signature}, never with the backend's own code.
 * One key per type is created per test class (PER_CLASS lifecycle), since HSM and Vault keys are slow
 * to make.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
public abstract class SigningKeyContract {

    private static final byte[] DATA = "keel signing-key contract".getBytes(StandardCharsets.UTF_8);

    private final java.util.Map<KeyType, SigningKey> keys = new java.util.EnumMap<>(KeyType.class);

    /** A new key of {@code type} in the backend under test. */
    protected abstract SigningKey newKey(KeyType type) throws Exception;

    /** The key types the backend supports; EC P-256 and P-384 and RSA-2048 unless overridden. */
    protected Set<KeyType> supportedKeyTypes() {
        return Set.of(KeyType.EC_P256, KeyType.EC_P384, KeyType.RSA_2048);
    }

    /**
     * The private key behind {@code key}, when the test can know it (a software backend), so the
     * contract can check it never shows in {@code toString()} or {@code id()}. Empty by default.
     */
    protected Optional<PrivateKey> privateKeyOf(SigningKey key) {
        return Optional.empty();
    }

    /** The key type the concurrency test uses; the first supported type in {@link KeyType} order. */
    protected KeyType concurrencyKeyType() {
        return keyTypes().get(0);
    }

    /** The supported key types in {@link KeyType} order: the parameters of the per-type tests. */
    protected final List<KeyType> keyTypes() {
        List<KeyType> types = new ArrayList<>();
        for (KeyType type : KeyType.values()) {
            if (supportedKeyTypes().contains(type)) {
                types.add(type);
            }
        }
        return types;
    }

    /** The shared key of {@code type}, created on first use. */
    protected final synchronized SigningKey key(KeyType type) throws Exception {
        SigningKey key = keys.get(type);
        if (key == null) {
            key = newKey(type);
            assertThat(key).as("newKey(%s)", type).isNotNull();
            keys.put(type, key);
        }
        return key;
    }

    @ParameterizedTest
    @MethodSource("keyTypes")
    public void publicKeyHasTheDeclaredType(KeyType type) throws Exception {
        SigningKey key = key(type);

        assertThat(key.keyType()).isEqualTo(type);
        assertThat(KeyType.of(key.publicKey())).isEqualTo(type);
        assertThat(key.id()).isNotBlank();
    }

    @ParameterizedTest
    @MethodSource("keyTypes")
    public void defaultAlgorithmSignatureVerifiesWithTheJdk(KeyType type) throws Exception {
        SigningKey key = key(type);
        SignatureAlgorithm algorithm = type.defaultSignatureAlgorithm();

        assertThat(jdkVerify(key, algorithm, DATA, key.sign(algorithm, DATA))).isTrue();
    }

    @ParameterizedTest
    @MethodSource("keyTypes")
    public void everyFittingAlgorithmVerifies(KeyType type) throws Exception {
        SigningKey key = key(type);

        for (SignatureAlgorithm algorithm : SignatureAlgorithm.values()) {
            if (algorithm.fits(type)) {
                assertThat(jdkVerify(key, algorithm, DATA, key.sign(algorithm, DATA))).as("%s with %s", algorithm, type)
                        .isTrue();
            }
        }
    }

    @ParameterizedTest
    @MethodSource("keyTypes")
    public void algorithmsThatDoNotFitAreRefused(KeyType type) throws Exception {
        SigningKey key = key(type);

        for (SignatureAlgorithm algorithm : SignatureAlgorithm.values()) {
            if (!algorithm.fits(type)) {
                assertThatThrownBy(() -> key.sign(algorithm, DATA)).as("%s with %s", algorithm, type)
                        .isInstanceOf(IllegalArgumentException.class);
            }
        }
    }

    @ParameterizedTest
    @MethodSource("keyTypes")
    public void signaturesOverDifferentDataDiffer(KeyType type) throws Exception {
        SigningKey key = key(type);
        SignatureAlgorithm algorithm = type.defaultSignatureAlgorithm();
        byte[] other = "other data".getBytes(StandardCharsets.UTF_8);

        byte[] first = key.sign(algorithm, DATA);
        byte[] second = key.sign(algorithm, other);

        assertThat(first).isNotEqualTo(second);
        assertThat(jdkVerify(key, algorithm, other, first)).isFalse();
        assertThat(jdkVerify(key, algorithm, DATA, second)).isFalse();
    }

    @ParameterizedTest
    @MethodSource("keyTypes")
    public void signsEmptyAndLargeMessages(KeyType type) throws Exception {
        SigningKey key = key(type);
        SignatureAlgorithm algorithm = type.defaultSignatureAlgorithm();
        byte[] large = new byte[1 << 20];
        large[large.length - 1] = 1;

        assertThat(jdkVerify(key, algorithm, new byte[0], key.sign(algorithm, new byte[0]))).isTrue();
        assertThat(jdkVerify(key, algorithm, large, key.sign(algorithm, large))).isTrue();
    }

    @ParameterizedTest
    @MethodSource("keyTypes")
    public void matchesItsOwnPublicKeyOnly(KeyType type) throws Exception {
        SigningKey key = key(type);

        assertThat(SigningKeys.matches(key, key.publicKey())).isTrue();
        assertThat(SigningKeys.matches(key, KeyPairs.generate(type).getPublic())).isFalse();
        KeyType otherFamily = type.family() == KeyType.Family.EC ? KeyType.RSA_2048 : KeyType.EC_P256;
        assertThat(SigningKeys.matches(key, KeyPairs.generate(otherFamily).getPublic())).isFalse();
    }

    @ParameterizedTest
    @MethodSource("keyTypes")
    public void toStringAndIdCarryNoPrivateKeyMaterial(KeyType type) throws Exception {
        SigningKey key = key(type);
        String text = key.toString() + "\n" + key.id();
        Optional<PrivateKey> privateKey = privateKeyOf(key);

        assertThat(text).doesNotContain("PRIVATE KEY");
        privateKey.map(PrivateKey::getEncoded).ifPresent(pkcs8 -> assertThat(text)
                .doesNotContain(Base64.getEncoder().encodeToString(pkcs8))
                .doesNotContain(tail(Base64.getEncoder().encodeToString(pkcs8), 40))
                .doesNotContainIgnoringCase(HexFormat.of().formatHex(pkcs8)));
        privateKey.map(SigningKeyContract::secretScalar).ifPresent(secret -> assertThat(text)
                .doesNotContain(secret.toString())
                .doesNotContainIgnoringCase(secret.toString(16)));
    }

    @Test
    public void rejectsNullArguments() throws Exception {
        SigningKey key = key(concurrencyKeyType());

        assertThatThrownBy(() -> key.sign(null, DATA)).isInstanceOf(NullPointerException.class);
        assertThatThrownBy(() -> key.sign(concurrencyKeyType().defaultSignatureAlgorithm(), null))
                .isInstanceOf(NullPointerException.class);
    }

    @Test
    @Timeout(value = 120, unit = TimeUnit.SECONDS)
    public void signsConcurrently() throws Exception {
        SigningKey key = key(concurrencyKeyType());
        SignatureAlgorithm algorithm = concurrencyKeyType().defaultSignatureAlgorithm();
        int threads = 8;
        int perThread = 200;
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        CountDownLatch start = new CountDownLatch(1);
        try {
            List<Future<List<byte[][]>>> results = new ArrayList<>();
            for (int t = 0; t < threads; t++) {
                int thread = t;
                Callable<List<byte[][]>> task = () -> {
                    start.await();
                    List<byte[][]> signed = new ArrayList<>(perThread);
                    for (int i = 0; i < perThread; i++) {
                        byte[] data = ("thread " + thread + " message " + i).getBytes(StandardCharsets.UTF_8);
                        signed.add(new byte[][] {data, key.sign(algorithm, data)});
                    }
                    return signed;
                };
                results.add(pool.submit(task));
            }
            start.countDown();
            Signature verifier = Signature.getInstance(algorithm.jcaName());
            int verified = 0;
            for (Future<List<byte[][]>> result : results) {
                for (byte[][] pair : result.get(100, TimeUnit.SECONDS)) {
                    verifier.initVerify(key.publicKey());
                    verifier.update(pair[0]);
                    assertThat(verifier.verify(pair[1])).as("signature over \"%s\"",
                            new String(pair[0], StandardCharsets.UTF_8)).isTrue();
                    verified++;
                }
            }
            assertThat(verified).isEqualTo(threads * perThread);
        } finally {
            pool.shutdownNow();
        }
    }

    private static boolean jdkVerify(SigningKey key, SignatureAlgorithm algorithm, byte[] data, byte[] signature)
            throws GeneralSecurityException {
        Signature verifier = Signature.getInstance(algorithm.jcaName());
        verifier.initVerify(key.publicKey());
        verifier.update(data);
        try {
            return verifier.verify(signature);
        } catch (java.security.SignatureException e) {
            return false;
        }
    }

    private static String tail(String s, int n) {
        return s.substring(Math.max(0, s.length() - n));
    }

    private static BigInteger secretScalar(PrivateKey key) {
        if (key instanceof ECPrivateKey) {
            return ((ECPrivateKey) key).getS();
        }
        if (key instanceof RSAPrivateKey) {
            return ((RSAPrivateKey) key).getPrivateExponent();
        }
        return null;
    }
}
