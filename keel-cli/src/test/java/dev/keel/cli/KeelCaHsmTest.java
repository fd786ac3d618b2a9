package dev.keel.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.keel.ca.CaDirectory;
import dev.keel.ca.CaException;
import dev.keel.ca.CitadelCa;
import dev.keel.ca.IssuancePolicy;
import dev.keel.ca.KeyResolver;
import dev.keel.cli.internal.KeyResolvers;
import dev.keel.identity.Pem;
import dev.keel.testing.TestCsr;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.AuthProvider;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.Provider;
import java.security.Security;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CompletionException;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code keel ca} with its keys in a SoftHSM2 token. SoftHSM reads {@code SOFTHSM2_CONF} from the
 * environment when the module is loaded, and a JVM cannot change its own environment, so every
 * {@code keel} run here is a child JVM (the test class path, {@code SOFTHSM2_CONF} pointing at a
 * token directory this class initialized in a temporary directory). Certificates are checked with
 * the real {@code openssl verify}.
 */
class KeelCaHsmTest {

    static final Path MODULE = Path.of("/usr/lib/softhsm/libsofthsm2.so");
    static final String PIN = "7391-cli-test";

    @TempDir
    static Path hsm;

    static Path conf;
    static Path pinFile;

    @TempDir
    Path tmp;

    @BeforeAll
    static void initToken() throws Exception {
        assertThat(MODULE).as("SoftHSM2 (apt-get install softhsm2; .ci/run installs it)").exists();
        Path tokens = Files.createDirectories(hsm.resolve("tokens"));
        conf = hsm.resolve("softhsm2.conf");
        Files.writeString(conf, "directories.tokendir = " + tokens + "\nobjectstore.backend = file\nlog.level = ERROR\n");
        pinFile = hsm.resolve("user.pin");
        Files.writeString(pinFile, PIN + "\n");
        Result init = run(List.of("softhsm2-util", "--init-token", "--free", "--label", "keel-ca", "--pin", PIN,
                "--so-pin", "so-" + PIN));
        assertThat(init.exit()).as(init.output()).isZero();
    }

    static String uri(String object) {
        return "pkcs11:token=keel-ca;object=" + object + "?module-path=" + MODULE + "&pin-source=file:" + pinFile;
    }

    @Test
    void initWithATokenKeyIssuesALeafThatOpensslVerifiesAndTheKeysStayInTheToken() throws Exception {
        Path ca = tmp.resolve("ca");
        Result init = keel("ca", "init", "--data-dir", ca.toString(), "--trust-domain", "example.org", "--key", uri("ca-key"));
        assertThat(init.exit()).as(init.output()).isZero();
        assertThat(init.output()).contains("self-signed CA for trust domain example.org",
                "key:        pkcs11:token=keel-ca;object=ca-key,").doesNotContain(PIN);
        try (Stream<Path> files = Files.list(ca)) {
            assertThat(files.map(p -> p.getFileName().toString())).noneMatch(name -> name.contains("key"));
        }
        assertThat(Files.readString(ca.resolve("ca.properties"))).contains("ca_key=pkcs11\\:token\\=keel-ca;object\\=ca-key?")
                .doesNotContain(PIN);

        Path csr = tmp.resolve("w.csr");
        Files.writeString(csr, TestCsr.builder().uriSan("spiffe://example.org/ns/default/sa/orders").build().pem());
        Path chain = tmp.resolve("chain.pem");
        Result issue = keel("ca", "issue", "--data-dir", ca.toString(), "--csr", csr.toString(), "-o", chain.toString());
        assertThat(issue.exit()).as(issue.output()).isZero();

        assertThat(opensslVerify(ca.resolve("root-cert.pem"), chain)).contains(": OK");
        Result audit = keel("ca", "audit", "verify", "--data-dir", ca.toString());
        assertThat(audit.output()).contains("ok: 1 line");

        Result jwt = java(JwtThroughTheToken.class.getName(), ca.toString());
        assertThat(jwt.exit()).as(jwt.output()).isZero();
        assertThat(jwt.output()).contains("JWT-SVID verified: spiffe://example.org/ns/default/sa/orders, key pkcs11:token=keel-ca;object=ca-key-jwt");

        Result inspect = java(TokenInspector.class.getName());
        assertThat(inspect.exit()).as(inspect.output()).isZero();
        for (String label : List.of("ca-key", "ca-key-root", "ca-key-jwt")) {
            assertThat(inspect.output()).contains(label + ": token object, sensitive, unextractable, encoded=null, export refused");
        }
    }

    @Test
    void csrForAnEnterpriseRootThenInitFromTheSignedCertificate() throws Exception {
        Path csr = tmp.resolve("ca.csr");
        Result out = keel("ca", "init", "--trust-domain", "cluster.local", "--key", uri("plugged"), "--csr-out", csr.toString());
        assertThat(out.exit()).as(out.output()).isZero();
        assertThat(run(List.of("openssl", "req", "-in", csr.toString(), "-verify", "-noout")).output()).contains("verify OK");

        Path cacerts = Files.createDirectories(tmp.resolve("cacerts"));
        openssl(cacerts, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                "-keyout", "root-key.pem", "-out", "root-cert.pem", "-days", "30", "-subj", "/O=Enterprise/CN=Root",
                "-addext", "basicConstraints=critical,CA:true", "-addext", "keyUsage=critical,keyCertSign,cRLSign");
        openssl(cacerts, "x509", "-req", "-in", csr.toString(), "-CA", "root-cert.pem", "-CAkey", "root-key.pem",
                "-set_serial", "9", "-days", "30", "-copy_extensions", "copy", "-out", "ca-cert.pem");
        Files.writeString(cacerts.resolve("cert-chain.pem"),
                Files.readString(cacerts.resolve("ca-cert.pem")) + Files.readString(cacerts.resolve("root-cert.pem")));
        Files.delete(cacerts.resolve("root-key.pem"));

        Path ca = tmp.resolve("ca");
        Result init = keel("ca", "init", "--data-dir", ca.toString(), "--cacerts", cacerts.toString(), "--key", uri("plugged"));
        assertThat(init.exit()).as(init.output()).isZero();
        assertThat(init.output()).contains("plugged CA");

        Path leafCsr = tmp.resolve("w.csr");
        Files.writeString(leafCsr, TestCsr.builder().uriSan("spiffe://cluster.local/ns/a/sa/x").build().pem());
        Path chain = tmp.resolve("chain.pem");
        Result issue = keel("ca", "issue", "--data-dir", ca.toString(), "--csr", leafCsr.toString(), "-o", chain.toString());
        assertThat(issue.exit()).as(issue.output()).isZero();
        assertThat(opensslVerify(cacerts.resolve("root-cert.pem"), chain)).contains(": OK");
    }

    @Test
    void whenTheTokenCannotBeReachedIssuanceIsRefusedAsUnavailable() throws Exception {
        Path ca = tmp.resolve("ca");
        Path ownPin = tmp.resolve("own.pin");
        Files.writeString(ownPin, PIN);
        String reference = uri("outage").replace("pin-source=file:" + pinFile, "pin-source=file:" + ownPin);
        Result init = keel("ca", "init", "--data-dir", ca.toString(), "--key", reference);
        assertThat(init.exit()).as(init.output()).isZero();

        Result outage = java(TokenOutage.class.getName(), ca.toString(), ownPin.toString());
        assertThat(outage.exit()).as(outage.output()).isZero();
        assertThat(outage.output()).contains("before outage: issued", "during outage: UNAVAILABLE").doesNotContain(PIN);
        assertThat(Files.readAllLines(ca.resolve("audit.log"))).hasSize(2).last().asString()
                .contains("\"outcome\":\"refused\"", "UNAVAILABLE");
    }

    @Test
    void aPinOnTheCommandLineIsRefused() throws Exception {
        Result init = keel("ca", "init", "--data-dir", tmp.resolve("ca").toString(), "--key",
                "pkcs11:token=keel-ca;object=x?module-path=" + MODULE + "&pin-value=" + PIN);
        assertThat(init.exit()).isNotZero();
        assertThat(init.output()).contains("pin-value is refused").doesNotContain(PIN);
        assertThat(tmp.resolve("ca")).doesNotExist();
    }

    /** Child JVM: lists the token's private keys with the attributes the token reports and tries to export them. */
    public static final class TokenInspector {
        public static void main(String[] args) throws Exception {
            Provider p = Security.getProvider("SunPKCS11").configure("--name = inspect\nlibrary = " + MODULE
                    + "\nslotListIndex = 0\n");
            KeyStore store = KeyStore.getInstance("PKCS11", p);
            store.load(null, PIN.toCharArray());
            for (String alias : Collections.list(store.aliases())) {
                if (!store.isKeyEntry(alias)) {
                    continue;
                }
                PrivateKey key = (PrivateKey) store.getKey(alias, null);
                String text = key.toString();
                String flags = (text.contains("token object") ? "token object" : "session object")
                        + (text.contains("sensitive") ? ", sensitive" : ", NOT sensitive")
                        + (text.contains("unextractable") ? ", unextractable" : ", EXTRACTABLE");
                String export;
                try {
                    java.security.KeyFactory.getInstance(key.getAlgorithm())
                            .getKeySpec(key, java.security.spec.PKCS8EncodedKeySpec.class);
                    export = "EXPORTED";
                } catch (java.security.GeneralSecurityException e) {
                    export = "export refused";
                }
                System.out.println(alias + ": " + flags + ", encoded=" + (key.getEncoded() == null ? "null" : "BYTES")
                        + ", " + export);
            }
        }
    }

    /** Child JVM: a workload authenticated by its X.509-SVID gets a JWT-SVID signed by the token's JWT key. */
    public static final class JwtThroughTheToken {
        public static void main(String[] args) throws Exception {
            Path dir = Path.of(args[0]);
            KeyResolver keys = KeyResolvers.forDataDir(dir);
            CaDirectory.LoadedCa loaded = CaDirectory.load(dir, Clock.systemUTC(), keys);
            try (CitadelCa ca = CitadelCa.open(loaded, keys, IssuancePolicy.DEFAULT, List.of(), Clock.systemUTC())) {
                var svid = ca.service().issueAsOperator("test",
                        TestCsr.builder().uriSan("spiffe://example.org/ns/default/sa/orders").build().pem(), Duration.ZERO).join();
                var minted = ca.service().mintJwtSvid(new dev.keel.ca.auth.CallerCredentials(null, svid.chain()),
                        (dev.keel.identity.SpiffeId) null, List.of("payments"), Duration.ZERO).join();
                var verified = dev.keel.identity.JwtSvidVerifier.create(td -> java.util.Optional.of(ca.bundle().bundle()),
                        Clock.systemUTC()).verify(minted.token(), "payments");
                System.out.println("JWT-SVID verified: " + verified.spiffeId() + ", key " + loaded.jwtKey().id());
            }
        }
    }

    /** Child JVM: the CA issues, then the token logs out and its PIN is gone; issuance must say UNAVAILABLE. */
    public static final class TokenOutage {
        public static void main(String[] args) throws Exception {
            Path dir = Path.of(args[0]);
            KeyResolver keys = KeyResolvers.forDataDir(dir);
            CaDirectory.LoadedCa loaded = CaDirectory.load(dir, Clock.systemUTC(), keys);
            String csr = TestCsr.builder().uriSan("spiffe://cluster.local/ns/a/sa/x").build().pem();
            try (CitadelCa ca = CitadelCa.open(loaded, keys, IssuancePolicy.DEFAULT, List.of(), Clock.systemUTC())) {
                ca.service().issueAsOperator("test", csr, Duration.ZERO).join();
                System.out.println("before outage: issued");
                Files.delete(Path.of(args[1]));
                Provider outside = Security.getProvider("SunPKCS11").configure("--name = outside\nlibrary = " + MODULE
                        + "\nslotListIndex = 0\n");
                KeyStore.getInstance("PKCS11", outside).load(null, PIN.toCharArray());
                ((AuthProvider) outside).logout();
                try {
                    ca.service().issueAsOperator("test", csr, Duration.ZERO).join();
                    System.out.println("during outage: ISSUED");
                } catch (CompletionException e) {
                    System.out.println("during outage: " + ((CaException) e.getCause()).code() + " " + e.getCause().getMessage());
                }
            }
        }
    }

    record Result(int exit, String output) {
    }

    private Result keel(String... args) throws Exception {
        List<String> all = new ArrayList<>(List.of(Keel.class.getName()));
        all.addAll(List.of(args));
        return java(all.toArray(String[]::new));
    }

    private static Result java(String... args) throws Exception {
        List<String> command = new ArrayList<>();
        command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        command.add("-cp");
        command.add(System.getProperty("surefire.test.class.path", System.getProperty("java.class.path")));
        command.addAll(List.of(args));
        return run(command);
    }

    private static Result run(List<String> command) throws IOException, InterruptedException {
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

    private String opensslVerify(Path root, Path chain) throws Exception {
        List<java.security.cert.X509Certificate> certs = Pem.decodeCertificates(Files.readString(chain));
        Path leaf = tmp.resolve("leaf.pem");
        Files.writeString(leaf, Pem.encodeCertificate(certs.get(0)));
        Result verify = run(List.of("openssl", "verify", "-CAfile", root.toString(), "-untrusted", chain.toString(),
                leaf.toString()));
        return verify.output();
    }

    private static void openssl(Path dir, String... args) throws Exception {
        List<String> command = new ArrayList<>(List.of("openssl"));
        command.addAll(List.of(args));
        Process p = new ProcessBuilder(command).directory(dir.toFile()).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (p.waitFor() != 0) {
            throw new IllegalStateException("openssl " + String.join(" ", args) + " failed: " + out);
        }
    }
}
