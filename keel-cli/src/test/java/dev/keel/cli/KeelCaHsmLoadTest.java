package dev.keel.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.keel.ca.CaDirectory;
import dev.keel.ca.IssuancePolicy;
import dev.keel.ca.X509SvidIssuer;
import dev.keel.ca.X509SvidParams;
import dev.keel.cli.internal.KeyResolvers;
import dev.keel.hsm.Pkcs11Uri;
import dev.keel.identity.KeyPairs;
import dev.keel.identity.KeyType;
import dev.keel.identity.SpiffeId;
import dev.keel.identity.TrustDomain;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.PublicKey;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;
import org.junit.jupiter.api.io.TempDir;

/**
 * A load figure for BENCHMARKS.md: X.509-SVID issuance per second (build the template, sign,
 * validate) with the CA key in SoftHSM2 against the file key, in the same child JVM, on 1 and 4
 * threads. Run alone with {@code mvn -B -o -q verify -pl keel-cli -Dtest=KeelCaHsmLoadTest}; the
 * figures are printed, and only sanity is asserted (the machine is shared).
 */
class KeelCaHsmLoadTest {

    @TempDir
    Path tmp;

    @Test
    @EnabledIfSystemProperty(named = "keel.bench", matches = "true",
            disabledReason = "a measurement, not a test: run with -Dkeel.bench=true (BENCHMARKS.md)")
    void issuanceWithTheTokenKeyAgainstTheFileKey() throws Exception {
        Path hsm = Files.createDirectories(tmp.resolve("hsm"));
        Path tokens = Files.createDirectories(hsm.resolve("tokens"));
        Path conf = hsm.resolve("softhsm2.conf");
        Files.writeString(conf, "directories.tokendir = " + tokens + "\nobjectstore.backend = file\nlog.level = ERROR\n");
        Path pin = hsm.resolve("pin");
        Files.writeString(pin, "5150-load\n");
        ProcessBuilder initToken = new ProcessBuilder("softhsm2-util", "--init-token", "--free", "--label", "keel-load",
                "--pin", "5150-load", "--so-pin", "so-5150-load").redirectErrorStream(true);
        initToken.environment().put("SOFTHSM2_CONF", conf.toString());
        Process init = initToken.start();
        init.getInputStream().readAllBytes();
        assertThat(init.waitFor()).isZero();

        List<String> command = List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-Xmx1g", "-cp",
                System.getProperty("surefire.test.class.path", System.getProperty("java.class.path")),
                Load.class.getName(), tmp.toString(), pin.toString());
        ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true);
        builder.environment().put("SOFTHSM2_CONF", conf.toString());
        Process load = builder.start();
        String output = new String(load.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(load.waitFor(300, TimeUnit.SECONDS)).isTrue();
        System.out.print(output);
        assertThat(load.exitValue()).as(output).isZero();
        assertThat(output).contains("file key", "PKCS#11 key");
    }

    /** Child JVM: two CAs, same key type, same issuer code; only where the key lives differs. */
    public static final class Load {
        public static void main(String[] args) throws Exception {
            Path dir = Path.of(args[0]);
            TrustDomain td = TrustDomain.CLUSTER_LOCAL;
            CaDirectory.LoadedCa file = CaDirectory.initSelfSigned(dir.resolve("file-ca"), td, KeyType.EC_P256,
                    Clock.systemUTC());
            Pkcs11Uri uri = Pkcs11Uri.parse("pkcs11:token=keel-load;object=ca?module-path=/usr/lib/softhsm/libsofthsm2.so"
                    + "&pin-source=file:" + args[1]);
            Path hsmDir = dir.resolve("hsm-ca");
            CaDirectory.LoadedCa token = CaDirectory.initSelfSigned(hsmDir, td,
                    KeyResolvers.openOrGenerateCaKeys(uri, KeyType.EC_P256), KeyResolvers.forDataDir(hsmDir),
                    Clock.systemUTC());
            List<PublicKey> workloadKeys = new ArrayList<>();
            for (int i = 0; i < 64; i++) {
                workloadKeys.add(KeyPairs.generate(KeyType.EC_P256).getPublic());
            }
            System.out.printf("X.509-SVID issuance/s (EC P-256 CA key, template + sign + validate), %d cores, %s%n",
                    Runtime.getRuntime().availableProcessors(), System.getProperty("java.version"));
            for (int round = 0; round < 2; round++) { // round 0 warms up
                for (int threads : new int[] {1, 4}) {
                    double f = rate(new X509SvidIssuer(file.signingCa(), IssuancePolicy.DEFAULT, Clock.systemUTC()),
                            workloadKeys, threads);
                    double t = rate(new X509SvidIssuer(token.signingCa(), IssuancePolicy.DEFAULT, Clock.systemUTC()),
                            workloadKeys, threads);
                    if (round == 1) {
                        System.out.printf("  %d thread(s): file key %.0f/s, PKCS#11 key (SoftHSM2) %.0f/s%n", threads, f, t);
                    }
                }
            }
        }

        private static double rate(X509SvidIssuer issuer, List<PublicKey> keys, int threads) throws Exception {
            ExecutorService pool = Executors.newFixedThreadPool(threads);
            long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(1500);
            long start = System.nanoTime();
            try {
                List<Future<Integer>> counts = new ArrayList<>();
                for (int t = 0; t < threads; t++) {
                    int thread = t;
                    counts.add(pool.submit(() -> {
                        int n = 0;
                        while (System.nanoTime() < deadline) {
                            issuer.issue(new X509SvidParams(SpiffeId.parse("spiffe://cluster.local/ns/load/sa/w" + thread),
                                    keys.get(n % keys.size()), Duration.ZERO));
                            n++;
                        }
                        return n;
                    }));
                }
                int total = 0;
                for (Future<Integer> count : counts) {
                    total += count.get();
                }
                return total / ((System.nanoTime() - start) / 1e9);
            } finally {
                pool.shutdownNow();
            }
        }
    }
}
