package dev.keel.identity;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.security.PublicKey;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;
import org.junit.jupiter.api.Test;

class BundleTest {

    private static final TrustDomain TD = TrustDomain.parse("example.org");
    private static final X509Certificate ROOT_A = TestCerts.root("example.org", KeyType.EC_P256).certificate();
    private static final X509Certificate ROOT_B = TestCerts.root("example.org", KeyType.EC_P256).certificate();
    private static final PublicKey JWT_KEY = KeyPairs.generate(KeyType.EC_P256).getPublic();

    @Test
    void buildsAnImmutableBundle() {
        Bundle bundle = Bundle.builder(TD).addX509Authority(ROOT_A).addX509Authority(ROOT_B).addX509Authority(ROOT_A)
                .putJwtAuthority("k1", JWT_KEY).sequenceNumber(7).refreshHint(Duration.ofMinutes(5)).build();

        assertThat(bundle.trustDomain()).isEqualTo(TD);
        assertThat(bundle.x509Authorities()).containsExactly(ROOT_A, ROOT_B);
        assertThat(bundle.jwtAuthorities()).containsExactly(Map.entry("k1", JWT_KEY));
        assertThat(bundle.jwtAuthority("k1")).contains(JWT_KEY);
        assertThat(bundle.jwtAuthority("k2")).isEmpty();
        assertThat(bundle.sequenceNumber()).hasValue(7);
        assertThat(bundle.refreshHint()).contains(Duration.ofMinutes(5));
        assertThatThrownBy(() -> bundle.x509Authorities().add(ROOT_A)).isInstanceOf(UnsupportedOperationException.class);
        assertThatThrownBy(() -> bundle.jwtAuthorities().clear()).isInstanceOf(UnsupportedOperationException.class);
    }

    @Test
    void optionalPartsStartAbsent() {
        Bundle bundle = Bundle.of(TD, List.of(ROOT_A));

        assertThat(bundle.sequenceNumber()).isEqualTo(OptionalLong.empty());
        assertThat(bundle.refreshHint()).isEqualTo(Optional.empty());
        assertThat(bundle.jwtAuthorities()).isEmpty();
        assertThat(bundle.toString()).isEqualTo("Bundle{trustDomain=example.org, x509Authorities=1, jwtAuthorities=[]}");
    }

    @Test
    void withMethodsCopy() {
        Bundle original = Bundle.of(TD, List.of(ROOT_A)).withSequenceNumber(1);

        Bundle rotated = original.withX509Authorities(List.of(ROOT_A, ROOT_B)).withSequenceNumber(2)
                .withRefreshHint(Duration.ofSeconds(30)).withJwtAuthorities(Map.of("k", JWT_KEY));

        assertThat(original.x509Authorities()).containsExactly(ROOT_A);
        assertThat(original.sequenceNumber()).hasValue(1);
        assertThat(rotated.x509Authorities()).containsExactly(ROOT_A, ROOT_B);
        assertThat(rotated.sequenceNumber()).hasValue(2);
        assertThat(rotated.refreshHint()).contains(Duration.ofSeconds(30));
        assertThat(rotated.jwtAuthorities()).containsOnlyKeys("k");
        assertThat(rotated.toBuilder().build()).isEqualTo(rotated).hasSameHashCodeAs(rotated);
        assertThat(rotated.toBuilder().clearSequenceNumber().refreshHint(null).build().sequenceNumber()).isEmpty();
        assertThat(rotated).isNotEqualTo(original);
    }

    @Test
    void refusesBadArguments() {
        Bundle.Builder builder = Bundle.builder(TD).putJwtAuthority("k", JWT_KEY);

        assertThatThrownBy(() -> builder.putJwtAuthority("k", JWT_KEY)).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("keyId: \"k\" is already present (expected: unique key IDs)");
        assertThatThrownBy(() -> builder.putJwtAuthority("", JWT_KEY)).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("keyId: empty (expected: a non-empty key ID)");
        assertThatThrownBy(() -> builder.sequenceNumber(-1)).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("sequenceNumber: -1 (expected: >= 0)");
        assertThatThrownBy(() -> builder.refreshHint(Duration.ZERO)).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("refreshHint: PT0S (expected: whole seconds > 0)");
        assertThatThrownBy(() -> builder.refreshHint(Duration.ofMillis(1500))).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("refreshHint: PT1.5S (expected: whole seconds > 0)");
        assertThatThrownBy(() -> builder.addX509Authority(null)).isInstanceOf(NullPointerException.class)
                .hasMessage("authority");
        assertThatThrownBy(() -> Bundle.builder(null)).isInstanceOf(NullPointerException.class).hasMessage("trustDomain");
    }

    @Test
    void replacingJwtAuthoritiesIsAllOrNothing() {
        Bundle.Builder builder = Bundle.builder(TD).putJwtAuthority("keep", JWT_KEY);
        Map<String, PublicKey> bad = new LinkedHashMap<>();
        bad.put("ok", JWT_KEY);
        bad.put("", JWT_KEY);

        assertThatThrownBy(() -> builder.jwtAuthorities(bad)).isInstanceOf(IllegalArgumentException.class);
        assertThat(builder.build().jwtAuthorities()).containsOnlyKeys("keep");
    }

    @Test
    void toStringShowsNoKeys() {
        Bundle bundle = Bundle.builder(TD).addX509Authority(ROOT_A).putJwtAuthority("kid-1", JWT_KEY).build();

        assertThat(bundle.toString()).contains("kid-1").contains("x509Authorities=1")
                .doesNotContain(Base64.getEncoder().encodeToString(JWT_KEY.getEncoded()).substring(30, 60));
    }

    @Test
    void bundleSourceFindsByTrustDomain() {
        Bundle a = Bundle.of(TD, List.of(ROOT_A));
        Bundle b = Bundle.of(TrustDomain.parse("other.org"), List.of(ROOT_B));
        BundleSource source = BundleSource.of(a, b);

        assertThat(source.bundleFor(TD)).contains(a);
        assertThat(source.bundleFor(TrustDomain.parse("other.org"))).contains(b);
        assertThat(source.bundleFor(TrustDomain.parse("third.org"))).isEmpty();
        assertThatThrownBy(() -> BundleSource.of(a, a.withSequenceNumber(3)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("two bundles for trust domain example.org");
    }
}
