package dev.keel.policy.lint;

import static org.assertj.core.api.Assertions.assertThat;

import dev.keel.policy.ParseResult;
import dev.keel.policy.PolicyParser;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.api.Test;

/**
 * Each warning, triggered by a small policy and not triggered by its corrected version. The options are
 * the defaults plus TCP port 3306.
 */
class PolicyLinterTest {

    private static final LintOptions OPTIONS = LintOptions.defaults().withTcpPorts(Set.of(3306));

    private static final String STRICT_MESH = "apiVersion: security.istio.io/v1\nkind: PeerAuthentication\n"
            + "metadata: {name: default, namespace: istio-system}\nspec: {mtls: {mode: STRICT}}\n";

    static List<LintFinding> lint(String yaml) {
        ParseResult result = PolicyParser.parse("p.yaml", yaml);
        assertThat(result.errors()).as("the test policy must be valid").isEmpty();
        return PolicyLinter.lint(result.parsedPolicies(), OPTIONS);
    }

    static String ap(String namespace, String spec) {
        return "apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata:\n  name: p" + Math.abs(spec.hashCode())
                + "\n  namespace: " + namespace + "\nspec:\n" + spec.indent(2);
    }

    /** code, the field path of the finding, the policy, the corrected policy. */
    static Stream<Arguments> cases() {
        return Stream.of(
                // L001: a value its own negation excludes.
                Arguments.of(LintCode.NEVER_MATCHES, "spec.rules[0].to[0].operation.paths[0]",
                        ap("foo", "rules:\n- to:\n  - operation:\n      paths: [/admin/users]\n      notPaths: [/admin/*]"),
                        ap("foo", "rules:\n- to:\n  - operation:\n      paths: [/admin/users]\n      notPaths: [/admin/keys]")),
                Arguments.of(LintCode.NEVER_MATCHES, "spec.rules[0].from[0].source.principals[0]",
                        ap("foo", "rules:\n- from:\n  - source:\n      principals: [cluster.local/ns/a/sa/x]\n"
                                + "      notPrincipals: [cluster.local/ns/a/sa/x]"),
                        ap("foo", "rules:\n- from:\n  - source:\n      principals: [cluster.local/ns/a/*]\n"
                                + "      notPrincipals: [cluster.local/ns/a/sa/x]")),
                Arguments.of(LintCode.NEVER_MATCHES, "spec.rules[0].when[0].values[0]",
                        ap("foo", "rules:\n- when:\n  - key: request.headers[x-env]\n    values: [prod]\n"
                                + "    notValues: [prod]"),
                        ap("foo", "rules:\n- when:\n  - key: request.headers[x-env]\n    values: [prod]\n"
                                + "    notValues: [dev]")),
                Arguments.of(LintCode.NEVER_MATCHES, "spec.rules[0].to[0].operation.methods[0]",
                        ap("foo", "rules:\n- to:\n  - operation:\n      methods: [get]"),
                        ap("foo", "rules:\n- to:\n  - operation:\n      methods: [GET]")),
                Arguments.of(LintCode.NEVER_MATCHES, "spec.rules[0].from[0].source.principals[0]",
                        ap("foo", "rules:\n- from:\n  - source:\n      principals: [cluster.local/ns/bar/sa/x]\n"
                                + "      namespaces: [foo]"),
                        ap("foo", "rules:\n- from:\n  - source:\n      principals: [cluster.local/ns/foo/sa/x]\n"
                                + "      namespaces: [foo]")),
                Arguments.of(LintCode.NEVER_MATCHES, "spec.rules[0].when[0]",
                        ap("foo", "rules:\n- to:\n  - operation:\n      ports: [\"8080\"]\n"
                                + "  when:\n  - key: destination.port\n    values: [\"9090\"]"),
                        ap("foo", "rules:\n- to:\n  - operation:\n      ports: [\"8080\", \"9090\"]\n"
                                + "  when:\n  - key: destination.port\n    values: [\"9090\"]")),
                // L002: a DENY for the same workloads that matches everything the ALLOW rule does.
                Arguments.of(LintCode.SHADOWED_BY_DENY, "spec.rules[0]",
                        ap("foo", "selector: {matchLabels: {app: web}}\nrules:\n- to:\n  - operation:\n"
                                + "      paths: [/admin/users]")
                                + "---\n" + ap("foo", "action: DENY\nrules:\n- to:\n  - operation:\n      paths: [/admin*]"),
                        ap("foo", "selector: {matchLabels: {app: web}}\nrules:\n- to:\n  - operation:\n"
                                + "      paths: [/admin/users]")
                                + "---\n" + ap("foo", "action: DENY\nrules:\n- to:\n  - operation:\n      paths: [/debug*]")),
                Arguments.of(LintCode.SHADOWED_BY_DENY, "spec.rules[0]",
                        ap("foo", "rules:\n- from:\n  - source:\n      principals: [cluster.local/ns/foo/sa/web]")
                                + "---\n" + ap("istio-system", "action: DENY\nrules:\n- from:\n  - source:\n"
                                + "      notPrincipals: [cluster.local/ns/istio-system/sa/gateway]"),
                        ap("foo", "rules:\n- from:\n  - source:\n      principals: [cluster.local/ns/foo/sa/web]")
                                + "---\n" + ap("istio-system", "action: DENY\nrules:\n- from:\n  - source:\n"
                                + "      notPrincipals: [cluster.local/ns/*]")),
                Arguments.of(LintCode.SHADOWED_BY_DENY, "spec.rules[0]",
                        ap("foo", "selector: {matchLabels: {app: db}}\nrules:\n- to:\n  - operation:\n      ports: [\"5432\"]")
                                + "---\n" + ap("foo", "action: DENY\nrules:\n- {}"),
                        ap("foo", "selector: {matchLabels: {app: db}}\nrules:\n- to:\n  - operation:\n      ports: [\"5432\"]")
                                + "---\n" + ap("foo", "action: DENY\nselector: {matchLabels: {app: web}}\nrules:\n- {}")),
                // L003: HTTP-only fields on a TCP port.
                Arguments.of(LintCode.HTTP_FIELDS_ON_TCP, "spec.rules[0].to[0].operation.methods",
                        ap("foo", "rules:\n- to:\n  - operation:\n      ports: [\"3306\"]\n      methods: [GET]"),
                        ap("foo", "rules:\n- to:\n  - operation:\n      ports: [\"3306\"]")),
                Arguments.of(LintCode.HTTP_FIELDS_ON_TCP, "spec.rules[0].to[0].operation.paths",
                        ap("foo", "action: DENY\nrules:\n- to:\n  - operation:\n      ports: [\"3306\", \"8080\"]\n"
                                + "      paths: [/admin*]"),
                        ap("foo", "action: DENY\nrules:\n- to:\n  - operation:\n      ports: [\"8080\"]\n"
                                + "      paths: [/admin*]")),
                Arguments.of(LintCode.HTTP_FIELDS_ON_TCP, "spec.rules[0].when[0].key",
                        ap("foo", "rules:\n- to:\n  - operation:\n      ports: [\"3306\"]\n"
                                + "  when:\n  - key: request.auth.claims[group]\n    values: [dba]"),
                        ap("foo", "rules:\n- to:\n  - operation:\n      ports: [\"3306\"]\n"
                                + "  when:\n  - key: source.namespace\n    values: [dba]")),
                // L004: plaintext accepted.
                Arguments.of(LintCode.PERMISSIVE_MTLS, "spec.mtls.mode",
                        STRICT_MESH + "---\napiVersion: security.istio.io/v1\nkind: PeerAuthentication\n"
                                + "metadata: {name: default, namespace: foo}\nspec: {mtls: {mode: PERMISSIVE}}\n",
                        STRICT_MESH + "---\napiVersion: security.istio.io/v1\nkind: PeerAuthentication\n"
                                + "metadata: {name: default, namespace: foo}\nspec: {mtls: {mode: STRICT}}\n"),
                Arguments.of(LintCode.PERMISSIVE_MTLS, "spec.portLevelMtls[\"8080\"].mode",
                        STRICT_MESH + "---\napiVersion: security.istio.io/v1\nkind: PeerAuthentication\n"
                                + "metadata: {name: web, namespace: foo}\nspec:\n  selector: {matchLabels: {app: web}}\n"
                                + "  portLevelMtls:\n    8080: {mode: DISABLE}\n",
                        STRICT_MESH + "---\napiVersion: security.istio.io/v1\nkind: PeerAuthentication\n"
                                + "metadata: {name: web, namespace: foo}\nspec:\n  selector: {matchLabels: {app: web}}\n"
                                + "  portLevelMtls:\n    8080: {mode: STRICT}\n"),
                Arguments.of(LintCode.PERMISSIVE_MTLS, "spec",
                        "apiVersion: security.istio.io/v1\nkind: PeerAuthentication\n"
                                + "metadata: {name: default, namespace: istio-system}\nspec: {}\n",
                        STRICT_MESH),
                // L005: no mesh-wide policy at all.
                Arguments.of(LintCode.NO_MESH_WIDE_STRICT, "",
                        "apiVersion: security.istio.io/v1\nkind: PeerAuthentication\n"
                                + "metadata: {name: default, namespace: foo}\nspec: {mtls: {mode: STRICT}}\n",
                        STRICT_MESH + "---\napiVersion: security.istio.io/v1\nkind: PeerAuthentication\n"
                                + "metadata: {name: default, namespace: foo}\nspec: {mtls: {mode: STRICT}}\n"),
                // L006: ALLOW everything.
                Arguments.of(LintCode.ALLOWS_EVERYTHING, "spec.rules[0]",
                        ap("foo", "rules:\n- {}"),
                        ap("foo", "rules:\n- from:\n  - source:\n      namespaces: [foo]")),
                Arguments.of(LintCode.ALLOWS_EVERYTHING, "spec.rules[0]",
                        ap("foo", "rules:\n- to:\n  - operation:\n      methods: [\"*\"]\n      paths: [\"*\"]"),
                        ap("foo", "rules:\n- to:\n  - operation:\n      methods: [\"*\"]\n      paths: [/api/*]")),
                // L007: another trust domain.
                Arguments.of(LintCode.FOREIGN_TRUST_DOMAIN, "spec.rules[0].from[0].source.principals[0]",
                        ap("foo", "rules:\n- from:\n  - source:\n      principals: [example.org/ns/foo/sa/web]"),
                        ap("foo", "rules:\n- from:\n  - source:\n      principals: [cluster.local/ns/foo/sa/web]")),
                Arguments.of(LintCode.FOREIGN_TRUST_DOMAIN, "spec.rules[0].when[0].notValues[0]",
                        ap("foo", "action: DENY\nrules:\n- when:\n  - key: source.principal\n"
                                + "    notValues: [cluster.lcal/ns/foo/sa/web]"),
                        ap("foo", "action: DENY\nrules:\n- when:\n  - key: source.principal\n"
                                + "    notValues: [\"*/ns/foo/sa/web\"]")));
    }

    @ParameterizedTest(name = "{0} at {1}")
    @MethodSource("cases")
    void triggeredByTheBadPolicyAndNotByItsFix(LintCode code, String fieldPath, String bad, String fixed) {
        List<LintFinding> findings = lint(bad);
        assertThat(findings).as("findings for:\n%s", bad).anySatisfy(f -> {
            assertThat(f.code()).isEqualTo(code);
            assertThat(f.fieldPath()).isEqualTo(fieldPath);
            assertThat(f.severity()).isEqualTo(LintFinding.Severity.WARNING);
            assertThat(f.line()).isPositive();
            assertThat(f.message()).contains("https://istio.io/");
        });
        assertThat(lint(fixed)).as("findings for the fix:\n%s", fixed).isEmpty();
    }

    @Test
    void ordinaryPoliciesFromIstiosDocumentationAreClean() {
        String yaml = STRICT_MESH
                + "---\n" + ap("foo", "selector: {matchLabels: {app: httpbin, version: v1}}\naction: ALLOW\nrules:\n"
                + "- from:\n  - source:\n      principals: [cluster.local/ns/default/sa/sleep]\n"
                + "  - source:\n      namespaces: [dev]\n  to:\n  - operation:\n      methods: [GET]\n"
                + "  when:\n  - key: request.auth.claims[iss]\n    values: [\"https://accounts.google.com\"]")
                // Istio's pages show this DENY on the same workload as an alternative; together it would shadow the ALLOW.
                + "---\n" + ap("foo", "selector: {matchLabels: {app: httpbin, version: v2}}\naction: DENY\nrules:\n"
                + "- from:\n  - source:\n      notNamespaces: [foo]")
                + "---\n" + ap("foo", "selector: {matchLabels: {app: products}}\naction: ALLOW\nrules:\n"
                + "- to:\n  - operation:\n      notPaths: [/healthz]\n  from:\n  - source:\n      requestPrincipals: [\"*\"]")
                + "---\n" + ap("foo", "selector: {matchLabels: {app: products}}\naction: DENY\nrules:\n"
                + "- to:\n  - operation:\n      paths: [/admin]\n  from:\n  - source:\n      notRequestPrincipals: [\"*\"]")
                + "---\n" + ap("foo", "action: ALLOW")
                + "---\n" + ap("default", "selector: {matchLabels: {app: mongodb}}\naction: ALLOW\nrules:\n"
                + "- from:\n  - source:\n      principals: [cluster.local/ns/default/sa/bookinfo-ratings-v2]\n"
                + "  to:\n  - operation:\n      ports: [\"27017\"]");
        assertThat(lint(yaml)).isEmpty();
    }

    @Test
    void anAllowRuleThatIsNotCoveredIsNotShadowed() {
        // The DENY excludes a principal the ALLOW rule names: requests from it are allowed, not denied.
        String yaml = ap("foo", "rules:\n- from:\n  - source:\n      principals: [cluster.local/ns/foo/sa/web]")
                + "---\n" + ap("foo", "action: DENY\nrules:\n- from:\n  - source:\n"
                + "      notPrincipals: [cluster.local/ns/foo/sa/web]");
        assertThat(lint(yaml)).isEmpty();
        // A CIDR is not compared as text: 10.1.2.3 is inside 10.0.0.0/8, so the DENY does not match it.
        String cidr = ap("foo", "rules:\n- from:\n  - source:\n      ipBlocks: [10.1.2.3]")
                + "---\n" + ap("foo", "action: DENY\nrules:\n- from:\n  - source:\n      notIpBlocks: [10.0.0.0/8]");
        assertThat(lint(cidr)).isEmpty();
        // A DENY on fewer workloads (more labels) does not shadow a namespace-wide ALLOW.
        String narrower = ap("foo", "rules:\n- to:\n  - operation:\n      paths: [/x]")
                + "---\n" + ap("foo", "action: DENY\nselector: {matchLabels: {app: web}}\nrules:\n- {}");
        assertThat(lint(narrower)).isEmpty();
        // Another namespace's DENY does not apply.
        String elsewhere = ap("foo", "rules:\n- to:\n  - operation:\n      paths: [/x]")
                + "---\n" + ap("bar", "action: DENY\nrules:\n- {}");
        assertThat(lint(elsewhere)).isEmpty();
    }

    @Test
    void aFindingReadsLikeACompilerMessage() {
        List<LintFinding> findings = lint(ap("foo", "rules:\n- {}"));
        assertThat(findings).singleElement().asString()
                .startsWith("p.yaml:8: warning KEEL-L006 spec.rules[0]: this rule has no from, to or when");
    }

    @Test
    void aDeadValueIsReportedEvenWhenOthersCanMatchAndADeadDenyRuleSaysItDeniesNothing() {
        List<LintFinding> partly = lint(ap("foo", "rules:\n- to:\n  - operation:\n      methods: [GET, post]"));
        assertThat(partly).singleElement().satisfies(f -> {
            assertThat(f.fieldPath()).isEqualTo("spec.rules[0].to[0].operation.methods[1]");
            assertThat(f.message()).startsWith("\"post\" never matches: HTTP methods are case-sensitive and requests carry"
                    + " \"POST\" (see");
        });
        List<LintFinding> deadDeny = lint(ap("foo", "action: DENY\nrules:\n- from:\n  - source:\n"
                + "      namespaces: [\"*\"]\n      notNamespaces: [\"*\"]"));
        assertThat(deadDeny).singleElement().satisfies(f -> assertThat(f.message())
                .contains("so this source never matches and rule spec.rules[0] never matches (it denies nothing)"));
    }

    @Test
    void aDryRunPolicyThatWouldAllowEverythingIsNotReported() {
        String yaml = "apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata:\n  name: trial\n"
                + "  namespace: foo\n  annotations: {istio.io/dry-run: \"true\"}\nspec:\n  rules:\n  - {}\n";
        assertThat(lint(yaml)).isEmpty();
    }
}
