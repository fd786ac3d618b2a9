package dev.keel.testing;

import dev.keel.identity.KeyType;
import dev.keel.identity.Pem;
import java.io.IOException;
import java.security.KeyPair;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import org.bouncycastle.asn1.pkcs.PKCSObjectIdentifiers;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.ExtensionsGenerator;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.pkcs.PKCS10CertificationRequest;
import org.bouncycastle.pkcs.PKCS10CertificationRequestBuilder;
import org.bouncycastle.pkcs.jcajce.JcaPKCS10CertificationRequestBuilder;

/**
 * A PKCS#10 certificate signing request made at test time, well-formed or broken on request, with
 * the key pair behind it. Immutable and thread-safe.
 *
 * <pre>{@code
 * TestCsr csr = TestCsr.builder().uriSan("spiffe://cluster.local/ns/a/sa/x").build();
 * TestCsr evil = TestCsr.builder().uriSan("spiffe://cluster.local/ns/a/sa/x").requestCa().build();
 * }</pre>
 */
public final class TestCsr {

    private final byte[] der;
    private final KeyPair keyPair;

    private TestCsr(byte[] der, KeyPair keyPair) {
        this.der = der;
        this.keyPair = keyPair;
    }

    /** A builder: EC P-256 key, empty subject, no SANs, a valid signature. */
    public static Builder builder() {
        return new Builder();
    }

    /** The DER encoding, as sent in Istio's {@code IstioCertificateRequest.csr} after PEM decoding. */
    public byte[] der() {
        return der.clone();
    }

    /** {@code CERTIFICATE REQUEST} PEM, as Istio's {@code csr} field carries it. */
    public String pem() {
        return Pem.encodeCertificateRequest(der);
    }

    /** The request parsed by BouncyCastle. */
    public PKCS10CertificationRequest request() {
        try {
            return new PKCS10CertificationRequest(der);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    public KeyPair keyPair() {
        return keyPair;
    }

    @Override
    public String toString() {
        return "TestCsr{" + der.length + " bytes}";
    }

    /** Configures a {@link TestCsr}. Not thread-safe. */
    public static final class Builder {

        private KeyType keyType = KeyType.EC_P256;
        private KeyPair keyPair;
        private boolean weakKey;
        private String subject = "";
        private final List<GeneralName> sans = new ArrayList<>();
        private boolean requestCa;
        private boolean brokenSignature;

        Builder() {
        }

        public Builder keyType(KeyType keyType) {
            this.keyType = Objects.requireNonNull(keyType, "keyType");
            return this;
        }

        /** Signs with this key pair instead of a fresh one. */
        public Builder keyPair(KeyPair keyPair) {
            this.keyPair = Objects.requireNonNull(keyPair, "keyPair");
            return this;
        }

        /** Broken: an RSA-1024 key. */
        public Builder weakRsa1024Key() {
            this.weakKey = true;
            return this;
        }

        /** A subject DN such as {@code "O=cluster.local"}; empty by default, as Istio's agent sends. */
        public Builder subject(String dn) {
            this.subject = Objects.requireNonNull(dn, "dn");
            return this;
        }

        /** Adds a URI SAN; call twice for the broken two-URI variant. */
        public Builder uriSan(String uri) {
            sans.add(new GeneralName(GeneralName.uniformResourceIdentifier, Objects.requireNonNull(uri, "uri")));
            return this;
        }

        /** Adds a DNS SAN. */
        public Builder dnsSan(String name) {
            sans.add(new GeneralName(GeneralName.dNSName, Objects.requireNonNull(name, "name")));
            return this;
        }

        /** Broken: asks for basicConstraints CA:true in the extension request. */
        public Builder requestCa() {
            this.requestCa = true;
            return this;
        }

        /** Broken: a byte of the signature flipped, so proof of possession fails. */
        public Builder brokenSignature() {
            this.brokenSignature = true;
            return this;
        }

        public TestCsr build() {
            KeyPair pair = keyPair != null ? keyPair : weakKey ? Certs.weakRsa1024() : Certs.generate(keyType);
            try {
                PKCS10CertificationRequestBuilder builder =
                        new JcaPKCS10CertificationRequestBuilder(new X500Name(subject), pair.getPublic());
                ExtensionsGenerator extensions = new ExtensionsGenerator();
                if (!sans.isEmpty()) {
                    extensions.addExtension(Extension.subjectAlternativeName, subject.isEmpty(),
                            new GeneralNames(sans.toArray(new GeneralName[0])));
                }
                if (requestCa) {
                    extensions.addExtension(Extension.basicConstraints, true, new BasicConstraints(true));
                }
                if (!extensions.isEmpty()) {
                    builder.addAttribute(PKCSObjectIdentifiers.pkcs_9_at_extensionRequest, extensions.generate());
                }
                byte[] der = builder.build(Certs.signer(pair.getPrivate(), Certs.signatureAlgorithm(pair.getPublic())))
                        .getEncoded();
                return new TestCsr(brokenSignature ? Certs.flipLastByte(der) : der, pair);
            } catch (IOException e) {
                throw new IllegalStateException("cannot build the test CSR", e);
            }
        }
    }
}
