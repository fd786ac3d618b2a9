package dev.keel.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.keel.ca.CaDirectory;
import dev.keel.ca.CitadelCa;
import dev.keel.ca.IntermediateRenewal;
import dev.keel.ca.IssuancePolicy;
import dev.keel.ca.KeyResolver;
import dev.keel.cli.internal.KeyResolvers;
import dev.keel.identity.Pem;
import dev.keel.testing.TestCsr;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.Provider;
import java.security.Security;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Automatic renewal of an issuing intermediate whose keys are in a SoftHSM2 token: the new key is
 * generated in the token under the next label ({@code ca-2}), certified by the root key in the token,
 * and committed by rewriting {@code ca.properties}; nothing is written as a key file. Every step runs
 * in a child JVM (SoftHSM reads {@code SOFTHSM2_CONF} from the environment when it is loaded), with a
 * clock 250 days ahead so that the intermediate is two thirds through its year.
 */
class KeelCaHsmRenewalTest {

    private static final Path MODULE = Path.of("/usr/lib/softhsm/libsofthsm2.so");
    private static final String PIN = "5150-renew";
    private static final Duration AHEAD = Duration.ofDays(250);

    @TempDir
    Path tmp;

    @Test
    void anIntermediateWhoseKeyIsInTheTokenIsRenewedWithANewTokenKeyAndOpensslVerifiesItsLeaves() throws Exception {
        Path conf = initToken();
        Path pin = Files.writeString(tmp.resolve("pin"), PIN + "\n");
        Path dir = tmp.resolve("ca");
        Result init = java(conf, Keel.class.getName(), "ca", "init", "--data-dir", dir.toString(), "--key",
                "pkcs11:token=keel-renew;object=ca?module-path=" + MODULE + "&pin-source=file:" + pin);
        assertThat(init.exit()).as(init.output()).isZero();

        Path chain = tmp.resolve("chain.pem");
        Result renew = java(conf, RenewInTheToken.class.getName(), dir.toString(), chain.toString());
        assertThat(renew.exit()).as(renew.output()).isZero();
        System.out.println("KeelCaHsmRenewalTest child: " + renew.output().strip().replace("\n", " | "));
        assertThat(renew.output()).contains("renewed: pkcs11:token=keel-renew;object=ca-2", "again: not due")
                .doesNotContain(PIN);
        assertThat(Files.readString(dir.resolve("ca.properties"))).contains("object\\=ca-2?", "root_key=pkcs11")
                .doesNotContain(PIN);
        try (Stream<Path> files = Files.list(dir)) {
            assertThat(files.map(p -> p.getFileName().toString())).noneMatch(name -> name.contains("key"))
                    .noneMatch(name -> name.endsWith(".next"));
        }
        assertThat(Pem.decodeCertificates(Files.readString(dir.resolve("intermediates.pem")))).hasSize(2);

        // openssl checks the new leaf at the time it was issued (250 days from now), under the same root.
        long at = Clock.systemUTC().instant().plus(AHEAD).plusSeconds(60).getEpochSecond();
        List<java.security.cert.X509Certificate> certs = Pem.decodeCertificates(Files.readString(chain));
        Path leaf = Files.writeString(tmp.resolve("leaf.pem"), Pem.encodeCertificate(certs.get(0)));
        Result verify = run(List.of("openssl", "verify", "-attime", Long.toString(at), "-CAfile",
                dir.resolve("root-cert.pem").toString(), "-untrusted", chain.toString(), leaf.toString()), conf);
        assertThat(verify.output()).contains(": OK");

        Result inspect = java(conf, TokenKeys.class.getName());
        assertThat(inspect.exit()).as(inspect.output()).isZero();
        for (String label : List.of("ca", "ca-2", "ca-root", "ca-jwt")) {
            assertThat(inspect.output()).contains(label + ": sensitive, unextractable");
        }
    }

    /** Child JVM: renews with the clock {@link #AHEAD}, then issues a leaf through the new key and writes its chain. */
    public static final class RenewInTheToken {
        public static void main(String[] args) throws Exception {
            Path dir = Path.of(args[0]);
            Clock late = Clock.offset(Clock.systemUTC(), AHEAD);
            KeyResolver keys = KeyResolvers.forDataDir(dir);
            IntermediateRenewal renewal = new IntermediateRenewal(KeyResolvers.successors(), Optional.empty());
            CaDirectory.LoadedCa loaded = CaDirectory.load(dir, late, keys);
            try (CitadelCa ca = CitadelCa.open(loaded, keys, IssuancePolicy.DEFAULT, List.of(), late)) {
                long start = System.nanoTime();
                if (!ca.renewIntermediateIfDue(renewal)) {
                    throw new AssertionError("not renewed");
                }
                System.out.println("renewed: " + ca.loaded().signingCa().key().id() + " in "
                        + (System.nanoTime() - start) / 1_000_000 + " ms");
                System.out.println("again: " + (ca.renewIntermediateIfDue(renewal) ? "RENEWED TWICE" : "not due"));
                var svid = ca.service().issueAsOperator("test",
                        TestCsr.builder().uriSan("spiffe://cluster.local/ns/a/sa/x").build().pem(), Duration.ZERO).join();
                if (!svid.chain().get(1).equals(ca.loaded().signingCa().certificate())) {
                    throw new AssertionError("the leaf does not chain to the renewed intermediate");
                }
                Files.writeString(Path.of(args[1]), Pem.encodeCertificates(svid.chain()));
            }
        }
    }

    /** Child JVM: the token's private keys and the attributes the token reports for them. */
    public static final class TokenKeys {
        public static void main(String[] args) throws Exception {
            Provider p = Security.getProvider("SunPKCS11").configure("--name = inspect\nlibrary = " + MODULE
                    + "\nslotListIndex = 0\n");
            KeyStore store = KeyStore.getInstance("PKCS11", p);
            store.load(null, PIN.toCharArray());
            for (String alias : Collections.list(store.aliases())) {
                if (store.isKeyEntry(alias)) {
                    String text = store.getKey(alias, null).toString();
                    System.out.println(alias + ": " + (text.contains("sensitive") ? "sensitive" : "NOT sensitive")
                            + (text.contains("unextractable") ? ", unextractable" : ", EXTRACTABLE")
                            + (((PrivateKey) store.getKey(alias, null)).getEncoded() == null ? "" : ", ENCODED"));
                }
            }
        }
    }

    private Path initToken() throws Exception {
        Path tokens = Files.createDirectories(tmp.resolve("hsm/tokens"));
        Path conf = tmp.resolve("hsm/softhsm2.conf");
        Files.writeString(conf, "directories.tokendir = " + tokens + "\nobjectstore.backend = file\nlog.level = ERROR\n");
        Result init = run(List.of("softhsm2-util", "--init-token", "--free", "--label", "keel-renew", "--pin", PIN,
                "--so-pin", "so-" + PIN), conf);
        assertThat(init.exit()).as(init.output()).isZero();
        return conf;
    }

    record Result(int exit, String output) {
    }

    private static Result java(Path conf, String... args) throws Exception {
        List<String> command = new ArrayList<>();
        command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        command.add("-cp");
        command.add(System.getProperty("surefire.test.class.path", System.getProperty("java.class.path")));
        command.addAll(List.of(args));
        return run(command, conf);
    }

    private static Result run(List<String> command, Path conf) throws IOException, InterruptedException {
        ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true);
        builder.environment().put("SOFTHSM2_CONF", conf.toString());
        Process process = builder.start();
        process.getOutputStream().close();
        String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!process.waitFor(120, TimeUnit.SECONDS)) {
            process.destroyForcibly();
            throw new IOException(String.join(" ", command) + " did not finish in 120 s");
        }
        return new Result(process.exitValue(), output);
    }
}
