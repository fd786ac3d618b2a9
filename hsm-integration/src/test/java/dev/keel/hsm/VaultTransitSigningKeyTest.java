package dev.keel.hsm;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.keel.identity.KeyType;
import dev.keel.identity.SignatureAlgorithm;
import dev.keel.testing.FakeVault;
import dev.keel.identity.SigningException;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.security.Signature;
import java.time.Duration;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Vault's failure modes become clear, correctly classified signing errors, with bounded retries and no secret shown. */
class VaultTransitSigningKeyTest {

    private static final byte[] DATA = "tbs".getBytes(StandardCharsets.UTF_8);

    private FakeVault vault;
    private final ByteArrayOutputStream log = new ByteArrayOutputStream();
    private PrintStream originalErr;

    @BeforeEach
    void start() throws Exception {
        vault = new FakeVault();
        vault.createKey("ca", KeyType.EC_P256);
        originalErr = System.err;
        System.setErr(new PrintStream(log, true, StandardCharsets.UTF_8)); // slf4j-simple writes here
    }

    @AfterEach
    void stop() {
        System.setErr(originalErr);
        vault.close();
    }

    private VaultTransitSigningKey.Builder key(VaultCredentials credentials) {
        return VaultTransitSigningKey.builder(vault.address(), "ca").trustedCertificatesPem(vault.caPem())
                .credentials(credentials).retries(3, Duration.ofMillis(10));
    }

    @Test
    void aSealedVaultIsRetriedABoundedNumberOfTimesThenUnavailable() throws Exception {
        VaultTransitSigningKey key = key(VaultCredentials.token(vault.rootToken)).open();
        vault.sealed = true;

        assertThatThrownBy(() -> key.sign(SignatureAlgorithm.ECDSA_SHA256, DATA))
                .isInstanceOfSatisfying(SigningException.class, e -> assertThat(e.unavailable()).isTrue())
                .hasMessageContaining("Vault transit key transit/ca")
                .hasMessageContaining("HTTP 503 (Vault is sealed or in standby)")
                .hasMessageContaining("after 3 attempts");
        assertSecretsNeverShown();
    }

    @Test
    void aTransientFailureIsRetriedAndTheSignatureVerifies() throws Exception {
        VaultTransitSigningKey key = key(VaultCredentials.token(vault.rootToken)).open();
        vault.failNext.set(2);

        byte[] signature = key.sign(SignatureAlgorithm.ECDSA_SHA256, DATA);

        assertThat(vault.signCalls.get()).isEqualTo(3);
        Signature verifier = Signature.getInstance("SHA256withECDSA");
        verifier.initVerify(key.publicKey());
        verifier.update(DATA);
        assertThat(verifier.verify(signature)).isTrue();
        assertThat(log.toString(StandardCharsets.UTF_8)).contains("attempt 1/3 failed: HTTP 503");
    }

    @Test
    void permissionDeniedIsAPermanentErrorWithoutRetries() throws Exception {
        VaultTransitSigningKey key = key(VaultCredentials.token(vault.rootToken)).open();
        vault.denied = true;
        int before = vault.requests.get();

        assertThatThrownBy(() -> key.sign(SignatureAlgorithm.ECDSA_SHA256, DATA))
                .isInstanceOfSatisfying(SigningException.class, e -> {
                    assertThat(e.unavailable()).isFalse();
                    assertThat(e.refused()).isTrue();
                })
                .hasMessageContaining("HTTP 403 (permission denied)");
        assertThat(vault.requests.get() - before).isEqualTo(1);
        assertSecretsNeverShown();
    }

    @Test
    void anExportableKeyIsNotACaKeyWhoeverMadeIt() throws Exception {
        vault.createKey("made-by-someone", KeyType.EC_P256);
        vault.makeExportable("made-by-someone");
        assertThatThrownBy(() -> VaultTransitSigningKey.builder(vault.address(), "made-by-someone").trustedCertificatesPem(vault.caPem())
                .credentials(VaultCredentials.token(vault.rootToken)).openOrCreate(KeyType.EC_P256))
                .isInstanceOf(java.io.IOException.class).hasMessageContaining("exportable");
    }

    @Test
    void aTimeoutIsUnavailable() throws Exception {
        VaultTransitSigningKey key = key(VaultCredentials.token(vault.rootToken)).timeout(Duration.ofSeconds(1))
                .retries(2, Duration.ofMillis(10)).open();
        vault.delay = Duration.ofMillis(2500);

        assertThatThrownBy(() -> key.sign(SignatureAlgorithm.ECDSA_SHA256, DATA))
                .isInstanceOfSatisfying(SigningException.class, e -> assertThat(e.unavailable()).isTrue())
                .hasMessageContaining("after 2 attempts");
        vault.delay = Duration.ZERO;
    }

    @Test
    void appRoleLogsInAndLogsInAgainWhenItsTokenIsRevoked() throws Exception {
        VaultTransitSigningKey key = key(VaultCredentials.appRole(vault.roleId, vault.secretId)).open();
        assertThat(key.sign(SignatureAlgorithm.ECDSA_SHA256, DATA)).isNotEmpty();
        assertThat(vault.logins.get()).isEqualTo(1);

        vault.validTokens.removeIf(token -> token.startsWith("hvs.approle-")); // token expired or revoked

        assertThat(key.sign(SignatureAlgorithm.ECDSA_SHA256, DATA)).isNotEmpty();
        assertThat(vault.logins.get()).isEqualTo(2);
        assertThat(key.id()).isEqualTo("vault-transit:transit/ca#v1");
        assertThat(VaultCredentials.appRole(vault.roleId, vault.secretId).toString()).doesNotContain(vault.secretId);
        assertSecretsNeverShown();
    }

    @Test
    void wrongAppRoleSecretAndMissingKeyAreClearErrorsAtOpen() {
        assertThatThrownBy(() -> key(VaultCredentials.appRole(vault.roleId, "wrong-secret-42")).open())
                .isInstanceOf(IOException.class).hasMessageContaining("HTTP 400").hasMessageNotContaining("wrong-secret-42");
        assertThatThrownBy(() -> VaultTransitSigningKey.builder(vault.address(), "nope").trustedCertificatesPem(vault.caPem())
                .credentials(VaultCredentials.token(vault.rootToken)).open())
                .isInstanceOf(IOException.class).hasMessageContaining("transit/nope").hasMessageContaining("HTTP 404");
        assertThatThrownBy(() -> VaultTransitSigningKey.builder("http://localhost:8200", "ca"))
                .hasMessageContaining("expected: an https:// URL");
    }

    @Test
    void anUntrustedServerCertificateIsRefused() {
        assertThatThrownBy(() -> VaultTransitSigningKey.builder(vault.address(), "ca")
                .trustedCertificatesPem(dev.keel.testing.TestPki.create().rootPem())
                .credentials(VaultCredentials.token(vault.rootToken)).open())
                .isInstanceOf(IOException.class).hasMessageContaining("no answer");
    }

    @Test
    void openOrCreateMakesANonExportableKeyAndRotateGivesANewVersionWhileTheOldOneKeepsSigning() throws Exception {
        VaultTransitSigningKey first = VaultTransitSigningKey.builder(vault.address(), "made").trustedCertificatesPem(
                vault.caPem()).credentials(VaultCredentials.token(vault.rootToken)).openOrCreate(KeyType.EC_P384);
        assertThat(first.keyType()).isEqualTo(KeyType.EC_P384);
        assertThat(first.keyVersion()).isEqualTo(1);

        VaultTransitSigningKey second = first.rotate();

        assertThat(second.keyVersion()).isEqualTo(2);
        assertThat(second.id()).isEqualTo("vault-transit:transit/made#v2");
        assertThat(second.publicKey()).isNotEqualTo(first.publicKey());
        assertThat(verifies(first, first.sign(SignatureAlgorithm.ECDSA_SHA384, DATA))).isTrue();
        assertThat(verifies(second, second.sign(SignatureAlgorithm.ECDSA_SHA384, DATA))).isTrue();
        VaultTransitSigningKey pinned = VaultTransitSigningKey.builder(vault.address(), "made")
                .trustedCertificatesPem(vault.caPem()).credentials(VaultCredentials.token(vault.rootToken)).version(1).open();
        assertThat(pinned.publicKey()).isEqualTo(first.publicKey());
        assertThatThrownBy(() -> VaultTransitSigningKey.builder(vault.address(), "made").trustedCertificatesPem(vault.caPem())
                .credentials(VaultCredentials.token(vault.rootToken)).version(7).open())
                .isInstanceOf(IOException.class).hasMessageContaining("has no version 7 (latest: 2)");

        int requests = vault.requests.get();
        VaultTransitSigningKey existing = key(VaultCredentials.token(vault.rootToken)).openOrCreate(KeyType.EC_P256);
        assertThat(existing.publicKey()).isEqualTo(key(VaultCredentials.token(vault.rootToken)).open().publicKey());
        assertThat(vault.requests.get() - requests).as("an existing key is only read, never written").isEqualTo(3);
    }

    private static boolean verifies(VaultTransitSigningKey key, byte[] signature) throws Exception {
        Signature verifier = Signature.getInstance("SHA384withECDSA");
        verifier.initVerify(key.publicKey());
        verifier.update(DATA);
        return verifier.verify(signature);
    }

    private void assertSecretsNeverShown() {
        assertThat(log.toString(StandardCharsets.UTF_8)).doesNotContain(vault.rootToken).doesNotContain(vault.secretId)
                .doesNotContain("hvs.");
    }
}
