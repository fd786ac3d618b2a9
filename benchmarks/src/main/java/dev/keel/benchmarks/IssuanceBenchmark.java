package dev.keel.benchmarks;

import dev.keel.ca.CaDirectory;
import dev.keel.ca.CaException;
import dev.keel.ca.CertificateSigningRequest;
import dev.keel.ca.IssuancePolicy;
import dev.keel.ca.IssuedX509Svid;
import dev.keel.ca.SigningCa;
import dev.keel.ca.X509SvidIssuer;
import dev.keel.ca.X509SvidParams;
import dev.keel.identity.KeyType;
import dev.keel.identity.Pem;
import dev.keel.identity.SignatureAlgorithm;
import dev.keel.identity.SignatureVerifier;
import dev.keel.identity.SigningException;
import dev.keel.identity.SigningKey;
import dev.keel.identity.SpiffeId;
import dev.keel.identity.TrustDomain;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.CertificateEncodingException;
import java.time.Clock;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.bouncycastle.pkcs.PKCS10CertificationRequest;
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
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Threads;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The CA's X.509-SVID issuance on one thread, whole and in parts, so the figures show where the time
 * goes: {@link #fullIssuance} is what one {@code CreateCertificate} costs the CA before the audit
 * log and the network (parse and verify the PEM CSR, build the template, sign, validate);
 * {@link #csrParseAndVerify} and {@link #issue} split it in two; {@link #caSign} and
 * {@link #csrSignatureVerify} are the two public-key operations alone.
 *
 * <p>ECDSA runs in BoringSSL when its native library loads (identity-core's engine choice); add
 * {@code -jvmArgsAppend -Dkeel.crypto.native=false} for the BouncyCastle fallback's figures.
 *
 * <p>Workload keys are always EC P-256 (what Istio agents send); the CA key is a parameter. The
 * benchmarks that do not touch the CA are not multiplied by it.
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Threads(1)
@Fork(value = 1, jvmArgsAppend = {"-Xms1g", "-Xmx1g"})
@Warmup(iterations = 4, time = 3) // C2 needs about 10 s on 2 cores to settle this code
@Measurement(iterations = 5, time = 2)
public class IssuanceBenchmark {

    static final TrustDomain TRUST_DOMAIN = TrustDomain.parse("cluster.local");
    static final int CSRS = 64;

    /** 64 workload CSRs and what parsing them yields; independent of the CA. */
    @State(Scope.Thread)
    public static class Requests {
        String[] pems = new String[CSRS];
        X509SvidParams[] params = new X509SvidParams[CSRS];
        byte[][] signedInfo = new byte[CSRS][];
        byte[][] signatures = new byte[CSRS][];
        int next;

        @Setup(Level.Trial)
        public void setUp() throws Exception {
            for (int i = 0; i < CSRS; i++) {
                SpiffeId id = SpiffeId.parse("spiffe://cluster.local/ns/bench/sa/client-" + i);
                Csrs.Csr csr = Csrs.create(id);
                pems[i] = csr.pem();
                params[i] = new X509SvidParams(id, csr.keyPair().getPublic(), Duration.ZERO);
                PKCS10CertificationRequest request =
                        new PKCS10CertificationRequest(Pem.decodeCertificateRequest(csr.pem()));
                signedInfo[i] = request.toASN1Structure().getCertificationRequestInfo().getEncoded("DER");
                signatures[i] = request.getSignature();
                if (!SignatureVerifier.of(csr.keyPair().getPublic())
                        .verify(SignatureAlgorithm.ECDSA_SHA256, signedInfo[i], signatures[i])) {
                    throw new IllegalStateException("CSR " + i + " does not verify");
                }
            }
        }

        int nextIndex() {
            int i = next;
            next = (i + 1) & (CSRS - 1);
            return i;
        }
    }

    /** A self-signed CA (root and issuing intermediate) in a temporary directory. */
    @State(Scope.Thread)
    public static class Ca {
        @Param({"EC_P256", "RSA_2048"})
        public String caKeyType;

        Path dir;
        X509SvidIssuer issuer;
        SigningKey key;
        SignatureAlgorithm algorithm;
        byte[] tbs;

        @Setup(Level.Trial)
        public void setUp() throws Exception {
            dir = Files.createTempDirectory("keel-bench-ca");
            KeyType keyType = KeyType.valueOf(caKeyType);
            CaDirectory.LoadedCa loaded = CaDirectory.initSelfSigned(dir.resolve("ca"), TRUST_DOMAIN, keyType,
                    Clock.systemUTC());
            SigningCa ca = loaded.signingCa();
            issuer = new X509SvidIssuer(ca, IssuancePolicy.DEFAULT, Clock.systemUTC());
            key = ca.key();
            algorithm = ca.signatureAlgorithm();
            // A real leaf's to-be-signed bytes, for the signing-alone figure.
            Csrs.Csr sample = Csrs.create(SpiffeId.parse("spiffe://cluster.local/ns/bench/sa/sample"));
            IssuedX509Svid svid = issuer.issue(
                    new X509SvidParams(sample.id(), sample.keyPair().getPublic(), Duration.ZERO));
            tbs = tbsOf(svid);
        }

        @TearDown(Level.Trial)
        public void tearDown() throws IOException {
            Directories.deleteRecursively(dir);
        }

        private static byte[] tbsOf(IssuedX509Svid svid) {
            try {
                return svid.leaf().getTBSCertificate();
            } catch (CertificateEncodingException e) {
                throw new IllegalStateException(e);
            }
        }
    }

    /** One whole issuance from a PEM CSR: parse, verify, template, sign, validate. */
    @Benchmark
    public IssuedX509Svid fullIssuance(Requests requests, Ca ca) throws CaException {
        int i = requests.nextIndex();
        CertificateSigningRequest csr = CertificateSigningRequest.parse(requests.pems[i]);
        return ca.issuer.issue(new X509SvidParams(requests.params[i].spiffeId(), csr.publicKey(), Duration.ZERO));
    }

    /** PEM decode, PKCS#10 parse, key decode and checks, signature verification, SAN extraction. */
    @Benchmark
    public CertificateSigningRequest csrParseAndVerify(Requests requests) throws CaException {
        return CertificateSigningRequest.parse(requests.pems[requests.nextIndex()]);
    }

    /** Issue from an already parsed key: template, sign, validate. */
    @Benchmark
    public IssuedX509Svid issue(Requests requests, Ca ca) throws CaException {
        return ca.issuer.issue(requests.params[requests.nextIndex()]);
    }

    /** The CA key's signature over a leaf's TBSCertificate alone (hash included). */
    @Benchmark
    public byte[] caSign(Ca ca) throws SigningException {
        return ca.key.sign(ca.algorithm, ca.tbs);
    }

    /**
     * A CSR's ECDSA P-256 self-signature verified alone (hash included), from the decoded JDK key, as
     * the CA does it: a new {@link SignatureVerifier} per CSR. BouncyCastle caches precomputation on
     * a curve point it has seen, so reusing one verifier per key would be about twice as fast and
     * would not be what a CA facing fresh keys sees.
     */
    @Benchmark
    public boolean csrSignatureVerify(Requests requests) {
        int i = requests.nextIndex();
        return SignatureVerifier.of(requests.params[i].publicKey()).verify(SignatureAlgorithm.ECDSA_SHA256,
                requests.signedInfo[i], requests.signatures[i]);
    }
}
