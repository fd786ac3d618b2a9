package dev.keel.cli.internal.up;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The token behind {@code keel up --hsm}, with the real softhsm2-util (.ci/run installs softhsm2). */
class SoftHsmTokenTest {

    @TempDir
    Path tmp;

    @Test
    void createsATokenWithAPrivatePinOnceAndReusesIt() throws Exception {
        Path dir = tmp.resolve("hsm");
        SoftHsmToken token = SoftHsmToken.openOrCreate(dir);
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(token.pinFile()))).isEqualTo("rw-------");
        String pin = Files.readString(token.pinFile()).strip();
        assertThat(pin).hasSize(24);
        assertThat(token.keyReference()).startsWith("pkcs11:token=keel-up;object=ca?module-path=")
                .contains("pin-source=file:" + token.pinFile()).doesNotContain(pin);
        assertThat(token.environment()).containsEntry("SOFTHSM2_CONF", dir.resolve("softhsm2.conf").toString());

        SoftHsmToken again = SoftHsmToken.openOrCreate(dir);
        assertThat(Files.readString(again.pinFile()).strip()).as("the same token, not a second one").isEqualTo(pin);
    }

    @Test
    void aTokenWhosePinWasNeverSavedIsNotInitializedASecondTime() throws Exception {
        Path dir = tmp.resolve("hsm");
        SoftHsmToken token = SoftHsmToken.openOrCreate(dir);
        Files.delete(token.pinFile());
        assertThatThrownBy(() -> SoftHsmToken.openOrCreate(dir)).hasMessageContaining("without its PIN file");
    }
}
