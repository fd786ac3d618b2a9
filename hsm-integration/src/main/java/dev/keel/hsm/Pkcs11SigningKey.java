package dev.keel.hsm;

import dev.keel.identity.KeyType;
import dev.keel.identity.SignatureAlgorithm;
import dev.keel.identity.SigningException;
import dev.keel.identity.SigningKey;
import dev.keel.identity.SigningKeys;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.math.BigInteger;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.ProviderException;
import java.security.PublicKey;
import java.security.Signature;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.Date;
import java.util.Objects;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.AlgorithmIdentifier;
import org.bouncycastle.asn1.x509.SubjectPublicKeyInfo;
import org.bouncycastle.cert.X509v3CertificateBuilder;
import org.bouncycastle.operator.ContentSigner;
import org.bouncycastle.operator.DefaultSignatureAlgorithmIdentifierFinder;

/**
 * A {@link SigningKey} whose private key lives in a PKCS#11 token and is used through the JDK's
 * SunPKCS11 provider: the key never exists in this process, only a handle to it. Named by an RFC 7512
 * URI ({@link Pkcs11Uri}). Keys made by {@link #generate} are created inside the token as
 * {@code CKA_TOKEN}, {@code CKA_PRIVATE}, {@code CKA_SENSITIVE} and not {@code CKA_EXTRACTABLE}.
 *
 * <p>The public key is read from the certificate object stored next to the key under the same
 * label (SunPKCS11's key store only lists private keys that have one); {@link #generate} stores a
 * self-signed holder certificate for that purpose.
 *
 * <p>Thread-safe: concurrent signatures run in parallel on SunPKCS11's session pool. When the token
 * loses the session or the login (a PKCS#11 error while signing), the key logs in again and retries
 * once; if that fails the signature is refused with {@link SigningException#unavailable()} set. There
 * is no fallback to any other key.
 */
public final class Pkcs11SigningKey implements SigningKey {

    private final Pkcs11Uri uri;
    private final Pkcs11Token token;
    private final PublicKey publicKey;
    private final KeyType keyType;
    private volatile Handle handle;

    private record Handle(PrivateKey key, int generation) {
    }

    private Pkcs11SigningKey(Pkcs11Uri uri, Pkcs11Token token, PublicKey publicKey, PrivateKey privateKey, int generation) {
        this.uri = uri;
        this.token = token;
        this.publicKey = publicKey;
        this.keyType = KeyType.of(publicKey);
        this.handle = new Handle(privateKey, generation);
    }

    /**
     * Opens the existing key {@code uri} names.
     *
     * @throws IOException if the module, token or object is not there or login fails; the message names
     *     the URI's key part and the PIN source, never the PIN
     */
    public static Pkcs11SigningKey open(Pkcs11Uri uri) throws IOException {
        Objects.requireNonNull(uri, "uri");
        Pkcs11Token token = Pkcs11Token.open(uri);
        int generation = token.generation();
        KeyStore.PrivateKeyEntry entry = token.entry(uri.object());
        if (entry == null) {
            throw new IOException("PKCS#11 " + uri.keyId() + ": no private key labelled " + uri.object()
                    + " with a certificate in the " + token.description());
        }
        return new Pkcs11SigningKey(uri, token, entry.getCertificate().getPublicKey(), entry.getPrivateKey(), generation);
    }

    /**
     * Generates a new key of {@code type} inside the token and labels it {@code uri.object()}.
     *
     * @throws IOException if an object with that label exists already (it is never replaced), or the
     *     token refuses
     */
    public static Pkcs11SigningKey generate(Pkcs11Uri uri, KeyType type) throws IOException {
        Objects.requireNonNull(uri, "uri");
        Objects.requireNonNull(type, "type");
        Pkcs11Token token = Pkcs11Token.open(uri);
        if (token.entry(uri.object()) != null) {
            throw new IOException("PKCS#11 " + uri.keyId() + ": the token already holds a key labelled " + uri.object()
                    + "; refusing to replace it");
        }
        KeyPair pair;
        try {
            KeyPairGenerator generator = KeyPairGenerator.getInstance(type.family() == KeyType.Family.EC ? "EC" : "RSA",
                    token.provider());
            if (type.family() == KeyType.Family.EC) {
                generator.initialize(new ECGenParameterSpec(type == KeyType.EC_P256 ? "secp256r1" : "secp384r1"));
            } else {
                generator.initialize(type.bits());
            }
            pair = generator.generateKeyPair();
        } catch (GeneralSecurityException | ProviderException e) {
            throw new IOException("PKCS#11 " + uri.keyId() + ": key generation failed (" + Pkcs11Token.rootCause(e) + ")", e);
        }
        X509Certificate holder = holderCertificate(uri, token, pair, type);
        token.label(uri.object(), pair.getPrivate(), holder);
        return open(uri);
    }

    private static final java.util.regex.Pattern SUCCESSOR = java.util.regex.Pattern.compile("(.+)-([0-9]{1,6})");
    private static final int MAX_SUCCESSOR_PROBES = 1000;

    /**
     * Generates, for a renewal, the key that succeeds {@code current} in the same token, as
     * {@link #generate} does: labelled {@code <base>-<n>}, where {@code <base>} is {@code current}'s
     * label without a trailing {@code -<n>} and {@code n} the first number above {@code current}'s
     * (2 for a label without one) that no object holds yet. A label left by an abandoned renewal (a
     * crash before the CA committed to the key) is skipped, never reused or replaced; the current key
     * stays in the token.
     *
     * @throws IOException if the token refuses, or a thousand successive labels are taken
     */
    public static Pkcs11SigningKey generateSuccessor(Pkcs11Uri current, KeyType type) throws IOException {
        Objects.requireNonNull(current, "current");
        Objects.requireNonNull(type, "type");
        java.util.regex.Matcher numbered = SUCCESSOR.matcher(current.object());
        String base = numbered.matches() ? numbered.group(1) : current.object();
        int n = numbered.matches() ? Integer.parseInt(numbered.group(2)) + 1 : 2;
        Pkcs11Token token = Pkcs11Token.open(current);
        for (int probe = 0; probe < MAX_SUCCESSOR_PROBES; probe++, n++) {
            if (token.entry(base + "-" + n) == null) {
                return generate(current.withObject(base + "-" + n), type);
            }
        }
        throw new IOException("PKCS#11 " + current.keyId() + ": no free label after " + base + "-" + n);
    }

    /** Opens the key if the token holds one with that label, else generates one of {@code type}. */
    public static Pkcs11SigningKey openOrGenerate(Pkcs11Uri uri, KeyType type) throws IOException {
        Pkcs11Token token = Pkcs11Token.open(uri);
        return token.entry(uri.object()) != null ? open(uri) : generate(uri, type);
    }

    /** The PKCS#11 URI this key was opened with (module path and PIN source, never a PIN). */
    public Pkcs11Uri uri() {
        return uri;
    }

    /** The scheme and path attributes of the URI: {@code pkcs11:token=…;object=…}. */
    @Override
    public String id() {
        return uri.keyId();
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
        Handle current = handle;
        try {
            return sign(current.key(), algorithm, data);
        } catch (GeneralSecurityException | ProviderException first) {
            Handle recovered;
            try {
                recovered = recover(current);
            } catch (IOException e) {
                throw new SigningException("key " + id() + ": token unavailable: " + e.getMessage(), true, e);
            }
            try {
                return sign(recovered.key(), algorithm, data);
            } catch (GeneralSecurityException | ProviderException second) {
                throw new SigningException("key " + id() + ": " + algorithm + " signing failed in the token ("
                        + Pkcs11Token.rootCause(second) + ")", true, second);
            }
        }
    }

    private Handle recover(Handle failed) throws IOException {
        synchronized (this) {
            if (handle != failed) {
                return handle; // another thread already recovered
            }
            token.relogin(failed.generation());
            int generation = token.generation();
            KeyStore.PrivateKeyEntry entry = token.entry(uri.object());
            if (entry == null) {
                throw new IOException("the " + token.description() + " no longer holds " + uri.object());
            }
            if (!entry.getCertificate().getPublicKey().equals(publicKey)) {
                throw new IOException("object " + uri.object() + " now holds a different key; refusing to use it");
            }
            handle = new Handle(entry.getPrivateKey(), generation);
            return handle;
        }
    }

    private Signature signature(SignatureAlgorithm algorithm) throws GeneralSecurityException {
        return Signature.getInstance(algorithm.jcaName(), token.provider());
    }

    private byte[] sign(PrivateKey key, SignatureAlgorithm algorithm, byte[] data) throws GeneralSecurityException {
        Signature signature = signature(algorithm);
        signature.initSign(key);
        signature.update(data);
        return signature.sign(); // SunPKCS11's SHAxxxwithECDSA returns DER ECDSA-Sig-Value
    }

    /** A self-signed certificate over the key's public half, stored under its label so it can be found again. */
    private static X509Certificate holderCertificate(Pkcs11Uri uri, Pkcs11Token token, KeyPair pair, KeyType type)
            throws IOException {
        SignatureAlgorithm algorithm = type.defaultSignatureAlgorithm();
        Instant now = Instant.now().truncatedTo(ChronoUnit.SECONDS);
        X500Name name = new org.bouncycastle.asn1.x500.X500NameBuilder()
                .addRDN(org.bouncycastle.asn1.x500.style.BCStyle.CN, "keel key holder")
                .addRDN(org.bouncycastle.asn1.x500.style.BCStyle.OU,
                        uri.object().length() > 64 ? uri.object().substring(0, 64) : uri.object())
                .build();
        X509v3CertificateBuilder builder = new X509v3CertificateBuilder(name, BigInteger.valueOf(now.getEpochSecond()),
                Date.from(now), Date.from(now.plus(3650, ChronoUnit.DAYS)), name,
                SubjectPublicKeyInfo.getInstance(pair.getPublic().getEncoded()));
        AlgorithmIdentifier sigAlg = new DefaultSignatureAlgorithmIdentifierFinder().find(algorithm.jcaName());
        ByteArrayOutputStream tbs = new ByteArrayOutputStream();
        ContentSigner signer = new ContentSigner() {
            @Override
            public AlgorithmIdentifier getAlgorithmIdentifier() {
                return sigAlg;
            }

            @Override
            public java.io.OutputStream getOutputStream() {
                return tbs;
            }

            @Override
            public byte[] getSignature() {
                try {
                    Signature signature = Signature.getInstance(algorithm.jcaName(), token.provider());
                    signature.initSign(pair.getPrivate());
                    signature.update(tbs.toByteArray());
                    return signature.sign();
                } catch (GeneralSecurityException e) {
                    throw new ProviderException(e);
                }
            }
        };
        try {
            byte[] der = builder.build(signer).getEncoded();
            return (X509Certificate) CertificateFactory.getInstance("X.509").generateCertificate(new ByteArrayInputStream(der));
        } catch (GeneralSecurityException | ProviderException e) {
            throw new IOException("PKCS#11 " + uri.keyId() + ": cannot sign the key's holder certificate ("
                    + Pkcs11Token.rootCause(e) + ")", e);
        }
    }

    @Override
    public String toString() {
        return "Pkcs11SigningKey{id=" + id() + ", type=" + keyType + "}";
    }
}
