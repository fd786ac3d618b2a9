package dev.keel.identity;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.security.PublicKey;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.junit.jupiter.api.Test;

class X509SvidTest {

    private static final TestCerts.Ca ROOT = TestCerts.root("example.org", KeyType.EC_P256);
    private static final TestCerts.Ca INTERMEDIATE = TestCerts.intermediate(ROOT, "example.org", KeyType.EC_P256);
    private static final PublicKey KEY = KeyPairs.generate(KeyType.EC_P256).getPublic();

    @Test
    void extractsTheSpiffeIdFromTheLeaf() {
        X509Certificate leaf = TestCerts.builder(KEY).uri("spiffe://example.org/ns/a/sa/x").dns("x.a.svc")
                .keyUsage(KeyUsage.digitalSignature).issuer(INTERMEDIATE).build();
        List<X509Certificate> chain = new ArrayList<>(List.of(leaf, INTERMEDIATE.certificate()));

        X509Svid svid = X509Svid.of(chain);
        chain.clear();

        assertThat(svid.spiffeId()).isEqualTo(SpiffeId.parse("spiffe://example.org/ns/a/sa/x"));
        assertThat(svid.leaf()).isEqualTo(leaf);
        assertThat(svid.chain()).containsExactly(leaf, INTERMEDIATE.certificate());
        assertThat(svid.notAfter()).isEqualTo(leaf.getNotAfter().toInstant());
        assertThatThrownBy(() -> svid.chain().add(leaf)).isInstanceOf(UnsupportedOperationException.class);
        assertThat(svid).isEqualTo(X509Svid.of(List.of(leaf, INTERMEDIATE.certificate())))
                .isNotEqualTo(X509Svid.of(List.of(leaf)));
        assertThat(svid.toString()).startsWith("X509Svid{spiffe://example.org/ns/a/sa/x, notAfter=").endsWith("chain=2}");
    }

    @Test
    void refusesLeavesWithoutExactlyOneUriSan() {
        X509Certificate none = TestCerts.builder(KEY).subject("CN=x").dns("x.example.org").issuer(INTERMEDIATE).build();
        X509Certificate noSan = TestCerts.builder(KEY).subject("CN=x").issuer(INTERMEDIATE).build();
        X509Certificate two = TestCerts.builder(KEY).uri("spiffe://example.org/a").uri("spiffe://example.org/b")
                .issuer(INTERMEDIATE).build();

        assertThatThrownBy(() -> X509Svid.of(List.of(none))).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("has 0 URI SANs (expected: exactly one, the SPIFFE ID)");
        assertThatThrownBy(() -> X509Svid.of(List.of(noSan))).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("has 0 URI SANs");
        assertThatThrownBy(() -> X509Svid.of(List.of(two))).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("has 2 URI SANs [spiffe://example.org/a, spiffe://example.org/b]");
    }

    @Test
    void refusesInvalidSpiffeIds() {
        X509Certificate http = TestCerts.builder(KEY).uri("https://example.org/a").issuer(INTERMEDIATE).build();

        assertThatThrownBy(() -> X509Svid.of(List.of(http))).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("leaf URI SAN is not a valid SPIFFE ID")
                .hasCauseInstanceOf(InvalidSpiffeIdException.class);
    }

    @Test
    void refusesEmptyAndNullChains() {
        assertThatThrownBy(() -> X509Svid.of(List.of())).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("chain: empty (expected: the leaf certificate first)");
        assertThatThrownBy(() -> X509Svid.of(null)).isInstanceOf(NullPointerException.class).hasMessage("chain");
        assertThatThrownBy(() -> X509Svid.of(Arrays.asList(ROOT.certificate(), null)))
                .isInstanceOf(NullPointerException.class);
    }
}
