package dev.keel.hsm;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;

class Pkcs11UriTest {

    private static final String QUERY = "?module-path=/usr/lib/softhsm/libsofthsm2.so&pin-source=file:/etc/keel/pin";

    @Test
    void parsesTheAttributesKeelUses() {
        Pkcs11Uri uri = Pkcs11Uri.parse("pkcs11:token=keel-ca;object=ca-key;id=%01%ff;type=private" + QUERY);

        assertThat(uri.token()).contains("keel-ca");
        assertThat(uri.object()).isEqualTo("ca-key");
        assertThat(uri.id()).hasValueSatisfying(id -> assertThat(id).containsExactly(0x01, 0xff));
        assertThat(uri.modulePath()).isEqualTo(Path.of("/usr/lib/softhsm/libsofthsm2.so"));
        assertThat(uri.pinSource()).hasToString("file:/etc/keel/pin");
        assertThat(uri.keyId()).isEqualTo("pkcs11:token=keel-ca;object=ca-key;id=%01%ff;type=private");
        assertThat(uri.slotId()).isEmpty();
    }

    @Test
    void percentDecodesLabelsAndReadsSlotIdAndEnvPins() {
        Pkcs11Uri uri = Pkcs11Uri.parse("PKCS11:slot-id=1819538722;token=My%20CA;object=a%3Bb"
                + "?module-path=/m.so&pin-source=env:KEEL_HSM_PIN");

        assertThat(uri.token()).contains("My CA");
        assertThat(uri.object()).isEqualTo("a;b");
        assertThat(uri.slotId()).hasValue(1819538722L);
        assertThat(uri.pinSource()).hasToString("env:KEEL_HSM_PIN");
        assertThat(uri.withObject("ca-key-root").object()).isEqualTo("ca-key-root");
        assertThat(uri.withObject("ca-key-root").token()).contains("My CA");
        assertThat(uri.withObject("x").pinSource()).isEqualTo(uri.pinSource());
    }

    @Test
    void refusesAPinValueWithoutEchoingIt() {
        assertThatThrownBy(() -> Pkcs11Uri.parse("pkcs11:object=k?module-path=/m.so&pin-value=s3cret-1234"))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("pin-value is refused")
                .hasMessageNotContaining("s3cret");
    }

    @Test
    void namesWhatIsMissingOrWrong() {
        assertThatThrownBy(() -> Pkcs11Uri.parse("file:ca-key.pem")).hasMessageContaining("expected: pkcs11:");
        assertThatThrownBy(() -> Pkcs11Uri.parse("pkcs11:token=t" + QUERY)).hasMessageContaining("object is missing");
        assertThatThrownBy(() -> Pkcs11Uri.parse("pkcs11:object=k?pin-source=env:P"))
                .hasMessageContaining("module-path is missing");
        assertThatThrownBy(() -> Pkcs11Uri.parse("pkcs11:object=k?module-path=/m.so"))
                .hasMessageContaining("pin-source is missing");
        assertThatThrownBy(() -> Pkcs11Uri.parse("pkcs11:object=k;object=l" + QUERY)).hasMessageContaining("twice");
        assertThatThrownBy(() -> Pkcs11Uri.parse("pkcs11:object=k;serial=1" + QUERY))
                .hasMessageContaining("unsupported attribute serial");
        assertThatThrownBy(() -> Pkcs11Uri.parse("pkcs11:object=k;type=cert" + QUERY)).hasMessageContaining("type=cert");
        assertThatThrownBy(() -> Pkcs11Uri.parse("pkcs11:object=k%2" + QUERY)).hasMessageContaining("percent");
        assertThatThrownBy(() -> Pkcs11Uri.parse("pkcs11:object=k?module-path=/m.so&pin-source=http://x"))
                .hasMessageContaining("pin-source");
    }
}
