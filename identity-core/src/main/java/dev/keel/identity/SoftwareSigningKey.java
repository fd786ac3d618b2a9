package dev.keel.identity;

import dev.keel.identity.internal.FastEcdsa;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.Signature;
import java.security.interfaces.ECPrivateKey;
import java.security.interfaces.RSAPrivateKey;
import java.util.Objects;

/**
 * A {@link SigningKey} whose private key is in this process's memory: the file backend (dev and
 * tests) and the node agent's workload keys. ECDSA goes through BouncyCastle's low-level signer,
 * several times faster than the JDK 17 EC provider; RSA through the JDK.
 *
 * <p>Thread-safe. {@link #toString()} never shows key material, and there is no accessor for the
 * private key: whoever needs the bytes (to write the file) keeps the {@link KeyPair} they built this from.
 */
public final class SoftwareSigningKey implements SigningKey {

    private final String id;
    private final PublicKey publicKey;
    private final KeyType keyType;
    private final PrivateKey privateKey;
    private final FastEcdsa ecdsa;

    private SoftwareSigningKey(String id, KeyPair pair) {
        this.id = id;
        this.publicKey = pair.getPublic();
        this.keyType = KeyType.of(publicKey);
        this.privateKey = pair.getPrivate();
        this.ecdsa = privateKey instanceof ECPrivateKey ? FastEcdsa.forKey((ECPrivateKey) privateKey) : null;
    }

    /**
     * Wraps {@code pair} after checking that the private key is of the accepted types and matches
     * the public key (a trial signature verified with the JDK).
     *
     * @throws IllegalArgumentException if the halves do not match or the key is weak
     */
    public static SoftwareSigningKey of(String id, KeyPair pair) {
        Objects.requireNonNull(id, "id");
        Objects.requireNonNull(pair, "pair");
        if (!(pair.getPrivate() instanceof ECPrivateKey) && !(pair.getPrivate() instanceof RSAPrivateKey)) {
            throw new WeakKeyException("private key algorithm " + pair.getPrivate().getAlgorithm()
                    + " (expected: EC or RSA)");
        }
        SoftwareSigningKey key = new SoftwareSigningKey(id, pair);
        if (!key.matches(pair.getPublic())) {
            throw new IllegalArgumentException("key " + id + ": the private key does not match the public key");
        }
        return key;
    }

    /** A fresh key of {@code type}. */
    public static SoftwareSigningKey generate(String id, KeyType type) {
        return of(id, KeyPairs.generate(type));
    }

    /** True when a signature made by this key verifies under {@code candidate}. */
    public boolean matches(PublicKey candidate) {
        return SigningKeys.matches(this, candidate);
    }

    @Override
    public String id() {
        return id;
    }

    @Override
    public PublicKey publicKey() {
        return publicKey;
    }

    @Override
    public KeyType keyType() {
        return keyType;
    }

    @Override
    public byte[] sign(SignatureAlgorithm algorithm, byte[] data) throws SigningException {
        SigningKeys.checkSignArguments(keyType, algorithm, data);
        if (ecdsa != null) {
            return ecdsa.sign(algorithm.jcaName(), algorithm.digestName(), data);
        }
        try {
            Signature signature = Signature.getInstance(algorithm.jcaName());
            signature.initSign(privateKey);
            signature.update(data);
            return signature.sign();
        } catch (GeneralSecurityException e) {
            throw new SigningException("key " + id + ": " + algorithm + " signing failed: " + e.getMessage(), false, e);
        }
    }

    @Override
    public String toString() {
        return "SoftwareSigningKey{id=" + id + ", type=" + keyType + "}";
    }
}
