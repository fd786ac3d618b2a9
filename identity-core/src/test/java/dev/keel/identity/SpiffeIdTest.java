package dev.keel.identity;

import static dev.keel.identity.InvalidSpiffeIdException.Rule.DOT_SEGMENT;
import static dev.keel.identity.InvalidSpiffeIdException.Rule.EMPTY;
import static dev.keel.identity.InvalidSpiffeIdException.Rule.EMPTY_SEGMENT;
import static dev.keel.identity.InvalidSpiffeIdException.Rule.PERCENT_ENCODING;
import static dev.keel.identity.InvalidSpiffeIdException.Rule.PORT_OR_USERINFO;
import static dev.keel.identity.InvalidSpiffeIdException.Rule.QUERY_OR_FRAGMENT;
import static dev.keel.identity.InvalidSpiffeIdException.Rule.SCHEME;
import static dev.keel.identity.InvalidSpiffeIdException.Rule.SEGMENT_CHARACTERS;
import static dev.keel.identity.InvalidSpiffeIdException.Rule.TOO_LONG;
import static dev.keel.identity.InvalidSpiffeIdException.Rule.TRAILING_SLASH;
import static dev.keel.identity.InvalidSpiffeIdException.Rule.TRUST_DOMAIN_CHARACTERS;
import static dev.keel.identity.InvalidSpiffeIdException.Rule.TRUST_DOMAIN_MISSING;
import static dev.keel.identity.InvalidSpiffeIdException.Rule.TRUST_DOMAIN_TOO_LONG;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.params.provider.Arguments.arguments;

import dev.keel.identity.InvalidSpiffeIdException.Rule;
import java.net.URI;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

class SpiffeIdTest {

    @ParameterizedTest
    @ValueSource(strings = {
            "spiffe://example.org",
            "spiffe://example.org/workload",
            "spiffe://staging.example.com/payments/mysql",
            "spiffe://k8s-west.example.com/ns/staging/sa/default",
            "spiffe://example.com/9eebccd2-12bf-40a6-b262-65fe0487d453",
            "spiffe://cluster.local/ns/default/sa/bookinfo-productpage",
            "spiffe://trust_domain-1.2/Path.With-Mixed_Case/123",
            "spiffe://a/b",
            "spiffe://example.org/...",
            "spiffe://example.org/.a/a./..b",
            "spiffe://0123456789abcdefghijklmnopqrstuvwxyz-_./ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.",
    })
    void parsesValidIds(String value) {
        SpiffeId id = SpiffeId.parse(value);

        assertThat(id.toString()).isEqualTo(value);
        assertThat(SpiffeId.parse(id.toString())).isEqualTo(id).hasSameHashCodeAs(id);
        assertThat(id.toUri()).isEqualTo(URI.create(value));
        assertThat(SpiffeId.of(id.trustDomain(), id.path())).isEqualTo(id);
    }

    static Stream<Arguments> invalidIds() {
        return Stream.of(
                arguments("", EMPTY, "cannot be empty"),
                arguments("example.org/workload", SCHEME, "does not start with \"spiffe://\""),
                arguments("http://example.org/workload", SCHEME, "spiffe://"),
                arguments("SPIFFE://example.org/workload", SCHEME, "lower case"),
                arguments("spiffe:/example.org/workload", SCHEME, "spiffe://"),
                arguments("spiffe:example.org", SCHEME, "spiffe://"),
                arguments("spiffe://", TRUST_DOMAIN_MISSING, "has no trust domain"),
                arguments("spiffe:///workload", TRUST_DOMAIN_MISSING, "has no trust domain"),
                arguments("spiffe://Example.org/workload", TRUST_DOMAIN_CHARACTERS, "character 'E' at index 0"),
                arguments("spiffe://exa mple.org", TRUST_DOMAIN_CHARACTERS, "character ' '"),
                arguments("spiffe://exämple.org", TRUST_DOMAIN_CHARACTERS, "character 'ä'"),
                arguments("spiffe://example.org%2F/x", TRUST_DOMAIN_CHARACTERS, "character '%'"),
                arguments("spiffe://example.org:8080/workload", PORT_OR_USERINFO, "contains ':'"),
                arguments("spiffe://example.org:/workload", PORT_OR_USERINFO, "contains ':'"),
                arguments("spiffe://user@example.org/workload", PORT_OR_USERINFO, "contains '@'"),
                arguments("spiffe://user:pass@example.org/workload", PORT_OR_USERINFO, "contains ':'"),
                arguments("spiffe://" + "a".repeat(256) + "/x", TRUST_DOMAIN_TOO_LONG, "256 characters"),
                arguments("spiffe://example.org/", TRAILING_SLASH, "trailing slash"),
                arguments("spiffe://example.org/workload/", TRAILING_SLASH, "trailing slash"),
                arguments("spiffe://example.org//workload", EMPTY_SEGMENT, "empty segment at index 1"),
                arguments("spiffe://example.org/a//b", EMPTY_SEGMENT, "empty segment at index 3"),
                arguments("spiffe://example.org/.", DOT_SEGMENT, "dot segment \".\""),
                arguments("spiffe://example.org/..", DOT_SEGMENT, "dot segment \"..\""),
                arguments("spiffe://example.org/a/./b", DOT_SEGMENT, "dot segment \".\""),
                arguments("spiffe://example.org/a/../b", DOT_SEGMENT, "dot segment \"..\""),
                arguments("spiffe://example.org/wor%6Bload", PERCENT_ENCODING, "percent-encoded at index 4"),
                arguments("spiffe://example.org/a%2Fb", PERCENT_ENCODING, "percent-encoded"),
                arguments("spiffe://example.org/wo rkload", SEGMENT_CHARACTERS, "character ' ' at index 3"),
                arguments("spiffe://example.org/pa:th", SEGMENT_CHARACTERS, "character ':'"),
                arguments("spiffe://example.org/pa@th", SEGMENT_CHARACTERS, "character '@'"),
                arguments("spiffe://example.org/p!a$t&h'(e)l*e+m,e;n=t", SEGMENT_CHARACTERS, "character '!'"),
                arguments("spiffe://example.org/elem[ent", SEGMENT_CHARACTERS, "character '['"),
                arguments("spiffe://example.org/wörkload", SEGMENT_CHARACTERS, "character 'ö'"),
                arguments("spiffe://example.org/a\\b", SEGMENT_CHARACTERS, "character '\\'"),
                arguments("spiffe://example.org/workload?query=1", QUERY_OR_FRAGMENT, "has a query"),
                arguments("spiffe://example.org/workload#fragment", QUERY_OR_FRAGMENT, "has a fragment"),
                arguments("spiffe://example.org?query", QUERY_OR_FRAGMENT, "has a query"),
                arguments("spiffe://example.org/workload?#fragment-1", QUERY_OR_FRAGMENT, "has a query"),
                arguments("spiffe://example.org/" + "a".repeat(2048 - 21 + 1), TOO_LONG, "2049 characters"));
    }

    @ParameterizedTest
    @MethodSource("invalidIds")
    void rejectsInvalidIdsNamingTheRule(String value, Rule rule, String fragment) {
        assertThatThrownBy(() -> SpiffeId.parse(value))
                .isInstanceOfSatisfying(InvalidSpiffeIdException.class, e -> assertThat(e.rule()).isEqualTo(rule))
                .hasMessageContaining(fragment);
    }

    @Test
    void acceptsTheMaximumLength() {
        String value = "spiffe://example.org/" + "a".repeat(2048 - 21);
        assertThat(value).hasSize(SpiffeId.MAX_LENGTH);
        assertThat(SpiffeId.parse(value).toString()).isEqualTo(value);
    }

    @Test
    void longInputsAreAbbreviatedInMessages() {
        String value = "http://" + "a".repeat(1000);
        assertThatThrownBy(() -> SpiffeId.parse(value)).message().hasSizeLessThan(300).contains("...");
    }

    @Test
    void exposesTrustDomainAndPath() {
        SpiffeId id = SpiffeId.parse("spiffe://cluster.local/ns/a/sa/x");

        assertThat(id.trustDomain()).isEqualTo(TrustDomain.CLUSTER_LOCAL);
        assertThat(id.path()).isEqualTo("/ns/a/sa/x");
        assertThat(id.memberOf(TrustDomain.parse("cluster.local"))).isTrue();
        assertThat(id.memberOf(TrustDomain.parse("other.local"))).isFalse();
        assertThat(SpiffeId.parse("spiffe://cluster.local").path()).isEmpty();
    }

    @Test
    void ofValidatesThePath() {
        TrustDomain td = TrustDomain.parse("example.org");

        assertThat(SpiffeId.of(td, "/a/b").toString()).isEqualTo("spiffe://example.org/a/b");
        assertThat(SpiffeId.of(td, "").toString()).isEqualTo("spiffe://example.org");
        assertRule(() -> SpiffeId.of(td, "a/b"), SEGMENT_CHARACTERS, "does not start with '/'");
        assertRule(() -> SpiffeId.of(td, "/a/"), TRAILING_SLASH, "trailing slash");
        assertRule(() -> SpiffeId.of(td, "/a?b"), QUERY_OR_FRAGMENT, "query");
        assertRule(() -> SpiffeId.of(td, "/" + "a".repeat(2048)), TOO_LONG, "expected: <= 2048");
        assertThatThrownBy(() -> SpiffeId.of(null, "/a")).isInstanceOf(NullPointerException.class)
                .hasMessage("trustDomain");
        assertThatThrownBy(() -> SpiffeId.of(td, null)).isInstanceOf(NullPointerException.class).hasMessage("path");
    }

    @Test
    void fromSegmentsValidatesEachSegment() {
        TrustDomain td = TrustDomain.parse("example.org");

        assertThat(SpiffeId.fromSegments(td, "ns", "a", "sa", "x").path()).isEqualTo("/ns/a/sa/x");
        assertThat(SpiffeId.fromSegments(td).path()).isEmpty();
        assertRule(() -> SpiffeId.fromSegments(td, "a/b"), SEGMENT_CHARACTERS, "contains '/'");
        assertRule(() -> SpiffeId.fromSegments(td, "a", ""), EMPTY_SEGMENT, "cannot be empty");
        assertRule(() -> SpiffeId.fromSegments(td, "", "a"), EMPTY_SEGMENT, "cannot be empty");
        assertRule(() -> SpiffeId.fromSegments(td, ".."), DOT_SEGMENT, "dot segment");
        assertRule(() -> SpiffeId.fromSegments(td, "a b"), SEGMENT_CHARACTERS, "character ' '");
    }

    @Test
    void trustDomainShortcuts() {
        TrustDomain td = TrustDomain.CLUSTER_LOCAL;

        assertThat(td.workload("default", "bookinfo").toString()).isEqualTo("spiffe://cluster.local/ns/default/sa/bookinfo");
        assertThat(td.node("worker-1").toString()).isEqualTo("spiffe://cluster.local/keel/node/worker-1");
        assertThat(td.spiffeId().toString()).isEqualTo("spiffe://cluster.local");
        assertRule(() -> td.workload("", "x"), EMPTY_SEGMENT, "cannot be empty");
        assertRule(() -> td.workload("a/b", "x"), SEGMENT_CHARACTERS, "contains '/'");
    }

    @Test
    void equalityIsByValue() {
        assertThat(SpiffeId.parse("spiffe://example.org/a")).isEqualTo(SpiffeId.parse("spiffe://example.org/a"))
                .isNotEqualTo(SpiffeId.parse("spiffe://example.org/A"))
                .isNotEqualTo(SpiffeId.parse("spiffe://example.org/a/b"))
                .isNotEqualTo("spiffe://example.org/a");
    }

    static void assertRule(org.assertj.core.api.ThrowableAssert.ThrowingCallable call, Rule rule, String fragment) {
        assertThatThrownBy(call)
                .isInstanceOfSatisfying(InvalidSpiffeIdException.class, e -> assertThat(e.rule()).isEqualTo(rule))
                .hasMessageContaining(fragment);
    }
}
