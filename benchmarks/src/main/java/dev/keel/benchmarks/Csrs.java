package dev.keel.benchmarks;

import dev.keel.identity.KeyPairs;
import dev.keel.identity.KeyType;
import dev.keel.identity.Pem;
import dev.keel.identity.SpiffeId;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.security.KeyPair;
import org.bouncycastle.asn1.pkcs.PKCSObjectIdentifiers;
import org.bouncycastle.asn1.x500.RDN;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.ExtensionsGenerator;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.operator.OperatorCreationException;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.bouncycastle.pkcs.jcajce.JcaPKCS10CertificationRequestBuilder;

/**
 * Workload CSRs as an Istio agent sends them: empty subject, an extensionRequest with one critical
 * URI SAN (the SPIFFE ID), signed SHA256withECDSA with a fresh P-256 key. Built with bcpkix directly
 * so the benchmarks do not depend on test helpers that may change. Stateless and thread-safe.
 */
final class Csrs {

    private Csrs() {
    }

    /** A CSR for {@code id} and the key pair it proves possession of. */
    record Csr(SpiffeId id, KeyPair keyPair, String pem) {
    }

    static Csr create(SpiffeId id) {
        KeyPair pair = KeyPairs.generate(KeyType.EC_P256);
        return new Csr(id, pair, pem(id, pair));
    }

    static String pem(SpiffeId id, KeyPair pair) {
        try {
            ExtensionsGenerator extensions = new ExtensionsGenerator();
            extensions.addExtension(Extension.subjectAlternativeName, true,
                    new GeneralNames(new GeneralName(GeneralName.uniformResourceIdentifier, id.toString())));
            byte[] der = new JcaPKCS10CertificationRequestBuilder(new X500Name(new RDN[0]), pair.getPublic())
                    .addAttribute(PKCSObjectIdentifiers.pkcs_9_at_extensionRequest, extensions.generate())
                    .build(new JcaContentSignerBuilder("SHA256withECDSA").build(pair.getPrivate()))
                    .getEncoded();
            return Pem.encodeCertificateRequest(der);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (OperatorCreationException e) {
            throw new IllegalStateException("cannot sign a CSR", e);
        }
    }
}
