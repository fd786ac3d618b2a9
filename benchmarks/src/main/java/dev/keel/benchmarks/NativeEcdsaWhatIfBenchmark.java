package dev.keel.benchmarks;

import dev.keel.ca.CaException;
import dev.keel.ca.IssuedX509Svid;
import dev.keel.ca.X509SvidParams;
import dev.keel.identity.KeyType;
import dev.keel.identity.Pem;
import dev.keel.identity.SpiffeId;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.PublicKey;
import java.security.Signature;
import java.security.spec.X509EncodedKeySpec;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.bouncycastle.asn1.pkcs.Attribute;
import org.bouncycastle.asn1.pkcs.PKCSObjectIdentifiers;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.Extensions;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.pkcs.PKCS10CertificationRequest;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Threads;
import org.openjdk.jmh.annotations.Warmup;

/**
 * What issuance would cost if both ECDSA operations ran in BoringSSL (through Conscrypt's JCA
 * provider) instead of BouncyCastle. Run with {@code -p caKeyType=EC_P256_CONSCRYPT} so the CA
 * signs through {@link ConscryptSigningKey}. The CSR step repeats the work of Keel's
 * {@code Pkcs10Parser} (PEM decode, PKCS#10 parse, JDK key decode and key check, signature over the
 * re-encoded request info, URI SAN extraction) with only the verification swapped; a prototype to
 * size the change, not a replacement for the parser's checks.
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Threads(1)
@Fork(value = 1, jvmArgsAppend = {"-Xms1g", "-Xmx1g"})
@Warmup(iterations = 4, time = 3)
@Measurement(iterations = 5, time = 2)
public class NativeEcdsaWhatIfBenchmark {

    @Benchmark
    public PublicKey csrParseAndVerifyNative(IssuanceBenchmark.Requests requests) throws Exception {
        return parseAndVerify(requests.pems[requests.nextIndex()]).key();
    }

    @Benchmark
    public IssuedX509Svid fullIssuanceNative(IssuanceBenchmark.Requests requests, IssuanceBenchmark.Ca ca)
            throws Exception {
        Parsed csr = parseAndVerify(requests.pems[requests.nextIndex()]);
        return ca.issuer.issue(new X509SvidParams(csr.id(), csr.key(), Duration.ZERO));
    }

    record Parsed(PublicKey key, SpiffeId id) {
    }

    static Parsed parseAndVerify(String pem) throws Exception {
        PKCS10CertificationRequest request = new PKCS10CertificationRequest(Pem.decodeCertificateRequest(pem));
        PublicKey key = KeyFactory.getInstance("EC")
                .generatePublic(new X509EncodedKeySpec(request.getSubjectPublicKeyInfo().getEncoded("DER")));
        KeyType.of(key);
        byte[] info = request.toASN1Structure().getCertificationRequestInfo().getEncoded("DER");
        Signature verifier = Signature.getInstance("SHA256withECDSA", ConscryptSigningKey.PROVIDER);
        verifier.initVerify(key);
        verifier.update(info);
        if (!verifier.verify(request.getSignature())) {
            throw new CaException(CaException.Code.INVALID_ARGUMENT, "csr: signature does not verify");
        }
        Attribute[] attributes = request.getAttributes(PKCSObjectIdentifiers.pkcs_9_at_extensionRequest);
        Extensions extensions = Extensions.getInstance(attributes[0].getAttrValues().getObjectAt(0));
        GeneralName[] names = GeneralNames.fromExtensions(extensions, Extension.subjectAlternativeName).getNames();
        if (names.length != 1 || names[0].getTagNo() != GeneralName.uniformResourceIdentifier) {
            throw new GeneralSecurityException("csr: expected one URI SAN");
        }
        return new Parsed(key, SpiffeId.parse(names[0].getName().toString()));
    }
}
