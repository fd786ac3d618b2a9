package dev.keel.benchmarks;

import dev.keel.identity.KeyPairs;
import dev.keel.identity.KeyType;
import dev.keel.identity.SignatureAlgorithm;
import dev.keel.identity.SignatureVerifier;
import dev.keel.identity.SigningException;
import dev.keel.identity.SoftwareSigningKey;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.KeyPair;
import java.security.PublicKey;
import java.security.Signature;
import java.security.spec.X509EncodedKeySpec;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Threads;
import org.openjdk.jmh.annotations.Warmup;

/**
 * ECDSA P-256 with SHA-256 over a 512-byte message (about a leaf's TBSCertificate), one thread, by
 * implementation: {@code keel} is what Keel uses (BoringSSL when it loads, else BouncyCastle) ({@link SoftwareSigningKey} and
 * {@link SignatureVerifier}, BouncyCastle's low-level code), {@code jdk} the JDK 17 SunEC provider,
 * {@code conscrypt} BoringSSL through Conscrypt's JCA provider. {@link #verifyFreshKey} also decodes
 * the public key from its SubjectPublicKeyInfo, as a CA does for every CSR.
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Threads(1)
@Fork(value = 1, jvmArgsAppend = {"-Xms1g", "-Xmx1g"})
@Warmup(iterations = 2, time = 2)
@Measurement(iterations = 3, time = 2)
@State(Scope.Thread)
public class EcdsaProviderBenchmark {

    /** Conscrypt's JCA provider used directly, as any Java program could. */
    static final java.security.Provider CONSCRYPT = org.conscrypt.Conscrypt.newProvider();

    @Param({"keel", "jdk", "conscrypt"})
    public String provider;

    private byte[] message;
    private byte[] signature;
    private byte[] spki;
    private SoftwareSigningKey keelKey;
    private SignatureVerifier keelVerifier;
    private Signature signer;
    private Signature verifier;
    private KeyFactory keyFactory;

    @Setup(Level.Trial)
    public void setUp() throws GeneralSecurityException, SigningException {
        message = new byte[512];
        new Random(42).nextBytes(message);
        KeyPair pair = KeyPairs.generate(KeyType.EC_P256);
        spki = pair.getPublic().getEncoded();
        keelKey = SoftwareSigningKey.of("bench", pair);
        keelVerifier = SignatureVerifier.of(pair.getPublic());
        switch (provider) {
            case "keel" -> keyFactory = KeyFactory.getInstance("EC");
            case "jdk" -> {
                keyFactory = KeyFactory.getInstance("EC");
                signer = Signature.getInstance("SHA256withECDSA", "SunEC");
                signer.initSign(pair.getPrivate());
                verifier = Signature.getInstance("SHA256withECDSA", "SunEC");
                verifier.initVerify(pair.getPublic());
            }
            case "conscrypt" -> {
                keyFactory = KeyFactory.getInstance("EC", CONSCRYPT);
                signer = Signature.getInstance("SHA256withECDSA", CONSCRYPT);
                signer.initSign(keyFactory.generatePrivate(new java.security.spec.PKCS8EncodedKeySpec(pair.getPrivate().getEncoded())));
                verifier = Signature.getInstance("SHA256withECDSA", CONSCRYPT);
                verifier.initVerify(keyFactory.generatePublic(new java.security.spec.X509EncodedKeySpec(pair.getPublic().getEncoded())));
            }
            default -> throw new IllegalArgumentException("provider: " + provider);
        }
        signature = sign();
        if (!verify() || !verifyFreshKey()) {
            throw new IllegalStateException(provider + ": signature does not verify");
        }
        // Every implementation must accept the others' signatures.
        if (!keelVerifier.verify(SignatureAlgorithm.ECDSA_SHA256, message, signature)) {
            throw new IllegalStateException(provider + ": signature does not verify under Keel's verifier");
        }
    }

    @Benchmark
    public byte[] sign() throws GeneralSecurityException, SigningException {
        if (signer == null) {
            return keelKey.sign(SignatureAlgorithm.ECDSA_SHA256, message);
        }
        signer.update(message);
        return signer.sign();
    }

    @Benchmark
    public boolean verify() throws GeneralSecurityException {
        if (verifier == null) {
            return keelVerifier.verify(SignatureAlgorithm.ECDSA_SHA256, message, signature);
        }
        verifier.update(message);
        return verifier.verify(signature);
    }

    @Benchmark
    public boolean verifyFreshKey() throws GeneralSecurityException {
        PublicKey key = keyFactory.generatePublic(new X509EncodedKeySpec(spki));
        if (verifier == null) {
            return SignatureVerifier.of(key).verify(SignatureAlgorithm.ECDSA_SHA256, message, signature);
        }
        Signature fresh = Signature.getInstance("SHA256withECDSA", verifier.getProvider());
        fresh.initVerify(key);
        fresh.update(message);
        return fresh.verify(signature);
    }
}
