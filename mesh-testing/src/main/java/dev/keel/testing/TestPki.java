package dev.keel.testing;

import dev.keel.identity.Bundle;
import dev.keel.identity.BundleSource;
import dev.keel.identity.KeyType;
import dev.keel.identity.Pem;
import dev.keel.identity.SigningKey;
import dev.keel.identity.SoftwareSigningKey;
import dev.keel.identity.SpiffeId;
import dev.keel.identity.TrustDomain;
import dev.keel.identity.X509SvidVerifier;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.cert.X509Certificate;
import java.security.interfaces.RSAPublicKey;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Date;
import java.util.HexFormat;
import java.util.List;
import java.util.Objects;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.ExtendedKeyUsage;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.cert.CertIOException;
import org.bouncycastle.cert.X509v3CertificateBuilder;
import org.bouncycastle.cert.jcajce.JcaX509ExtensionUtils;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;

/**
 * A throwaway PKI for one trust domain, generated at test time: a self-signed root (URI SAN
 * {@code spiffe://<td>}, CA, keyCertSign and cRLSign), an issuing intermediate under it (pathLen 0),
 * and a fluent builder for leaf X.509-SVIDs, well-formed by default and broken on request:
 *
 * <pre>{@code
 * TestPki pki = TestPki.builder().trustDomain("cluster.local").keyType(KeyType.EC_P256).build();
 * TestLeaf good = pki.leaf("spiffe://cluster.local/ns/a/sa/x").ttl(Duration.ofHours(1)).issue();
 * TestLeaf expired = pki.leaf("spiffe://cluster.local/ns/a/sa/x").expired().issue();
 * X509Svid svid = pki.verifier().verify(good.chain());
 * }</pre>
 *
 * <p>Validity is short and relative to the builder's clock (a {@link FakeClock} works): the CAs are
 * valid from an hour before "now" for {@code caTtl} (24 hours unless set), leaves from five minutes
 * before "now" for their TTL (one hour unless set). Every certificate has a random 128-bit serial.
 * Certificates are signed with the JDK's providers through BouncyCastle's PKIX builders, independently
 * of identity-core's signing code, so a bug there cannot hide itself here.
 *
 * <p>Immutable and thread-safe; the leaf builders it hands out are not.
 */
public final class TestPki {

    private final TrustDomain trustDomain;
    private final KeyType keyType;
    private final Clock clock;
    private final Duration caTtl;
    private final Hierarchy trusted;
    private Hierarchy untrusted;

    /** A root and an intermediate with their keys. */
    private record Hierarchy(KeyPair rootPair, X509Certificate root, KeyPair intermediatePair,
            X509Certificate intermediate, SigningKey rootKey, SigningKey intermediateKey) {
    }

    private TestPki(Builder builder) {
        this.trustDomain = builder.trustDomain;
        this.keyType = builder.keyType;
        this.clock = builder.clock;
        this.caTtl = builder.caTtl;
        String suffix = HexFormat.of().formatHex(Certs.serial().toByteArray(), 1, 5);
        this.trusted = hierarchy(Certs.generate(keyType), Certs.generate(keyType),
                new X500Name("O=Keel Test,OU=" + trustDomain.name() + ",CN=Keel Test Root " + suffix),
                new X500Name("O=Keel Test,OU=" + trustDomain.name() + ",CN=Keel Test Intermediate " + suffix));
    }

    /** A builder with the defaults: trust domain {@code cluster.local}, EC P-256, the system clock, CAs for 24 hours. */
    public static Builder builder() {
        return new Builder();
    }

    /** A PKI with the defaults. */
    public static TestPki create() {
        return builder().build();
    }

    public TrustDomain trustDomain() {
        return trustDomain;
    }

    /** The key type of the CAs and, unless a leaf builder says otherwise, of the leaves. */
    public KeyType keyType() {
        return keyType;
    }

    /** The clock "now" is read from, for certificates issued from here on. */
    public Clock clock() {
        return clock;
    }

    public X509Certificate root() {
        return trusted.root;
    }

    public X509Certificate intermediate() {
        return trusted.intermediate;
    }

    /** The intermediate then the root: what Istio calls {@code cert-chain.pem}. */
    public List<X509Certificate> caChain() {
        return List.of(trusted.intermediate, trusted.root);
    }

    public KeyPair rootKeyPair() {
        return trusted.rootPair;
    }

    public KeyPair intermediateKeyPair() {
        return trusted.intermediatePair;
    }

    /** The root's key as a {@link SigningKey}, for CA tests. */
    public SigningKey rootSigningKey() {
        return trusted.rootKey;
    }

    /** The intermediate's key as a {@link SigningKey}, for CA tests: it issues the leaves. */
    public SigningKey intermediateSigningKey() {
        return trusted.intermediateKey;
    }

    public String rootPem() {
        return Pem.encodeCertificate(trusted.root);
    }

    /** The intermediate then the root, PEM. */
    public String caChainPem() {
        return Pem.encodeCertificates(caChain());
    }

    /** The intermediate's private key, PKCS#8 PEM. */
    public String intermediateKeyPem() {
        return Pem.encodePrivateKey(trusted.intermediatePair.getPrivate());
    }

    /** The trust domain's bundle: the root as the only X.509 authority, sequence number 1. */
    public Bundle bundle() {
        return Bundle.builder(trustDomain).addX509Authority(trusted.root).sequenceNumber(1).build();
    }

    /** A verifier that trusts {@link #bundle()} only, at this PKI's clock. */
    public X509SvidVerifier verifier() {
        return X509SvidVerifier.create(BundleSource.of(bundle()), clock);
    }

    /** A leaf builder for {@code uri}, taken as given (not validated, so tests can issue bad IDs). */
    public LeafBuilder leaf(String uri) {
        return new LeafBuilder(this, Objects.requireNonNull(uri, "uri"));
    }

    public LeafBuilder leaf(SpiffeId id) {
        return leaf(Objects.requireNonNull(id, "id").toString());
    }

    /** A CSR builder with this PKI's key type and {@code uri} as its URI SAN. */
    public TestCsr.Builder csr(String uri) {
        return TestCsr.builder().keyType(keyType).uriSan(uri);
    }

    @Override
    public String toString() {
        return "TestPki{" + trustDomain + ", " + keyType + ", root=" + trusted.root.getSubjectX500Principal() + "}";
    }

    private Instant now() {
        return clock.instant().truncatedTo(ChronoUnit.SECONDS);
    }

    /** The impostor hierarchy: same names as the trusted one, other keys; created on first use. */
    private synchronized Hierarchy untrusted() {
        if (untrusted == null) {
            untrusted = hierarchy(Certs.generate(keyType), Certs.generate(keyType),
                    X500Name.getInstance(trusted.root.getSubjectX500Principal().getEncoded()),
                    X500Name.getInstance(trusted.intermediate.getSubjectX500Principal().getEncoded()));
        }
        return untrusted;
    }

    private Hierarchy hierarchy(KeyPair rootPair, KeyPair intermediatePair, X500Name rootName, X500Name intermediateName) {
        Instant now = now();
        Instant notBefore = now.minus(Duration.ofHours(1));
        GeneralNames tdSan = new GeneralNames(new GeneralName(GeneralName.uniformResourceIdentifier,
                trustDomain.spiffeId().toString()));
        try {
            JcaX509ExtensionUtils utils = new JcaX509ExtensionUtils();
            X509v3CertificateBuilder rootBuilder = new JcaX509v3CertificateBuilder(rootName, Certs.serial(),
                    Date.from(notBefore), Date.from(now.plus(caTtl).plus(Duration.ofHours(1))), rootName,
                    rootPair.getPublic())
                    .addExtension(Extension.basicConstraints, true, new BasicConstraints(true))
                    .addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.keyCertSign | KeyUsage.cRLSign))
                    .addExtension(Extension.subjectAlternativeName, false, tdSan)
                    .addExtension(Extension.subjectKeyIdentifier, false,
                            utils.createSubjectKeyIdentifier(rootPair.getPublic()));
            X509Certificate root = Certs.sign(rootBuilder, rootPair);
            X509v3CertificateBuilder intermediateBuilder = new JcaX509v3CertificateBuilder(rootName, Certs.serial(),
                    Date.from(notBefore), Date.from(now.plus(caTtl)), intermediateName, intermediatePair.getPublic())
                    .addExtension(Extension.basicConstraints, true, new BasicConstraints(0))
                    .addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.keyCertSign | KeyUsage.cRLSign))
                    .addExtension(Extension.subjectAlternativeName, false, tdSan)
                    .addExtension(Extension.subjectKeyIdentifier, false,
                            utils.createSubjectKeyIdentifier(intermediatePair.getPublic()))
                    .addExtension(Extension.authorityKeyIdentifier, false, utils.createAuthorityKeyIdentifier(root));
            X509Certificate intermediate = Certs.sign(intermediateBuilder, rootPair);
            return new Hierarchy(rootPair, root, intermediatePair, intermediate,
                    SoftwareSigningKey.of("test-pki:root", rootPair),
                    SoftwareSigningKey.of("test-pki:intermediate", intermediatePair));
        } catch (GeneralSecurityException | CertIOException e) {
            throw new IllegalStateException("cannot build the test CA", e);
        }
    }

    /** Configures a {@link TestPki}. Not thread-safe. */
    public static final class Builder {

        /** CAs live at most this long: test PKI is never long-lived. */
        public static final Duration MAX_CA_TTL = Duration.ofDays(30);

        private TrustDomain trustDomain = TrustDomain.CLUSTER_LOCAL;
        private KeyType keyType = KeyType.EC_P256;
        private Clock clock = Clock.systemUTC();
        private Duration caTtl = Duration.ofHours(24);

        Builder() {
        }

        public Builder trustDomain(String trustDomain) {
            return trustDomain(TrustDomain.parse(Objects.requireNonNull(trustDomain, "trustDomain")));
        }

        public Builder trustDomain(TrustDomain trustDomain) {
            this.trustDomain = Objects.requireNonNull(trustDomain, "trustDomain");
            return this;
        }

        public Builder keyType(KeyType keyType) {
            this.keyType = Objects.requireNonNull(keyType, "keyType");
            return this;
        }

        /** Where "now" comes from when certificates are issued; a {@link FakeClock} makes expiry testable. */
        public Builder clock(Clock clock) {
            this.clock = Objects.requireNonNull(clock, "clock");
            return this;
        }

        /** How long the intermediate is valid (the root an hour longer). */
        public Builder caTtl(Duration caTtl) {
            Objects.requireNonNull(caTtl, "caTtl");
            if (caTtl.isNegative() || caTtl.isZero() || caTtl.compareTo(MAX_CA_TTL) > 0) {
                throw new IllegalArgumentException("caTtl: " + caTtl + " (expected: > 0 and <= " + MAX_CA_TTL + ")");
            }
            this.caTtl = caTtl;
            return this;
        }

        public TestPki build() {
            return new TestPki(this);
        }
    }

    /**
     * Issues one leaf. Well-formed unless told otherwise: exactly the given URI SAN, CA:false, key
     * usage digitalSignature (plus keyEncipherment for RSA), EKU serverAuth and clientAuth, SKI and AKI,
     * signed by the intermediate. Each broken variant is one explicit call; they combine. Not
     * thread-safe.
     */
    public static final class LeafBuilder {

        private final TestPki pki;
        private final String uri;
        private Duration ttl = Duration.ofHours(1);
        private Instant notBefore;
        private Instant notAfter;
        private boolean expired;
        private boolean notYetValid;
        private KeyType keyType;
        private KeyPair keyPair;
        private String subject = "";
        private final List<String> extraUris = new ArrayList<>();
        private final List<String> dnsNames = new ArrayList<>();
        private boolean noUri;
        private boolean wrongTrustDomain;
        private boolean caFlag;
        private boolean keyCertSign;
        private boolean noDigitalSignature;
        private boolean untrustedRoot;
        private boolean weakKey;
        private boolean tampered;

        LeafBuilder(TestPki pki, String uri) {
            this.pki = pki;
            this.uri = uri;
            this.keyType = pki.keyType;
        }

        /** Valid from five minutes before now for {@code ttl} (default one hour). */
        public LeafBuilder ttl(Duration ttl) {
            Objects.requireNonNull(ttl, "ttl");
            if (ttl.isNegative() || ttl.isZero()) {
                throw new IllegalArgumentException("ttl: " + ttl + " (expected: > 0)");
            }
            this.ttl = ttl;
            return this;
        }

        /** Exact validity, overriding {@link #ttl}, {@link #expired()} and {@link #notYetValid()}. */
        public LeafBuilder validity(Instant notBefore, Instant notAfter) {
            Objects.requireNonNull(notBefore, "notBefore");
            Objects.requireNonNull(notAfter, "notAfter");
            if (!notAfter.isAfter(notBefore)) {
                throw new IllegalArgumentException("notAfter: " + notAfter + " (expected: after notBefore " + notBefore + ")");
            }
            this.notBefore = notBefore;
            this.notAfter = notAfter;
            return this;
        }

        /** The leaf's key type (default: the PKI's). */
        public LeafBuilder keyType(KeyType keyType) {
            this.keyType = Objects.requireNonNull(keyType, "keyType");
            return this;
        }

        /** Certifies this key pair instead of a fresh one (e.g. the key of a CSR under test). */
        public LeafBuilder keyPair(KeyPair keyPair) {
            this.keyPair = Objects.requireNonNull(keyPair, "keyPair");
            return this;
        }

        /** A subject DN such as {@code "O=acme,CN=x"}; by default the subject is empty and the SAN critical, as Istio does. */
        public LeafBuilder subject(String dn) {
            this.subject = Objects.requireNonNull(dn, "dn");
            return this;
        }

        /** Adds a DNS SAN next to the URI SAN (allowed by the X509-SVID spec). */
        public LeafBuilder dnsSan(String name) {
            dnsNames.add(Objects.requireNonNull(name, "name"));
            return this;
        }

        /** Broken: notAfter an hour before now. */
        public LeafBuilder expired() {
            this.expired = true;
            return this;
        }

        /** Broken: notBefore an hour after now. */
        public LeafBuilder notYetValid() {
            this.notYetValid = true;
            return this;
        }

        /**
         * Broken: the URI SAN names another trust domain ({@code wrong.example}, or {@code other.example}
         * when the PKI's is wrong.example) although this PKI's intermediate signs it.
         */
        public LeafBuilder wrongTrustDomain() {
            this.wrongTrustDomain = true;
            return this;
        }

        /** Broken: basicConstraints CA:true on a leaf. */
        public LeafBuilder caFlag() {
            this.caFlag = true;
            return this;
        }

        /** Broken: a second URI SAN. */
        public LeafBuilder extraUriSan(String uri) {
            extraUris.add(Objects.requireNonNull(uri, "uri"));
            return this;
        }

        /** Broken: no URI SAN at all (the subject becomes {@code CN=no-uri-san} unless set). */
        public LeafBuilder noUriSan() {
            this.noUri = true;
            return this;
        }

        /** Broken: a DNS SAN and no URI SAN, like a web server certificate. */
        public LeafBuilder dnsSanOnly(String name) {
            noUriSan();
            return dnsSan(name);
        }

        /** Broken: keyCertSign in a leaf's key usage. */
        public LeafBuilder keyCertSign() {
            this.keyCertSign = true;
            return this;
        }

        /** Broken: key usage without digitalSignature (keyEncipherment or keyAgreement instead). */
        public LeafBuilder withoutDigitalSignature() {
            this.noDigitalSignature = true;
            return this;
        }

        /** Broken: issued by an impostor root and intermediate with the same names as the real ones but other keys. */
        public LeafBuilder signedByUntrustedRoot() {
            this.untrustedRoot = true;
            return this;
        }

        /** Broken: an RSA-1024 leaf key. */
        public LeafBuilder weakRsa1024Key() {
            this.weakKey = true;
            return this;
        }

        /** Broken: a byte of the signature flipped, so it no longer verifies. */
        public LeafBuilder tamperedSignature() {
            this.tampered = true;
            return this;
        }

        public TestLeaf issue() {
            Instant now = pki.now();
            KeyPair leafPair = keyPair != null ? keyPair : weakKey ? Certs.weakRsa1024() : Certs.generate(keyType);
            Hierarchy issuer = untrustedRoot ? pki.untrusted() : pki.trusted;
            Instant from;
            Instant to;
            if (notBefore != null) {
                from = notBefore;
                to = notAfter;
            } else if (expired) {
                from = now.minus(ttl).minus(Duration.ofHours(1));
                to = now.minus(Duration.ofHours(1));
            } else if (notYetValid) {
                from = now.plus(Duration.ofHours(1));
                to = from.plus(ttl);
            } else {
                from = now.minus(Duration.ofMinutes(5));
                to = now.plus(ttl);
            }
            List<GeneralName> names = new ArrayList<>();
            if (!noUri) {
                names.add(new GeneralName(GeneralName.uniformResourceIdentifier, wrongTrustDomain ? retarget(uri) : uri));
            }
            for (String extra : extraUris) {
                names.add(new GeneralName(GeneralName.uniformResourceIdentifier, extra));
            }
            for (String dns : dnsNames) {
                names.add(new GeneralName(GeneralName.dNSName, dns));
            }
            String dn = subject.isEmpty() && names.isEmpty() ? "CN=no-uri-san" : subject;
            boolean rsa = leafPair.getPublic() instanceof RSAPublicKey;
            int usage = (noDigitalSignature ? 0 : KeyUsage.digitalSignature) | (rsa ? KeyUsage.keyEncipherment : 0)
                    | (keyCertSign ? KeyUsage.keyCertSign : 0);
            if (usage == 0) {
                usage = KeyUsage.keyAgreement;
            }
            try {
                JcaX509ExtensionUtils utils = new JcaX509ExtensionUtils();
                X509v3CertificateBuilder builder = new JcaX509v3CertificateBuilder(
                        X500Name.getInstance(issuer.intermediate.getSubjectX500Principal().getEncoded()), Certs.serial(),
                        Date.from(from), Date.from(to), new X500Name(dn), leafPair.getPublic())
                        .addExtension(Extension.basicConstraints, true, new BasicConstraints(caFlag))
                        .addExtension(Extension.keyUsage, true, new KeyUsage(usage))
                        .addExtension(Extension.extendedKeyUsage, false, new ExtendedKeyUsage(
                                new KeyPurposeId[] {KeyPurposeId.id_kp_serverAuth, KeyPurposeId.id_kp_clientAuth}))
                        .addExtension(Extension.subjectKeyIdentifier, false,
                                utils.createSubjectKeyIdentifier(leafPair.getPublic()))
                        .addExtension(Extension.authorityKeyIdentifier, false,
                                utils.createAuthorityKeyIdentifier(issuer.intermediate));
                if (!names.isEmpty()) {
                    builder.addExtension(Extension.subjectAlternativeName, dn.isEmpty(),
                            new GeneralNames(names.toArray(new GeneralName[0])));
                }
                X509Certificate certificate = Certs.sign(builder, issuer.intermediatePair);
                if (tampered) {
                    certificate = Certs.tampered(certificate);
                }
                return new TestLeaf(certificate, issuer.intermediate, leafPair, issuer.intermediateKey);
            } catch (GeneralSecurityException | CertIOException e) {
                throw new IllegalStateException("cannot issue the test leaf", e);
            }
        }

        private String retarget(String original) {
            String wrong = pki.trustDomain.name().equals("wrong.example") ? "other.example" : "wrong.example";
            String prefix = "spiffe://" + pki.trustDomain.name();
            return original.startsWith(prefix) ? "spiffe://" + wrong + original.substring(prefix.length())
                    : "spiffe://" + wrong + "/ns/default/sa/default";
        }
    }
}
