package dev.keel.hsm;

import dev.keel.identity.KeyType;
import dev.keel.identity.Pem;
import dev.keel.identity.SigningException;
import dev.keel.identity.SigningKey;
import dev.keel.identity.TrustDomain;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.security.GeneralSecurityException;
import java.security.cert.CertPathValidator;
import java.security.cert.CertificateFactory;
import java.security.cert.PKIXParameters;
import java.security.cert.TrustAnchor;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Date;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import org.bouncycastle.asn1.ASN1ObjectIdentifier;
import org.bouncycastle.asn1.DERNull;
import org.bouncycastle.asn1.pkcs.PKCSObjectIdentifiers;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x500.X500NameBuilder;
import org.bouncycastle.asn1.x500.style.BCStyle;
import org.bouncycastle.asn1.x509.AlgorithmIdentifier;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.ExtensionsGenerator;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.asn1.x509.SubjectPublicKeyInfo;
import org.bouncycastle.operator.ContentSigner;
import org.bouncycastle.pkcs.PKCS10CertificationRequestBuilder;

/**
 * Keel's issuing intermediate under an upstream authority (Vault PKI), renewed at half its lifetime:
 * a new key from the {@link KeySource} (a file key, or a key generated in the HSM), a CSR signed by
 * it, the upstream's signature, and checks (CA flag, the key is the one asked for, the chain verifies
 * to the upstream root) before it is used. The previous intermediate stays in
 * {@link #intermediates()} until it expires, so certificates it issued keep their chain and workloads
 * never see a gap. If the upstream is down, the current intermediate keeps issuing (it is only half
 * spent) and the next call retries.
 *
 * <p>Thread-safe: {@link #rotateIfDue()} is serialized; readers see a consistent snapshot.
 */
public final class UpstreamIntermediates {

    /** Makes the key of the next intermediate. */
    @FunctionalInterface
    public interface KeySource {
        SigningKey newKey() throws IOException;
    }

    /** The intermediate that signs now, its key, and the upstream chain above it (to the root). */
    public record Active(SigningKey key, X509Certificate certificate, List<X509Certificate> upstreamChain) {

        public Active {
            Objects.requireNonNull(key, "key");
            Objects.requireNonNull(certificate, "certificate");
            upstreamChain = List.copyOf(upstreamChain);
        }

        /** The chain workloads are given after their leaf: this intermediate, then the upstream ones without the root. */
        public List<X509Certificate> chain() {
            List<X509Certificate> chain = new ArrayList<>();
            chain.add(certificate);
            chain.addAll(upstreamChain.subList(0, upstreamChain.size() - 1));
            return chain;
        }

        public X509Certificate root() {
            return upstreamChain.get(upstreamChain.size() - 1);
        }
    }

    private record State(Active current, List<Active> previous) {
    }

    private final VaultPkiUpstreamAuthority upstream;
    private final KeySource keys;
    private final TrustDomain trustDomain;
    private final Duration ttl;
    private final Clock clock;
    private volatile State state;

    private UpstreamIntermediates(VaultPkiUpstreamAuthority upstream, KeySource keys, TrustDomain trustDomain,
            Duration ttl, Clock clock) {
        this.upstream = upstream;
        this.keys = keys;
        this.trustDomain = trustDomain;
        this.ttl = ttl;
        this.clock = clock;
    }

    /**
     * Obtains the first intermediate.
     *
     * @throws UpstreamAuthorityException if the upstream does not sign; IOException if the key source
     *     fails or what came back does not check out
     */
    public static UpstreamIntermediates start(VaultPkiUpstreamAuthority upstream, KeySource keys, TrustDomain trustDomain,
            Duration ttl, Clock clock) throws IOException {
        Objects.requireNonNull(upstream, "upstream");
        Objects.requireNonNull(keys, "keys");
        Objects.requireNonNull(trustDomain, "trustDomain");
        Objects.requireNonNull(clock, "clock");
        if (ttl.compareTo(Duration.ofMinutes(10)) < 0) {
            throw new IllegalArgumentException("ttl: " + ttl + " (expected: >= 10m)");
        }
        UpstreamIntermediates intermediates = new UpstreamIntermediates(upstream, keys, trustDomain, ttl, clock);
        intermediates.state = new State(intermediates.next(), List.of());
        return intermediates;
    }

    public Active current() {
        return state.current();
    }

    /** The current intermediate first, then earlier ones that have not expired: what may still be met in chains. */
    public List<X509Certificate> intermediates() {
        State s = state;
        Date now = Date.from(clock.instant());
        List<X509Certificate> all = new ArrayList<>();
        all.add(s.current().certificate());
        for (Active old : s.previous()) {
            if (!now.after(old.certificate().getNotAfter())) {
                all.add(old.certificate());
            }
        }
        return all;
    }

    /** The upstream roots of the current and unexpired earlier intermediates (usually one). */
    public List<X509Certificate> roots() {
        State s = state;
        Set<X509Certificate> roots = new LinkedHashSet<>();
        roots.add(s.current().root());
        Date now = Date.from(clock.instant());
        for (Active old : s.previous()) {
            if (!now.after(old.certificate().getNotAfter())) {
                roots.add(old.root());
            }
        }
        return List.copyOf(roots);
    }

    /** When the current intermediate is due for renewal: half its lifetime. */
    public Instant renewAt() {
        X509Certificate certificate = state.current().certificate();
        Instant notBefore = certificate.getNotBefore().toInstant();
        return notBefore.plus(Duration.between(notBefore, certificate.getNotAfter().toInstant()).dividedBy(2));
    }

    /**
     * Renews the intermediate if half its lifetime has passed.
     *
     * @return true if it renewed
     * @throws UpstreamAuthorityException if the upstream did not sign (the current intermediate stays)
     */
    public synchronized boolean rotateIfDue() throws IOException {
        if (clock.instant().isBefore(renewAt())) {
            return false;
        }
        Active next = next();
        State old = state;
        List<Active> previous = new ArrayList<>();
        previous.add(old.current());
        Date now = Date.from(clock.instant());
        for (Active earlier : old.previous()) {
            if (!now.after(earlier.certificate().getNotAfter())) {
                previous.add(earlier);
            }
        }
        state = new State(next, List.copyOf(previous));
        return true;
    }

    private Active next() throws IOException {
        SigningKey key = keys.newKey();
        String csr;
        try {
            csr = csr(trustDomain, key);
        } catch (SigningException e) {
            throw new IOException("cannot sign the intermediate's CSR with " + key.id() + ": " + e.getMessage(), e);
        }
        VaultPkiUpstreamAuthority.SignedIntermediate signed = upstream.signIntermediate(csr,
                "Keel Intermediate CA " + trustDomain.name(), ttl);
        X509Certificate certificate = signed.certificate();
        if (!certificate.getPublicKey().equals(key.publicKey())) {
            throw new IOException("the upstream signed a certificate for another key than the one in the CSR");
        }
        if (certificate.getBasicConstraints() < 0) {
            throw new IOException("the upstream signed the intermediate without CA:true");
        }
        verify(certificate, signed.upstreamChain());
        return new Active(key, certificate, signed.upstreamChain());
    }

    private void verify(X509Certificate certificate, List<X509Certificate> upstreamChain) throws IOException {
        List<X509Certificate> path = new ArrayList<>();
        path.add(certificate);
        path.addAll(upstreamChain.subList(0, upstreamChain.size() - 1));
        try {
            PKIXParameters params = new PKIXParameters(Set.of(new TrustAnchor(upstreamChain.get(upstreamChain.size() - 1), null)));
            params.setRevocationEnabled(false);
            params.setDate(Date.from(clock.instant()));
            CertPathValidator.getInstance("PKIX").validate(CertificateFactory.getInstance("X.509").generateCertPath(path),
                    params);
        } catch (GeneralSecurityException e) {
            throw new IOException("the intermediate from the upstream does not verify to its root: " + e.getMessage(), e);
        }
    }

    /** A PKCS#10 request for an issuing CA (CA:true pathLen 0, keyCertSign, cRLSign, URI SAN of the trust domain). */
    static String csr(TrustDomain trustDomain, SigningKey key) throws SigningException {
        X500Name subject = new X500NameBuilder(BCStyle.INSTANCE).addRDN(BCStyle.O, "Keel")
                .addRDN(BCStyle.OU, trustDomain.name()).addRDN(BCStyle.CN, "Keel Intermediate CA").build();
        PKCS10CertificationRequestBuilder builder = new PKCS10CertificationRequestBuilder(subject,
                SubjectPublicKeyInfo.getInstance(key.publicKey().getEncoded()));
        ExtensionsGenerator extensions = new ExtensionsGenerator();
        try {
            extensions.addExtension(Extension.basicConstraints, true, new BasicConstraints(0));
            extensions.addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.keyCertSign | KeyUsage.cRLSign));
            extensions.addExtension(Extension.subjectAlternativeName, false, new GeneralNames(
                    new GeneralName(GeneralName.uniformResourceIdentifier, trustDomain.spiffeId().toString())));
        } catch (IOException e) {
            throw new IllegalStateException("cannot encode a CSR extension", e);
        }
        builder.addAttribute(PKCSObjectIdentifiers.pkcs_9_at_extensionRequest, extensions.generate());
        dev.keel.identity.SignatureAlgorithm algorithm = key.keyType().defaultSignatureAlgorithm();
        ByteArrayOutputStream tbs = new ByteArrayOutputStream();
        SigningException[] failure = new SigningException[1];
        ContentSigner signer = new ContentSigner() {
            @Override
            public AlgorithmIdentifier getAlgorithmIdentifier() {
                ASN1ObjectIdentifier oid = new ASN1ObjectIdentifier(algorithm.oid());
                return key.keyType().family() == KeyType.Family.EC ? new AlgorithmIdentifier(oid)
                        : new AlgorithmIdentifier(oid, DERNull.INSTANCE);
            }

            @Override
            public OutputStream getOutputStream() {
                return tbs;
            }

            @Override
            public byte[] getSignature() {
                try {
                    return key.sign(algorithm, tbs.toByteArray());
                } catch (SigningException e) {
                    failure[0] = e;
                    return new byte[0];
                }
            }
        };
        byte[] der;
        try {
            der = builder.build(signer).getEncoded();
        } catch (IOException e) {
            throw new IllegalStateException("cannot encode a CSR just built", e);
        }
        if (failure[0] != null) {
            throw failure[0];
        }
        return Pem.encode("CERTIFICATE REQUEST", der);
    }

    @Override
    public String toString() {
        return "UpstreamIntermediates{" + upstream + ", current=" + state.current().certificate().getSubjectX500Principal()
                + "}";
    }
}
