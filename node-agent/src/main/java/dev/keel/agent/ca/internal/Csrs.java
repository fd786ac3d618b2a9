package dev.keel.agent.ca.internal;

import dev.keel.identity.KeyPairs;
import dev.keel.identity.KeyType;
import dev.keel.identity.Pem;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.security.KeyPair;
import java.security.Provider;
import java.util.Objects;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.jce.provider.BouncyCastleProvider;
import org.bouncycastle.operator.ContentSigner;
import org.bouncycastle.operator.OperatorCreationException;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.bouncycastle.pkcs.jcajce.JcaPKCS10CertificationRequestBuilder;

/**
 * Key pairs generated on this node and the PKCS#10 requests that carry their public keys to the CA.
 * The request has an empty subject and no extensions: the CA uses only the public key and decides
 * the rest (the SPIFFE ID comes from the registration entry or the caller's credentials).
 */
public final class Csrs {

    /**
     * BouncyCastle's ECDSA is several times faster than the JDK 17 provider's, which matters to a cold
     * agent issuing for a thousand entries. A private instance: never installed in the JVM's list.
     */
    private static final Provider BOUNCY_CASTLE = new BouncyCastleProvider();

    private Csrs() {
    }

    /** A new key pair and its CSR. The key stays in memory; {@link #toString()} does not show it. */
    public record KeyAndCsr(KeyPair keyPair, String csrPem) {

        public KeyAndCsr {
            Objects.requireNonNull(keyPair, "keyPair");
            Objects.requireNonNull(csrPem, "csrPem");
        }

        @Override
        public String toString() {
            return "KeyAndCsr[" + keyPair.getPublic().getAlgorithm() + "]";
        }
    }

    /** Generates a {@code type} key pair and a CSR signed with it (proof of possession). CPU-bound. */
    public static KeyAndCsr generate(KeyType type) {
        KeyPair pair = KeyPairs.generate(type);
        return new KeyAndCsr(pair, csr(pair, type));
    }

    /** A CSR for {@code pair}, whose type is {@code type}. */
    public static String csr(KeyPair pair, KeyType type) {
        try {
            JcaContentSignerBuilder builder = new JcaContentSignerBuilder(signatureAlgorithm(type));
            if (type.family() == KeyType.Family.EC) {
                builder.setProvider(BOUNCY_CASTLE);
            }
            ContentSigner signer = builder.build(pair.getPrivate());
            byte[] der = new JcaPKCS10CertificationRequestBuilder(new X500Name(""), pair.getPublic())
                    .build(signer).getEncoded();
            return Pem.encodeCertificateRequest(der);
        } catch (OperatorCreationException e) {
            throw new IllegalStateException("cannot sign a CSR with a " + type + " key", e);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static String signatureAlgorithm(KeyType type) {
        switch (type) {
            case EC_P256:
                return "SHA256withECDSA";
            case EC_P384:
                return "SHA384withECDSA";
            default:
                return "SHA256withRSA";
        }
    }
}
