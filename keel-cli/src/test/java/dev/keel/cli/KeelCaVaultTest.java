package dev.keel.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.keel.ca.CaDirectory;
import dev.keel.ca.CaException;
import dev.keel.ca.CitadelCa;
import dev.keel.ca.IntermediateRenewal;
import dev.keel.ca.IssuancePolicy;
import dev.keel.ca.KeyResolver;
import dev.keel.cli.internal.KeyResolvers;
import dev.keel.identity.KeyType;
import dev.keel.identity.Pem;
import dev.keel.testing.FakeVault;
import dev.keel.testing.TestCsr;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletionException;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code keel ca} with Vault: CA keys in Vault Transit ({@code --key vault-transit:…}) and Vault PKI as
 * the upstream authority of the issuing intermediate ({@code --upstream vault-pki:…}), renewed by
 * {@code keel ca serve}. No Vault server can be installed here: Vault is {@link FakeVault}, an in-test
 * HTTPS server following Vault's HTTP API. {@code keel} runs as child JVMs with {@code VAULT_TOKEN} in
 * their environment, as an operator would run it; certificates are checked with the real
 * {@code openssl verify}.
 */
class KeelCaVaultTest {

    @TempDir
    Path tmp;

    private FakeVault vault;
    private Path vaultCa;

    @BeforeEach
    void startVault() throws Exception {
        vault = new FakeVault();
        vaultCa = Files.writeString(tmp.resolve("vault-ca.pem"), vault.caPem());
    }

    @AfterEach
    void stopVault() {
        vault.close();
    }

    private String transitKey(String name) {
        return "vault-transit:" + name + "?address=" + vault.address() + "&ca-file=" + vaultCa;
    }

    @Test
    void initWithAVaultTransitKeyIssuesALeafThatOpensslVerifiesAndNoKeyOrTokenIsOnDisk() throws Exception {
        Path ca = tmp.resolve("ca");
        Result init = keel(vault.rootToken, "ca", "init", "--data-dir", ca.toString(), "--key", transitKey("keel-ca"));
        assertThat(init.exit()).as(init.output()).isZero();
        assertThat(init.output()).contains("key:        vault-transit:transit/keel-ca#v1,").doesNotContain(vault.rootToken);
        assertThat(List.of(vault.versions("keel-ca"), vault.versions("keel-ca-root"), vault.versions("keel-ca-jwt")))
                .containsOnly(1);
        try (Stream<Path> files = Files.list(ca)) {
            assertThat(files.map(p -> p.getFileName().toString())).noneMatch(name -> name.contains("key"));
        }
        assertThat(Files.readString(ca.resolve("ca.properties"))).contains("ca_key=vault-transit\\:keel-ca?address",
                "version\\=1", "token-source\\=env\\:VAULT_TOKEN", "root_key=vault-transit\\:keel-ca-root?")
                .doesNotContain(vault.rootToken);

        int signaturesBefore = vault.signCalls.get();
        Path csr = tmp.resolve("w.csr");
        Files.writeString(csr, TestCsr.builder().uriSan("spiffe://cluster.local/ns/default/sa/orders").build().pem());
        Path chain = tmp.resolve("chain.pem");
        Result issue = keel(vault.rootToken, "ca", "issue", "--data-dir", ca.toString(), "--csr", csr.toString(), "-o",
                chain.toString());
        assertThat(issue.exit()).as(issue.output()).isZero();
        assertThat(vault.signCalls.get()).isGreaterThan(signaturesBefore); // the leaf was signed in Vault
        assertThat(opensslVerify(ca.resolve("root-cert.pem"), chain)).contains(": OK");
    }

    @Test
    void aWrongTokenOrASealedVaultIsAClearErrorThatNeverShowsTheToken() throws Exception {
        String wrong = "hvs.not-the-token-0042";
        Result denied = keel(wrong, "ca", "init", "--data-dir", tmp.resolve("ca").toString(), "--key", transitKey("keel-ca"));
        assertThat(denied.exit()).isNotZero();
        assertThat(denied.output()).contains("Vault transit key transit/keel-ca-root", "HTTP 403 (permission denied)")
                .doesNotContain(wrong);
        assertThat(tmp.resolve("ca")).doesNotExist();

        Result noToken = keel(null, "ca", "init", "--data-dir", tmp.resolve("ca").toString(), "--key", transitKey("keel-ca"));
        assertThat(noToken.output()).contains("token-source env:VAULT_TOKEN: the variable is not set");

        vault.sealed = true;
        Result sealed = keel(vault.rootToken, "ca", "init", "--data-dir", tmp.resolve("ca").toString(), "--key",
                transitKey("keel-ca"));
        assertThat(sealed.exit()).isNotZero();
        assertThat(sealed.output()).contains("HTTP 503 (Vault is sealed or in standby)", "after 3 attempts")
                .doesNotContain(vault.rootToken);
    }

    @Test
    void issuanceThroughASealedOrRefusingVaultIsRefusedAndTheTransitKeyIsRenewedAsANewVersion() throws Exception {
        Path token = Files.writeString(tmp.resolve("vault-token"), vault.rootToken + "\n");
        String key = transitKey("keel-ca") + "&token-source=file:" + token;
        Path dir = tmp.resolve("ca");
        Result init = keel(null, "ca", "init", "--data-dir", dir.toString(), "--key", key);
        assertThat(init.exit()).as(init.output()).isZero();
        KeyResolver keys = KeyResolvers.forDataDir(dir);
        String csr = TestCsr.builder().uriSan("spiffe://cluster.local/ns/a/sa/x").build().pem();

        CaDirectory.LoadedCa loaded = CaDirectory.load(dir, Clock.systemUTC(), keys);
        try (CitadelCa ca = CitadelCa.open(loaded, keys, IssuancePolicy.DEFAULT, List.of(), Clock.systemUTC())) {
            assertThat(ca.service().issueAsOperator("test", csr, Duration.ZERO).join().chain()).hasSize(2);
            vault.sealed = true;
            assertThat(refusal(ca, csr)).startsWith("UNAVAILABLE").contains("HTTP 503 (Vault is sealed or in standby)");
            vault.sealed = false;
            vault.denied = true;
            assertThat(refusal(ca, csr)).startsWith("FAILED_PRECONDITION").contains("HTTP 403 (permission denied)")
                    .doesNotContain(vault.rootToken);
            vault.denied = false;
        }

        // Two thirds into the intermediate's year, renewal rotates the Transit key and pins the new version.
        Clock late = Clock.offset(Clock.systemUTC(), Duration.ofDays(250));
        CaDirectory.LoadedCa renewed = CaDirectory.renewIntermediateIfDue(CaDirectory.load(dir, late, keys), late, keys,
                new IntermediateRenewal(KeyResolvers.successors(), Optional.empty())).orElseThrow();
        assertThat(vault.versions("keel-ca")).isEqualTo(2);
        assertThat(renewed.signingCa().key().id()).isEqualTo("vault-transit:transit/keel-ca#v2");
        assertThat(renewed.signingCa().certificate().getPublicKey()).isNotEqualTo(loaded.signingCa().certificate().getPublicKey());
        assertThat(renewed.signingCa().roots()).isEqualTo(loaded.signingCa().roots());
        assertThat(Files.readString(dir.resolve("ca.properties"))).contains("version\\=2").doesNotContain(vault.rootToken);
        assertThat(CaDirectory.intermediates(dir, late.instant())).hasSize(2);
    }

    private static String refusal(CitadelCa ca, String csr) {
        try {
            ca.service().issueAsOperator("test", csr, Duration.ZERO).join();
            return "ISSUED";
        } catch (CompletionException e) {
            CaException refused = (CaException) e.getCause();
            return refused.code() + " " + refused.getMessage();
        }
    }

    @Test
    void vaultPkiSignsTheIntermediateAndServeRenewsItAtHalfItsLifeWithTheOldOneOverlapping() throws Exception {
        // The intermediate's key is in Vault Transit too: serve signs through it, and renewal rotates it.
        Path ca = tmp.resolve("ca");
        String upstream = "vault-pki:pki?address=" + vault.address() + "&ca-file=" + vaultCa;
        // The first intermediate is signed as if 100 s ago: half of its 4 minutes (plus Vault's 30 s backdating)
        // is spent a few seconds after init, so serve renews it at once; it stays valid 140 s after init.
        vault.clock = Clock.offset(Clock.systemUTC(), Duration.ofSeconds(-100));
        Result init = keel(vault.rootToken, "ca", "init", "--data-dir", ca.toString(), "--upstream", upstream,
                "--intermediate-ttl", "4m", "--key", transitKey("keel-int"));
        assertThat(init.exit()).as(init.output()).isZero();
        assertThat(init.output()).contains("created an upstream CA", "upstream:   vault-pki:pki, intermediates of PT4M")
                .doesNotContain(vault.rootToken);
        assertThat(Pem.decodeCertificates(Files.readString(ca.resolve("root-cert.pem")))).containsExactly(vault.pkiRoot());
        Path oldChain = issue(ca, "old");
        X509Certificate oldIntermediate = Pem.decodeCertificates(Files.readString(oldChain)).get(1);

        vault.clock = Clock.systemUTC();
        int signaturesBefore = vault.signCalls.get();
        try (KeelProcess serve = KeelProcess.start("ca", tmp.resolve("logs"), Map.of("VAULT_TOKEN", vault.rootToken),
                "ca", "serve", "--data-dir", ca.toString(), "--host", "127.0.0.1", "--port", "0", "--bundle-port", "0")) {
            serve.await("renewed the issuing intermediate", Duration.ofSeconds(60));
            Matcher bundlePort = serve.await("SPIFFE bundle endpoint: +https://127.0.0.1:(\\d+)/", Duration.ofSeconds(30));

            List<X509Certificate> overlap = Pem.decodeCertificates(Files.readString(ca.resolve("intermediates.pem")));
            assertThat(overlap).hasSize(2);
            assertThat(overlap.get(1)).isEqualTo(oldIntermediate);
            assertThat(overlap.get(0)).isNotEqualTo(oldIntermediate);
            assertThat(overlap.get(0).getPublicKey()).isNotEqualTo(oldIntermediate.getPublicKey());
            assertThat(overlap.get(0).getNotAfter()).isAfter(oldIntermediate.getNotAfter());
            // Still serving: the SPIFFE bundle endpoint hands out Vault's root.
            Result bundle = run(List.of("curl", "-s", "--cacert", ca.resolve("root-cert.pem").toString(),
                    "https://127.0.0.1:" + bundlePort.group(1) + "/"), Map.of());
            assertThat(bundle.output()).as(bundle.output())
                    .contains(Base64.getEncoder().encodeToString(vault.pkiRoot().getEncoded()));
            assertThat(serve.output()).contains("key vault-transit:transit/keel-int#v2").doesNotContain(vault.rootToken);
            assertThat(vault.versions("keel-int")).isEqualTo(2);
            assertThat(vault.signCalls.get()).as("serving certificate and CSR signed in Vault").isGreaterThan(signaturesBefore);
            assertThat(serve.stop()).as("SIGTERM runs the shutdown hook").isIn(0, 143);
        }

        assertThat(Files.readString(ca.resolve("ca.properties"))).contains("ca_key=vault-transit\\:keel-int?", "version\\=2");
        Path newChain = issue(ca, "new");
        assertThat(Pem.decodeCertificates(Files.readString(newChain)).get(1)).isNotEqualTo(oldIntermediate);
        // Both leaves verify against the same root while the old intermediate is still valid.
        assertThat(opensslVerify(ca.resolve("root-cert.pem"), oldChain)).contains(": OK");
        assertThat(opensslVerify(ca.resolve("root-cert.pem"), newChain)).contains(": OK");
        assertThat(vault.pkiCalls.get()).isEqualTo(2);
    }

    private Path issue(Path ca, String name) throws Exception {
        Path csr = tmp.resolve(name + ".csr");
        Files.writeString(csr, TestCsr.builder().uriSan("spiffe://cluster.local/ns/shop/sa/" + name).build().pem());
        Path chain = tmp.resolve(name + "-chain.pem");
        Result issue = keel(vault.rootToken, "ca", "issue", "--data-dir", ca.toString(), "--csr", csr.toString(), "-o",
                chain.toString());
        assertThat(issue.exit()).as(issue.output()).isZero();
        return chain;
    }

    record Result(int exit, String output) {
    }

    /** {@code keel} in a child JVM with {@code VAULT_TOKEN} set to {@code token} (unset if null). */
    private static Result keel(String token, String... args) throws Exception {
        List<String> command = new ArrayList<>();
        command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        command.add("-cp");
        command.add(System.getProperty("surefire.test.class.path", System.getProperty("java.class.path")));
        command.add(Keel.class.getName());
        command.addAll(List.of(args));
        return run(command, token == null ? Map.of() : Map.of("VAULT_TOKEN", token));
    }

    private static Result run(List<String> command, Map<String, String> env) throws IOException, InterruptedException {
        ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true);
        builder.environment().remove("VAULT_TOKEN");
        builder.environment().putAll(env);
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
        List<X509Certificate> certs = Pem.decodeCertificates(Files.readString(chain));
        Path leaf = Files.createTempFile(tmp, "leaf", ".pem");
        Files.writeString(leaf, Pem.encodeCertificate(certs.get(0)));
        return run(List.of("openssl", "verify", "-CAfile", root.toString(), "-untrusted", chain.toString(),
                leaf.toString()), Map.of()).output();
    }
}
