package dev.keel.authz;

import static dev.keel.authz.Policies.http;
import static dev.keel.authz.Policies.policy;
import static dev.keel.authz.Policies.program;
import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Istio reference "Authorization Policy Normalization" and security best practices "Understand path
 * normalization in authorization policy" (MeshConfig {@code pathNormalization}), with the bypass classes
 * of the CVEs fixed by normalization.
 */
class PathNormalizationTest {

    @ParameterizedTest(name = "{0}: \"{1}\" -> \"{2}\"")
    @DisplayName("Normalization table: single percent-encoded characters, backslash, dot segments, slashes, query")
    @CsvSource(delimiter = '|', nullValues = "null", value = {
            "NONE | /a/../b?x=1 | /a/../b",
            "NONE | /a%2Fb//c | /a%2Fb//c",
            "BASE | /a/../b | /b",
            "BASE | /a/./b | /a/b",
            "BASE | /public/./data/abc/../xyz | /public/data/xyz",
            "BASE | \\da | /da",
            "BASE | /some\\data | /some/data",
            "BASE | /some%2fdata/%61%62%63 | /some%2Fdata/abc",
            "BASE | /%2d%2E%5f%7e%30%41 | /-._~0A",
            "BASE | /a/%2e%2e/b | /b",
            "BASE | /a%21b | /a%21b",
            "BASE | /a%00b | null",
            "BASE | /../../etc | /etc",
            "BASE | /a//b | /a//b",
            "BASE | /a/b/.. | /a/",
            "BASE | a/b | null",
            "BASE | /foo?v=1 | /foo",
            "BASE | /foo#frag | /foo",
            "MERGE_SLASHES | /a//b | /a/b",
            "MERGE_SLASHES | /some//data///abc | /some/data/abc",
            "MERGE_SLASHES | /a%2Fb | /a%2Fb",
            "DECODE_AND_MERGE_SLASHES | /a%2fb | /a/b",
            "DECODE_AND_MERGE_SLASHES | /some%2fdata/%61%62%63 | /some/data/abc",
            "DECODE_AND_MERGE_SLASHES | /a%5Cb | /a/b",
            "DECODE_AND_MERGE_SLASHES | /a%252Fb | /a%252Fb",
            "DECODE_AND_MERGE_SLASHES | /x/%2e%2e%2fadmin | /admin",
    })
    void table(PathNormalization option, String raw, String expected) {
        assertThat(option.normalize(raw)).isEqualTo(expected);
    }

    private static final String DENY_ADMIN = policy("deny-admin", """
            action: DENY
            rules:
            - to:
              - operation:
                  paths: ["/admin", "/admin/*"]""");

    private static boolean denied(PathNormalization option, String rawPath) {
        String path = option.normalize(rawPath);
        if (path == null) {
            return true; // the proxy answers 400
        }
        return !program(DENY_ADMIN, AuthzConfig.defaults().withPathNormalization(option))
                .decide(http().path(path).build()).allowed();
    }

    @Test
    @DisplayName("CVE-2021-31920: '//admin' bypasses a DENY on /admin under BASE; MERGE_SLASHES closes it")
    void cve202131920MultipleSlashes() {
        assertThat(denied(PathNormalization.BASE, "//admin")).as("BASE, vulnerable as documented").isFalse();
        assertThat(denied(PathNormalization.MERGE_SLASHES, "//admin")).isTrue();
        assertThat(denied(PathNormalization.MERGE_SLASHES, "/admin//users")).isTrue();
        assertThat(denied(PathNormalization.DECODE_AND_MERGE_SLASHES, "///admin")).isTrue();
    }

    @Test
    @DisplayName("CVE-2021-31920 / CVE-2021-29492: escaped slashes %2F and %5C bypass MERGE_SLASHES; DECODE_AND_MERGE_SLASHES closes it")
    void cve202129492EscapedSlashes() {
        assertThat(denied(PathNormalization.MERGE_SLASHES, "/%2Fadmin")).isFalse();
        assertThat(denied(PathNormalization.DECODE_AND_MERGE_SLASHES, "/%2Fadmin")).isTrue();
        assertThat(denied(PathNormalization.DECODE_AND_MERGE_SLASHES, "/%2fadmin")).isTrue();
        assertThat(denied(PathNormalization.DECODE_AND_MERGE_SLASHES, "/public%2F..%2Fadmin")).isTrue();
        assertThat(denied(PathNormalization.DECODE_AND_MERGE_SLASHES, "/%5Cadmin")).isTrue();
        assertThat(denied(PathNormalization.DECODE_AND_MERGE_SLASHES, "/admin%5Cusers")).isTrue();
    }

    @Test
    @DisplayName("CVE-2021-39156: a fragment ('#') in the path must not bypass path matching")
    void cve202139156Fragment() {
        for (PathNormalization option : PathNormalization.values()) {
            assertThat(denied(option, "/admin#")).as(option.name()).isTrue();
            assertThat(denied(option, "/admin#/public")).as(option.name()).isTrue();
        }
    }

    @Test
    @DisplayName("CVE-2020-8595: exact path matching ignores the query string ('/admin?x' still matches '/admin')")
    void cve20208595Query() {
        for (PathNormalization option : PathNormalization.values()) {
            assertThat(denied(option, "/admin?foo=bar")).as(option.name()).isTrue();
            assertThat(denied(option, "/admin?")).as(option.name()).isTrue();
        }
        // and a request builder given an un-normalized path still cuts the query off
        assertThat(program(DENY_ADMIN).decide(http().path("/admin?x").build()).allowed()).isFalse();
    }

    @Test
    @DisplayName("BASE: dot segments and percent-encoded dots ('/public/../admin', '/public/%2e%2e/admin') are resolved before matching")
    void dotSegments() {
        assertThat(denied(PathNormalization.BASE, "/public/../admin")).isTrue();
        assertThat(denied(PathNormalization.BASE, "/public/%2e%2e/admin")).isTrue();
        assertThat(denied(PathNormalization.BASE, "/public\\..\\admin")).isTrue();
        assertThat(denied(PathNormalization.BASE, "/%61dmin")).isTrue();
        assertThat(denied(PathNormalization.NONE, "/public/../admin")).as("NONE, vulnerable as documented").isFalse();
    }

    @Test
    @DisplayName("CVE-2021-39155: host matching is case-insensitive, so 'ADMIN.example.com' cannot bypass a hosts DENY")
    void cve202139155HostCase() {
        DecisionProgram p = program(policy("deny-host", """
                action: DENY
                rules:
                - to:
                  - operation:
                      hosts: ["admin.example.com"]"""));
        assertThat(p.decide(http().host("ADMIN.example.com").build()).allowed()).isFalse();
        assertThat(p.decide(http().host("admin.EXAMPLE.COM").build()).allowed()).isFalse();
        DecisionProgram allow = program(policy("allow-host", """
                rules:
                - to:
                  - operation:
                      hosts: ["Public.Example.com"]"""));
        assertThat(allow.decide(http().host("public.example.com").build()).allowed()).isTrue();
    }
}
