package dev.keel.benchmarks;

import dev.keel.ca.CaDirectory;
import dev.keel.ca.CaException;
import dev.keel.ca.IssuancePolicy;
import dev.keel.ca.IssuedX509Svid;
import dev.keel.ca.KeyResolver;
import dev.keel.ca.SigningCa;
import dev.keel.ca.X509SvidIssuer;
import dev.keel.ca.X509SvidParams;
import dev.keel.ca.crl.CrlSigner;
import dev.keel.ca.crl.Revocation;
import dev.keel.ca.crl.RevocationList;
import dev.keel.ca.crl.RevocationReason;
import dev.keel.ca.crl.SignedCrl;
import dev.keel.hsm.Pkcs11SigningKey;
import dev.keel.hsm.Pkcs11Uri;
import dev.keel.identity.KeyType;
import dev.keel.identity.SigningException;
import dev.keel.identity.SpiffeId;
import java.io.IOException;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
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
 * The CA key in a PKCS#11 token (SoftHSM2, through SunPKCS11) against the same kind of key in a
 * file, in one run (issue 7): {@link #issue} is one X.509-SVID (template, sign through the CA's
 * {@code SigningKey}, validate), {@link #signCrl} one CRL of {@value #CRL_ENTRIES} entries signed and
 * checked, {@link #caSign} the key's signature alone. Both CAs are EC P-256, self-signed root plus issuing intermediate, made with the public
 * {@link CaDirectory} API the {@code keel ca init} command uses.
 *
 * <p>SoftHSM2 reads {@code SOFTHSM2_CONF} when the JVM first loads the module, so it must be in the
 * environment before the JVM starts: {@code benchmarks/run-pkcs11.sh} writes a configuration naming
 * a temporary token directory and exports it; JMH's forked JVM inherits it. The benchmark then
 * initializes its own token there (random label and PIN; the PIN is in a 0600 file, never on a command
 * line that JMH prints) and deletes it at the end. Without {@code SOFTHSM2_CONF} the pkcs11 trial
 * fails with a message saying so rather than measuring anything else.
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Threads(1)
@Fork(value = 1, jvmArgsAppend = {"-Xms512m", "-Xmx512m"})
@Warmup(iterations = 3, time = 5) // 15 s: C2 needs about 10 s to settle issuance on this 2-core machine
@Measurement(iterations = 5, time = 3)
public class Pkcs11IssuanceBenchmark {

    static final Path SOFTHSM_MODULE = Path.of("/usr/lib/softhsm/libsofthsm2.so");
    static final int CRL_ENTRIES = 100;

    /** A CA whose key is a file or in the token, and a CRL's content to sign with it. */
    @State(Scope.Benchmark)
    public static class Ca {
        @Param({"file", "pkcs11"})
        public String keyKind;

        Path dir;
        String tokenLabel;
        SigningCa signingCa;
        X509SvidIssuer issuer;
        CrlSigner crlSigner;
        RevocationList.Snapshot crlContent;
        byte[] tbs;

        @Setup(Level.Trial)
        public void setUp() throws Exception {
            dir = Files.createTempDirectory("keel-bench-pkcs11");
            Clock clock = Clock.systemUTC();
            CaDirectory.LoadedCa loaded = switch (keyKind) {
                case "file" -> CaDirectory.initSelfSigned(dir.resolve("ca"), IssuanceBenchmark.TRUST_DOMAIN,
                        KeyType.EC_P256, clock);
                case "pkcs11" -> initInToken(clock);
                default -> throw new IllegalArgumentException("keyKind: " + keyKind + " (expected: file or pkcs11)");
            };
            signingCa = loaded.signingCa();
            String keyId = signingCa.key().id();
            if (keyKind.equals("pkcs11") != keyId.startsWith("pkcs11:")) {
                throw new IllegalStateException("keyKind " + keyKind + " but the CA key is " + keyId);
            }
            issuer = new X509SvidIssuer(signingCa, IssuancePolicy.DEFAULT, clock);
            Csrs.Csr sample = Csrs.create(SpiffeId.parse("spiffe://cluster.local/ns/bench/sa/sample"));
            tbs = issuer.issue(new X509SvidParams(sample.id(), sample.keyPair().getPublic(), Duration.ZERO))
                    .leaf().getTBSCertificate();
            crlSigner = new CrlSigner(CrlSigner.DEFAULT_VALIDITY);
            List<Revocation> revocations = new ArrayList<>();
            SecureRandom random = new SecureRandom();
            Instant now = clock.instant();
            for (int i = 0; i < CRL_ENTRIES; i++) {
                revocations.add(new Revocation(new BigInteger(128, random).setBit(127), RevocationReason.KEY_COMPROMISE,
                        now.minusSeconds(i), Optional.of(now.plus(Duration.ofHours(12))), Optional.empty()));
            }
            crlContent = new RevocationList.Snapshot(1, revocations);
        }

        private CaDirectory.LoadedCa initInToken(Clock clock) throws IOException, InterruptedException {
            if (System.getenv("SOFTHSM2_CONF") == null) {
                throw new IllegalStateException("SOFTHSM2_CONF is not set: SoftHSM2 reads it when the JVM starts; "
                        + "run benchmarks/run-pkcs11.sh, which creates a token directory and exports it");
            }
            SecureRandom random = new SecureRandom();
            tokenLabel = "keel-bench-" + HexFormat.of().formatHex(random.generateSeed(4));
            String pin = HexFormat.of().formatHex(random.generateSeed(8));
            Path pinFile = dir.resolve("user.pin");
            Files.createFile(pinFile, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
            Files.writeString(pinFile, pin + "\n", StandardCharsets.US_ASCII);
            softhsm("--init-token", "--free", "--label", tokenLabel, "--pin", pin, "--so-pin", "so-" + pin);
            Pkcs11Uri ca = Pkcs11Uri.parse("pkcs11:token=" + tokenLabel + ";object=ca?module-path=" + SOFTHSM_MODULE
                    + "&pin-source=file:" + pinFile);
            Pkcs11Uri root = ca.withObject("ca-root");
            Pkcs11Uri jwt = ca.withObject("ca-jwt");
            Pkcs11SigningKey.generate(root, KeyType.EC_P256);
            Pkcs11SigningKey.generate(ca, KeyType.EC_P256);
            Pkcs11SigningKey.generate(jwt, KeyType.EC_P256);
            KeyResolver token = reference -> {
                if (!Pkcs11Uri.isPkcs11(reference)) {
                    throw new IllegalArgumentException("key reference " + reference + ": unknown scheme (expected: pkcs11:)");
                }
                return Pkcs11SigningKey.open(Pkcs11Uri.parse(reference));
            };
            return CaDirectory.initSelfSigned(dir.resolve("ca"), IssuanceBenchmark.TRUST_DOMAIN,
                    new CaDirectory.KeyReferences(root.toString(), ca.toString(), jwt.toString()), token, clock);
        }

        @TearDown(Level.Trial)
        public void tearDown() throws IOException, InterruptedException {
            if (tokenLabel != null) {
                softhsm("--delete-token", "--token", tokenLabel);
            }
            Directories.deleteRecursively(dir);
        }

        /** The PIN goes to softhsm2-util's arguments only, the way its documentation initializes a token. */
        private static void softhsm(String... args) throws IOException, InterruptedException {
            List<String> command = new ArrayList<>(List.of("softhsm2-util"));
            command.addAll(List.of(args));
            Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
            String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (!process.waitFor(60, TimeUnit.SECONDS) || process.exitValue() != 0) {
                throw new IOException("softhsm2-util " + args[0] + " failed: " + output.strip());
            }
        }
    }

    /** One X.509-SVID from an already parsed CSR: template, CA signature through the key, validation. */
    @Benchmark
    public IssuedX509Svid issue(IssuanceBenchmark.Requests requests, Ca ca) throws CaException {
        return ca.issuer.issue(requests.params[requests.nextIndex()]);
    }

    /** The CA key's signature over a leaf's TBSCertificate alone: where the two key kinds differ. */
    @Benchmark
    public byte[] caSign(Ca ca) throws SigningException {
        return ca.signingCa.key().sign(ca.signingCa.signatureAlgorithm(), ca.tbs);
    }

    /** One CRL of {@value #CRL_ENTRIES} entries: build, sign through the key, parse and verify with the JDK. */
    @Benchmark
    public SignedCrl signCrl(Ca ca) throws CaException {
        return ca.crlSigner.sign(ca.signingCa, ca.crlContent, Instant.now());
    }
}
