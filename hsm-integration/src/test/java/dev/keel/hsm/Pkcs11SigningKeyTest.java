package dev.keel.hsm;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.keel.identity.KeyType;
import dev.keel.identity.SignatureAlgorithm;
import dev.keel.identity.SigningException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.AuthProvider;
import java.security.KeyFactory;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.Provider;
import java.security.Security;
import java.security.Signature;
import java.security.spec.ECPrivateKeySpec;
import java.security.spec.PKCS8EncodedKeySpec;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Custody properties the contract cannot see: the key stays in the token, sessions recover, outages refuse. */
class Pkcs11SigningKeyTest {

    private static final byte[] DATA = "tbs".getBytes(StandardCharsets.UTF_8);

    @TempDir
    Path tmp;

    /** A second SunPKCS11 view of the test token, as another tool in this process would have. */
    private static Provider outsideView() throws Exception {
        SoftHsm.pinFile();
        return Security.getProvider("SunPKCS11").configure("--name = outside-" + UUID.randomUUID() + "\nlibrary = "
                + SoftHsm.MODULE + "\nslotListIndex = 0\n");
    }

    @Test
    void generatedKeysAreSensitiveNonExtractableTokenObjects() throws Exception {
        String label = "custody-" + UUID.randomUUID();
        Pkcs11SigningKey.generate(SoftHsm.uri(label), KeyType.EC_P256);

        // Read back through an independent provider: what the token says, not what we asked for.
        KeyStore store = KeyStore.getInstance("PKCS11", outsideView());
        store.load(null, SoftHsm.PIN.toCharArray());
        PrivateKey key = (PrivateKey) store.getKey(label, null);

        // SunPKCS11 reads CKA_TOKEN, CKA_SENSITIVE and CKA_EXTRACTABLE from the object for toString().
        assertThat(key.toString()).contains("token object", "sensitive", "unextractable");
        assertThat(key.getEncoded()).isNull();
        assertThatThrownBy(() -> KeyFactory.getInstance("EC").getKeySpec(key, ECPrivateKeySpec.class))
                .isInstanceOf(java.security.GeneralSecurityException.class);
        assertThatThrownBy(() -> KeyFactory.getInstance("EC").getKeySpec(key, PKCS8EncodedKeySpec.class))
                .isInstanceOf(java.security.GeneralSecurityException.class);
    }

    @Test
    void generateRefusesToReplaceAnExistingObjectAndOpenFindsIt() throws Exception {
        Pkcs11Uri uri = SoftHsm.uri("existing-" + UUID.randomUUID());
        Pkcs11SigningKey first = Pkcs11SigningKey.generate(uri, KeyType.EC_P384);

        assertThatThrownBy(() -> Pkcs11SigningKey.generate(uri, KeyType.EC_P256))
                .hasMessageContaining("refusing to replace");
        assertThat(Pkcs11SigningKey.open(uri).publicKey()).isEqualTo(first.publicKey());
        assertThat(Pkcs11SigningKey.openOrGenerate(uri, KeyType.EC_P256).publicKey()).isEqualTo(first.publicKey());
        assertThatThrownBy(() -> Pkcs11SigningKey.open(SoftHsm.uri("missing-" + UUID.randomUUID())))
                .hasMessageContaining("no private key labelled missing-");
    }

    @Test
    void signingRecoversWhenTheTokenLogsOut() throws Exception {
        Pkcs11SigningKey key = Pkcs11SigningKey.generate(SoftHsm.uri("relogin-" + UUID.randomUUID()), KeyType.EC_P256);
        assertThat(verify(key, key.sign(SignatureAlgorithm.ECDSA_SHA256, DATA))).isTrue();

        // Logging out is per application in PKCS#11: every session of this process loses the login.
        Provider outside = outsideView();
        KeyStore.getInstance("PKCS11", outside).load(null, SoftHsm.PIN.toCharArray());
        ((AuthProvider) outside).logout();

        assertThat(verify(key, key.sign(SignatureAlgorithm.ECDSA_SHA256, DATA))).isTrue();
    }

    @Test
    void anUnreachableTokenRefusesAsUnavailableWithoutThePin() throws Exception {
        Path pin = tmp.resolve("pin");
        Files.writeString(pin, SoftHsm.PIN);
        Pkcs11Uri uri = Pkcs11Uri.parse(SoftHsm.uri("outage-" + UUID.randomUUID()).toString()
                .replace("pin-source=file:" + SoftHsm.pinFile().toAbsolutePath(), "pin-source=file:" + pin));
        Pkcs11SigningKey key = Pkcs11SigningKey.generate(uri, KeyType.EC_P256);

        Files.delete(pin); // the token cannot be logged in again
        Provider outside = outsideView();
        KeyStore.getInstance("PKCS11", outside).load(null, SoftHsm.PIN.toCharArray());
        ((AuthProvider) outside).logout();

        assertThatThrownBy(() -> key.sign(SignatureAlgorithm.ECDSA_SHA256, DATA))
                .isInstanceOfSatisfying(SigningException.class, e -> assertThat(e.unavailable()).isTrue())
                .hasMessageContaining("token unavailable")
                .hasMessageNotContaining(SoftHsm.PIN);
        // restore the login for the other tests in this JVM
        KeyStore.getInstance("PKCS11", outside).load(null, SoftHsm.PIN.toCharArray());
    }

    @Test
    void aWrongPinIsReportedWithoutThePin() throws Exception {
        Path pin = tmp.resolve("wrong.pin");
        Files.writeString(pin, "not-the-pin-123\n");
        Provider outside = outsideView();
        KeyStore.getInstance("PKCS11", outside).load(null, SoftHsm.PIN.toCharArray());
        ((AuthProvider) outside).logout(); // so that the next login really checks the PIN
        try {
            assertThatThrownBy(() -> Pkcs11SigningKey.open(Pkcs11Uri.parse("pkcs11:token=" + SoftHsm.TOKEN
                    + ";object=x?module-path=" + SoftHsm.MODULE + "&pin-source=file:" + pin)))
                    .isInstanceOf(java.io.IOException.class)
                    .hasMessageContaining("wrong PIN from file:" + pin)
                    .hasMessageNotContaining("not-the-pin");
        } finally {
            KeyStore.getInstance("PKCS11", outside).load(null, SoftHsm.PIN.toCharArray());
        }
    }

    @Test
    void missingModuleIsAClearError() {
        assertThatThrownBy(() -> Pkcs11SigningKey.open(Pkcs11Uri.parse(
                "pkcs11:token=t;object=k?module-path=/nonexistent/libpkcs11.so&pin-source=env:KEEL_HSM_PIN")))
                .isInstanceOf(java.io.IOException.class)
                .hasMessageContaining("/nonexistent/libpkcs11.so");
    }

    /**
     * Concurrent signing through SunPKCS11's own session pool against the same work serialized on one
     * lock. Prints the figures; the figures go to BENCHMARKS.md, not into an assertion (the machine is shared).
     */
    @Test
    void measuresPooledSessionsAgainstSerializedAccess() throws Exception {
        Pkcs11SigningKey key = Pkcs11SigningKey.generate(SoftHsm.uri("measure-" + UUID.randomUUID()), KeyType.EC_P256);
        int threads = 4;
        int perThread = 300;
        for (int warm = 0; warm < 200; warm++) {
            key.sign(SignatureAlgorithm.ECDSA_SHA256, DATA);
        }
        double pooled = rate(key, threads, perThread, null);
        double serialized = rate(key, threads, perThread, new Object());
        double single = rate(key, 1, threads * perThread, null);
        System.out.printf("PKCS#11 (SoftHSM2) ECDSA P-256 signatures/s: 1 thread %.0f, %d threads pooled sessions %.0f,"
                + " %d threads serialized %.0f (%d cores)%n", single, threads, pooled, threads, serialized,
                Runtime.getRuntime().availableProcessors());
        assertThat(pooled).isPositive();
    }

    private static double rate(Pkcs11SigningKey key, int threads, int perThread, Object lock) throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        try {
            long start = System.nanoTime();
            List<Future<?>> futures = new ArrayList<>();
            for (int t = 0; t < threads; t++) {
                futures.add(pool.submit(() -> {
                    for (int i = 0; i < perThread; i++) {
                        if (lock == null) {
                            key.sign(SignatureAlgorithm.ECDSA_SHA256, DATA);
                        } else {
                            synchronized (lock) {
                                key.sign(SignatureAlgorithm.ECDSA_SHA256, DATA);
                            }
                        }
                    }
                    return null;
                }));
            }
            for (Future<?> f : futures) {
                f.get(120, TimeUnit.SECONDS);
            }
            return threads * perThread / ((System.nanoTime() - start) / 1e9);
        } finally {
            pool.shutdownNow();
        }
    }

    private static boolean verify(Pkcs11SigningKey key, byte[] signature) throws Exception {
        Signature verifier = Signature.getInstance("SHA256withECDSA");
        verifier.initVerify(key.publicKey());
        verifier.update(DATA);
        return verifier.verify(signature);
    }
}
