package dev.keel.policy.internal;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The value checks behind Istio's rules, against the behaviour of the Go functions Istio calls
 * ({@code netip.ParseAddr}, {@code netip.ParsePrefix}, {@code strconv.ParseUint}, {@code time.ParseDuration}).
 */
class ValueChecksTest {

    @ParameterizedTest
    @ValueSource(strings = {"0.0.0.0", "255.255.255.255", "10.0.0.1", "::", "::1", "1::", "2001:db8::1", "2001:DB8::1",
            "1:2:3:4:5:6:7:8", "::ffff:1.2.3.4", "1:2:3:4:5:6:1.2.3.4", "10.0.0.0/8", "10.0.0.1/8", "0.0.0.0/0",
            "2001:db8::/32", "::/0", "::/128", "1.2.3.4/32"})
    void addressesAndBlocksIstioAccepts(String value) {
        assertThat(IpAddresses.checkIpOrCidr(value)).isNull();
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
        "1.2.3              | IPv4 address too short",
        "1.2.3.4.5          | IPv4 address too long",
        "1..2.3             | IPv4 field must have at least one digit",
        "01.2.3.4           | IPv4 field has octet with leading zero",
        "256.0.0.1          | IPv4 field has value >255",
        "1.2.3.a            | unexpected character in IPv4 address",
        "localhost          | unable to parse IP",
        "%eth0              | missing IPv6 address",
        "fe80::1%eth0       | IPv6 zones are not supported",
        "1:2:3:4:5:6:7      | address string too short",
        "1:2:3:4:5:6:7:8:9  | trailing garbage after address",
        "1::2::3            | multiple :: in address",
        "12345::            | each colon-separated field must have at most 4 hex digits",
        "1:2:3:4:5:6:7::8   | the :: must expand to at least one field of zeros",
        "1:2:3:4:1.2.3.4    | embedded IPv4 address must replace the final 2 fields of the address",
        "1:                 | colon must be followed by more characters",
        "1:g::              | each colon-separated field must have at least one digit",
        "１.2.3.4           | unexpected character in IPv4 address",
    })
    void addressesIstioRefuses(String value, String reason) {
        assertThat(IpAddresses.addressError(value)).isEqualTo(reason);
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
        "10.0.0.0/33     | prefix length 33 is out of range 0..32",
        "::/129          | prefix length 129 is out of range 0..128",
        "10.0.0.0/       | bad prefix length \"\"",
        "10.0.0.0/08     | bad prefix length \"08\"",
        "10.0.0.0/-1     | bad prefix length \"-1\"",
        "10.0.0.0/1000   | bad prefix length \"1000\"",
        "10.0.0.0/8/8    | bad address \"10.0.0.0/8\": unexpected character in IPv4 address",
        "/8              | bad address \"\": empty address",
    })
    void blocksIstioRefuses(String value, String reason) {
        assertThat(IpAddresses.prefixError(value)).isEqualTo(reason);
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {"0|true", "80|true", "080|true", "65535|true", "65536|false", "-1|false",
        "+80|false", "8_0|false", "''|false", "4294967296|false", "99999999999|false", "８０|false"})
    void portsAsIstioParsesThem(String value, boolean valid) {
        assertThat(Validator.portError(value) == null).isEqualTo(valid);
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {"0|0", "1ms|1000000", "1.5s|1500000000", "1m30s|90000000000", "-1s|-1000000000",
        "+2h|7200000000000", ".5s|500000000", "1.s|1000000000", "1µs|1000", "1us|1000", "300ns|300", "2h45m|9900000000000"})
    void goDurations(String text, long nanos) {
        assertThat(GoDuration.parse(text)).isEqualTo(Duration.ofNanos(nanos));
    }

    @ParameterizedTest
    @ValueSource(strings = {"", "1", "s", ".s", "1d", "1 s", "- 1s", "1s2", "9999999999999999999s", "3000000h", "0.0"})
    void notGoDurations(String text) {
        assertThat(GoDuration.parse(text)).isNull();
    }

    @ParameterizedTest
    @ValueSource(strings = {"*", "cluster.local/ns/default/sa/sleep", "cluster.local", "example.org/ns/a/sa/b",
            "cluster.local/ns/default/*", "cluster.local/*", "cluster.loc*", "*/ns/default/sa/sleep", "*sa/sleep",
            "*Foo/sa/Bar"})
    void principalsThatCanMatchASpiffeId(String value) {
        assertThat(Principals.check(value)).isNull();
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
        "cluster.local/ns//sa/b | \"cluster.local/ns//sa/b\" is not a valid principal: path: \"/ns//sa/b\" has an empty segment at index 4",
        "cluster.local/ns/a/    | \"cluster.local/ns/a/\" is not a valid principal: path: \"/ns/a/\" has a trailing slash",
        "cluster.local/ns/../b  | \"cluster.local/ns/../b\" is not a valid principal: path: \"/ns/../b\" has a dot segment \"..\"",
        "/ns/a/sa/b             | \"/ns/a/sa/b\" is not a valid principal: SPIFFE ID: \"spiffe:///ns/a/sa/b\" has no trust domain",
        "cluster.local:8080/x   | \"cluster.local:8080/x\" is not a valid principal: trust domain: \"cluster.local:8080\" contains ':' (a port or userinfo is not allowed in a trust domain)",
        "/ns/a/*                | \"/ns/a/*\" is not a valid principal: it must start with the trust domain",
        "*/ns//sa               | \"*/ns//sa\" is not a valid principal: a SPIFFE ID has no empty path segments (\"//\")",
        "*/ns/a b               | \"*/ns/a b\" is not a valid principal: character ' ' at index 6 cannot occur in a SPIFFE ID",
        "**                     | \"**\" is not a valid principal: '*' is a wildcard only as the first or the last character, not both (Istio matches any other '*' literally)",
        "*/ns/a/*               | \"*/ns/a/*\" is not a valid principal: '*' is a wildcard only as the first or the last character, not both (Istio matches any other '*' literally)",
    })
    void principalsThatNeverMatch(String value, String message) {
        assertThat(Principals.check(value)).isEqualTo(message);
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {"principal|principals", "ip_blocks|ipBlocks", "sepc|spec", "notprincipals|notPrincipals",
        "ALOW|ALLOW", "strict|STRICT", "selectr|selector"})
    void suggestions(String typo, String meant) {
        assertThat(Suggest.closest(typo, java.util.List.of("principals", "notPrincipals", "ipBlocks", "spec", "ALLOW",
                "STRICT", "selector", "status"))).isEqualTo(meant);
    }

    @ParameterizedTest
    @ValueSource(strings = {"color", "x", "rules"})
    void noSuggestionWhenNothingIsClose(String word) {
        assertThat(Suggest.closest(word, java.util.List.of("principals", "selector", "ALLOW"))).isNull();
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {"https://example.com/keys|", "HTTPS://example.com:8443/keys|",
        "http://[::1]:8080/k|", "https://user@example.com/k|",
        "example.com/keys|scheme \"\" is not supported (expected http or https)",
        "https:example.com|it has no host",
        "https://example.com:80a/k|invalid port \"80a\""})
    void jwksUris(String uri, String error) {
        assertThat(Validator.jwksUriError(uri)).isEqualTo(error);
    }
}
