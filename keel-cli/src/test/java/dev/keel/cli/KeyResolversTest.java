package dev.keel.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.keel.cli.internal.KeyResolvers;
import dev.keel.identity.KeyType;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** How the CLI picks key custody backends from references, and how often serve checks for renewal. */
class KeyResolversTest {

    @TempDir
    Path tmp;

    @Test
    void aMalformedReferenceReportsItsOwnProblemNotAnUnknownScheme() {
        assertThatThrownBy(() -> KeyResolvers.forDataDir(tmp).resolve("vault-transit:k?address=http://h"))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("expected: an https:// URL");
        assertThatThrownBy(() -> KeyResolvers.forDataDir(tmp).resolve("vault-transit:k?address=https://h&token=hvs.x1"))
                .hasMessageContaining("token is refused").hasMessageNotContaining("hvs.x1");
        assertThatThrownBy(() -> KeyResolvers.forDataDir(tmp).resolve("aws-kms:alias/ca?token=hvs.x1"))
                .hasMessage("key reference aws-kms:alias/ca?…: unknown scheme (expected: file:, pkcs11: or vault-transit:)");
    }

    @Test
    void onlyHsmAndTransitKeysHaveSuccessorsAndOnlyVaultPkiIsAnUpstream() {
        assertThatThrownBy(() -> KeyResolvers.successors().generateSuccessor("file:ca-key.pem", KeyType.EC_P256))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("no backend here can make a new key");
        assertThatThrownBy(() -> KeyResolvers.upstream("https://vault:8200/v1/pki"))
                .hasMessageContaining("expected: vault-pki:<mount>?address=https://...");
        assertThatThrownBy(() -> KeyResolvers.parseInitKey("file:/etc/ca-key.pem"))
                .hasMessageContaining("expected: a pkcs11: URI or a vault-transit: reference");
    }

    @Test
    void serveChecksRenewalATwentiethOfTheIntermediatesLifeBetweenOneSecondAndOneHour() {
        assertThat(CaServeCommand.checkInterval(Duration.ofMinutes(4))).isEqualTo(Duration.ofSeconds(12));
        assertThat(CaServeCommand.checkInterval(Duration.ofSeconds(10))).isEqualTo(Duration.ofSeconds(1));
        assertThat(CaServeCommand.checkInterval(Duration.ofDays(365))).isEqualTo(Duration.ofHours(1));
    }
}
