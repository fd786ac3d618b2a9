package dev.keel.testing;

import dev.keel.identity.Pem;
import dev.keel.identity.SigningKey;
import dev.keel.identity.SoftwareSigningKey;
import dev.keel.identity.X509Svid;
import java.security.KeyPair;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.cert.X509Certificate;
import java.util.List;

/**
 * A leaf certificate issued by {@link TestPki}, with its key pair and issuer. Immutable and
 * thread-safe. It holds a private key in memory, as test fixtures may; {@link #toString()} shows
 * none of it.
 */
public final class TestLeaf {

    private final X509Certificate certificate;
    private final X509Certificate issuer;
    private final KeyPair keyPair;
    private final SigningKey issuerSigningKey;

    TestLeaf(X509Certificate certificate, X509Certificate issuer, KeyPair keyPair, SigningKey issuerSigningKey) {
        this.certificate = certificate;
        this.issuer = issuer;
        this.keyPair = keyPair;
        this.issuerSigningKey = issuerSigningKey;
    }

    public X509Certificate certificate() {
        return certificate;
    }

    /** The leaf then its issuing intermediate, without the root: what a workload presents. */
    public List<X509Certificate> chain() {
        return List.of(certificate, issuer);
    }

    /** The intermediate that signed the leaf (the impostor one for {@code signedByUntrustedRoot()}). */
    public X509Certificate issuer() {
        return issuer;
    }

    /** The issuer's key, for CA tests that sign more with it. */
    public SigningKey issuerSigningKey() {
        return issuerSigningKey;
    }

    public KeyPair keyPair() {
        return keyPair;
    }

    public PublicKey publicKey() {
        return keyPair.getPublic();
    }

    public PrivateKey privateKey() {
        return keyPair.getPrivate();
    }

    /**
     * The leaf key as a {@link SigningKey}.
     *
     * @throws dev.keel.identity.WeakKeyException for a {@code weakRsa1024Key()} leaf
     */
    public SigningKey signingKey() {
        return SoftwareSigningKey.of("test-leaf:" + certificate.getSerialNumber().toString(16), keyPair);
    }

    /**
     * The chain as an {@link X509Svid}, without any validation beyond extracting the SPIFFE ID.
     *
     * @throws IllegalArgumentException for the variants without exactly one valid URI SAN
     */
    public X509Svid svid() {
        return X509Svid.of(chain());
    }

    public String certificatePem() {
        return Pem.encodeCertificate(certificate);
    }

    /** The leaf then the intermediate, PEM: Istio's {@code cert-chain.pem} of a workload. */
    public String chainPem() {
        return Pem.encodeCertificates(chain());
    }

    /** The leaf key, PKCS#8 PEM. */
    public String privateKeyPem() {
        return Pem.encodePrivateKey(keyPair.getPrivate());
    }

    @Override
    public String toString() {
        return "TestLeaf{serial=" + certificate.getSerialNumber().toString(16) + ", notAfter="
                + certificate.getNotAfter().toInstant() + "}";
    }
}
