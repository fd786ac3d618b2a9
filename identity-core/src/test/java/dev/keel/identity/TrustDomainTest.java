package dev.keel.identity;

import static dev.keel.identity.InvalidSpiffeIdException.Rule.PORT_OR_USERINFO;
import static dev.keel.identity.InvalidSpiffeIdException.Rule.SCHEME;
import static dev.keel.identity.InvalidSpiffeIdException.Rule.TRAILING_SLASH;
import static dev.keel.identity.InvalidSpiffeIdException.Rule.TRUST_DOMAIN_CHARACTERS;
import static dev.keel.identity.InvalidSpiffeIdException.Rule.TRUST_DOMAIN_HAS_PATH;
import static dev.keel.identity.InvalidSpiffeIdException.Rule.TRUST_DOMAIN_MISSING;
import static dev.keel.identity.InvalidSpiffeIdException.Rule.TRUST_DOMAIN_TOO_LONG;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.params.provider.Arguments.arguments;

import dev.keel.identity.InvalidSpiffeIdException.Rule;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.MethodSource;

class TrustDomainTest {

    @ParameterizedTest
    @CsvSource({
            "example.org, example.org",
            "cluster.local, cluster.local",
            "spiffe://example.org, example.org",
            "a, a",
            "trust_domain-1.example, trust_domain-1.example",
            "0123456789abcdefghijklmnopqrstuvwxyz.-_, 0123456789abcdefghijklmnopqrstuvwxyz.-_",
    })
    void parsesValidNames(String input, String name) {
        TrustDomain td = TrustDomain.parse(input);

        assertThat(td.name()).isEqualTo(name);
        assertThat(td.toString()).isEqualTo(name);
        assertThat(td.spiffeId().toString()).isEqualTo("spiffe://" + name);
        assertThat(TrustDomain.parse(td.spiffeId().toString())).isEqualTo(td).hasSameHashCodeAs(td);
    }

    @Test
    void acceptsTheMaximumLength() {
        assertThat(TrustDomain.parse("a".repeat(255)).name()).hasSize(255);
    }

    static Stream<Arguments> invalidNames() {
        return Stream.of(
                arguments("", TRUST_DOMAIN_MISSING, "cannot be empty"),
                arguments("spiffe://", TRUST_DOMAIN_MISSING, "has no trust domain"),
                arguments("Example.org", TRUST_DOMAIN_CHARACTERS, "character 'E' at index 0"),
                arguments("exa mple.org", TRUST_DOMAIN_CHARACTERS, "character ' '"),
                arguments("example.org/path", TRUST_DOMAIN_CHARACTERS, "character '/'"),
                arguments("ex!ample", TRUST_DOMAIN_CHARACTERS, "character '!'"),
                arguments("例え.jp", TRUST_DOMAIN_CHARACTERS, "character '例'"),
                arguments("example.org:8080", PORT_OR_USERINFO, "contains ':'"),
                arguments("user@example.org", PORT_OR_USERINFO, "contains '@'"),
                // The first offending character decides, so rule and message always agree.
                arguments("Example.org:8080", TRUST_DOMAIN_CHARACTERS, "character 'E'"),
                arguments("example.org:Bad", PORT_OR_USERINFO, "contains ':'"),
                arguments("a".repeat(256), TRUST_DOMAIN_TOO_LONG, "256 characters (expected: <= 255)"),
                arguments("spiffe://example.org/path", TRUST_DOMAIN_HAS_PATH, "has a path"),
                arguments("spiffe://example.org/", TRAILING_SLASH, "trailing slash"),
                arguments("http://example.org", SCHEME, "spiffe://"),
                arguments("spiffe://example.org:80", PORT_OR_USERINFO, "contains ':'"));
    }

    @ParameterizedTest
    @MethodSource("invalidNames")
    void rejectsInvalidNamesNamingTheRule(String input, Rule rule, String fragment) {
        assertThatThrownBy(() -> TrustDomain.parse(input))
                .isInstanceOfSatisfying(InvalidSpiffeIdException.class, e -> assertThat(e.rule()).isEqualTo(rule))
                .hasMessageContaining(fragment);
    }

    @Test
    void clusterLocalIsTheConstant() {
        assertThat(TrustDomain.parse("cluster.local")).isSameAs(TrustDomain.CLUSTER_LOCAL);
        assertThat(TrustDomain.parse("spiffe://cluster.local")).isSameAs(TrustDomain.CLUSTER_LOCAL);
    }

    @Test
    void equalityIsByName() {
        assertThat(TrustDomain.parse("a.example")).isEqualTo(TrustDomain.parse("spiffe://a.example"))
                .isNotEqualTo(TrustDomain.parse("b.example"))
                .isNotEqualTo("a.example");
    }

    @Test
    void nullIsRefused() {
        assertThatThrownBy(() -> TrustDomain.parse(null)).isInstanceOf(NullPointerException.class).hasMessage("value");
    }
}
