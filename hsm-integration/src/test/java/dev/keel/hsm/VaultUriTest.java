package dev.keel.hsm;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.keel.identity.KeyType;
import dev.keel.testing.FakeVault;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** vault-transit: and vault-pki: references: settings written out, secrets only as sources. */
class VaultUriTest {

    @TempDir
    Path tmp;

    @Test
    void aTransitReferenceWritesOutEverySettingAndDefaultsTheTokenToVaultToken() {
        VaultUri uri = VaultUri.parse("vault-transit:keel-ca?address=https://127.0.0.1:8200", Map.of());

        assertThat(uri.toString()).isEqualTo("vault-transit:keel-ca?address=https://127.0.0.1:8200&token-source=env:VAULT_TOKEN");
        assertThat(uri.mount()).isEqualTo("transit");
        assertThat(uri.keyId()).isEqualTo("vault-transit:transit/keel-ca");
        assertThat(uri.withVersion(3).toString()).contains("&version=3&");
        assertThat(uri.withVersion(3).keyId()).isEqualTo("vault-transit:transit/keel-ca#v3");
        assertThat(uri.withVersion(3).withKey("keel-ca-root").toString())
                .isEqualTo("vault-transit:keel-ca-root?address=https://127.0.0.1:8200&token-source=env:VAULT_TOKEN");
        assertThat(VaultUri.parse(uri.toString(), Map.of())).isEqualTo(uri);
    }

    @Test
    void addressAndCaFileComeFromVaultAddrAndVaultCacertWhenAbsent() {
        VaultUri uri = VaultUri.parse("vault-pki:pki_int", Map.of("VAULT_ADDR", "https://vault.example:8200",
                "VAULT_CACERT", "/etc/vault/ca.pem"));

        assertThat(uri.toString()).isEqualTo("vault-pki:pki_int?address=https://vault.example:8200"
                + "&ca-file=/etc/vault/ca.pem&token-source=env:VAULT_TOKEN");
        assertThat(uri.mount()).isEqualTo("pki_int");
        assertThat(uri.keyId()).isEqualTo("vault-pki:pki_int");
    }

    @Test
    void secretsInTheReferenceAreRefusedWithoutBeingEchoed() {
        for (String secret : new String[] {"token", "secret-id", "role-id"}) {
            assertThatThrownBy(() -> VaultUri.parse("vault-transit:k?address=https://h&" + secret + "=hvs.s3cr3t", Map.of()))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining(secret + " is refused")
                    .hasMessageNotContaining("hvs.s3cr3t");
        }
        assertThatThrownBy(() -> VaultUri.parse("vault-transit:k?address=https://h&tokn=x", Map.of()))
                .hasMessageContaining("unknown parameter 'tokn'");
    }

    @Test
    void malformedReferencesSayWhatIsExpected() {
        assertThatThrownBy(() -> VaultUri.parse("vault-transit:k", Map.of())).hasMessageContaining("address is missing");
        assertThatThrownBy(() -> VaultUri.parse("vault-transit:k?address=http://h", Map.of()))
                .hasMessageContaining("expected: an https:// URL");
        assertThatThrownBy(() -> VaultUri.parse("vault-transit:a/b?address=https://h", Map.of()))
                .hasMessageContaining("set the engine with mount=");
        assertThatThrownBy(() -> VaultUri.parse("vault-transit:k?address=https://h&version=0", Map.of()))
                .hasMessageContaining("expected: a number >= 1");
        assertThatThrownBy(() -> VaultUri.parse("vault-transit:k?address=https://h&role-id-source=env:R", Map.of()))
                .hasMessageContaining("needs both role-id-source and secret-id-source");
        assertThatThrownBy(() -> VaultUri.parse("vault-transit:k?address=https://h&token-source=plain", Map.of()))
                .hasMessageContaining("token-source: 'plain' (expected: file:<path> or env:<VARIABLE>)");
        assertThatThrownBy(() -> VaultUri.parse("vault-pki:pki?address=https://h&mount=x", Map.of()))
                .hasMessageContaining("the PKI mount is the path");
    }

    @Test
    void credentialsAreReadFromTheirSourcesAndOpenTheKey() throws Exception {
        try (FakeVault vault = new FakeVault()) {
            vault.createKey("keel-ca", KeyType.EC_P256);
            Path token = Files.writeString(tmp.resolve("token"), vault.rootToken + "\n");
            Path ca = Files.writeString(tmp.resolve("vault-ca.pem"), vault.caPem());
            VaultUri uri = VaultUri.parse("vault-transit:keel-ca?address=" + vault.address() + "&ca-file=" + ca
                    + "&token-source=file:" + token, Map.of());

            VaultTransitSigningKey key = uri.transitKey().open();

            assertThat(key.id()).isEqualTo("vault-transit:transit/keel-ca#v1");
            assertThat(uri.toString()).doesNotContain(vault.rootToken);

            Path roleId = Files.writeString(tmp.resolve("role"), vault.roleId);
            Path secretId = Files.writeString(tmp.resolve("secret"), vault.secretId);
            VaultUri appRole = VaultUri.parse("vault-transit:keel-ca?address=" + vault.address() + "&ca-file=" + ca
                    + "&role-id-source=file:" + roleId + "&secret-id-source=file:" + secretId, Map.of());
            assertThat(appRole.transitKey().open().publicKey()).isEqualTo(key.publicKey());
            assertThat(vault.logins.get()).isEqualTo(1);
        }
    }

    @Test
    void aMissingTokenNamesTheSourceNotASecret() {
        VaultUri uri = VaultUri.parse("vault-transit:k?address=https://127.0.0.1:1&token-source=env:KEEL_TEST_NO_SUCH_VARIABLE",
                Map.of());
        assertThatThrownBy(uri::credentials).isInstanceOf(IOException.class)
                .hasMessage("token-source env:KEEL_TEST_NO_SUCH_VARIABLE: the variable is not set");
    }
}
