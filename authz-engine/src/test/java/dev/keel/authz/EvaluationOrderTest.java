package dev.keel.authz;

import static dev.keel.authz.Policies.http;
import static dev.keel.authz.Policies.policy;
import static dev.keel.authz.Policies.program;
import static org.assertj.core.api.Assertions.assertThat;

import dev.keel.policy.ApiVersion;
import dev.keel.policy.AuthorizationPolicy;
import dev.keel.policy.AuthorizationPolicy.Action;
import dev.keel.policy.PolicyMetadata;
import java.util.List;
import java.util.Optional;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/** Istio reference "Authorization Policy" (security.istio.io/v1), introduction: the evaluation order. */
class EvaluationOrderTest {

    private static final String ALLOW_GET = policy("allow-get", """
              action: ALLOW
              rules:
              - to:
                - operation:
                    methods: ["GET"]""");
    private static final String DENY_ADMIN = policy("deny-admin", """
              action: DENY
              rules:
              - to:
                - operation:
                    paths: ["/admin*"]""");

    @Test
    @DisplayName("Authorization Policy: 'If there are no ALLOW policies for the workload, allow the request'")
    void noPolicyAllows() {
        Decision d = program("").decide(http().build());
        assertThat(d.allowed()).isTrue();
        assertThat(d.reason()).isEqualTo(Decision.Reason.NO_ALLOW_POLICY);
        assertThat(d.policy()).isNull();
    }

    @Test
    @DisplayName("Authorization Policy: 'If any of the ALLOW policies match the request, allow'; otherwise 'Deny the request'")
    void allowMatchesOrDeny() {
        DecisionProgram p = program(ALLOW_GET);
        Decision allowed = p.decide(http().method("GET").build());
        assertThat(allowed.allowed()).isTrue();
        assertThat(allowed.reason()).isEqualTo(Decision.Reason.ALLOW_POLICY_MATCHED);
        assertThat(allowed.policy()).isEqualTo("foo/allow-get");
        assertThat(allowed.ruleIndex()).isZero();
        Decision denied = p.decide(http().method("POST").build());
        assertThat(denied.allowed()).isFalse();
        assertThat(denied.reason()).isEqualTo(Decision.Reason.NO_ALLOW_POLICY_MATCHED);
    }

    @Test
    @DisplayName("Authorization Policy: 'If there are any DENY policies that match the request, deny the request' before ALLOW")
    void denyBeforeAllow() {
        DecisionProgram p = program(ALLOW_GET + "---\n" + DENY_ADMIN);
        Decision d = p.decide(http().method("GET").path("/admin/users").build());
        assertThat(d.allowed()).isFalse();
        assertThat(d.reason()).isEqualTo(Decision.Reason.DENY_POLICY_MATCHED);
        assertThat(d.action()).isEqualTo(Action.DENY);
        assertThat(d.policy()).isEqualTo("foo/deny-admin");
        assertThat(p.decide(http().method("GET").path("/status").build()).allowed()).isTrue();
    }

    @Test
    @DisplayName("Authorization Policy: a DENY policy alone leaves other requests allowed (no ALLOW policy)")
    void denyOnlyAllowsTheRest() {
        DecisionProgram p = program(DENY_ADMIN);
        assertThat(p.decide(http().path("/status").build()).reason()).isEqualTo(Decision.Reason.NO_ALLOW_POLICY);
        assertThat(p.decide(http().path("/admin").build()).allowed()).isFalse();
    }

    @Test
    @DisplayName("Authorization Policy, allow-nothing example: 'spec: {}' is an ALLOW policy that matches nothing")
    void emptySpecAllowsNothing() {
        DecisionProgram p = program(policy("allow-nothing", "  {}"));
        assertThat(p.decide(http().build()).reason()).isEqualTo(Decision.Reason.NO_ALLOW_POLICY_MATCHED);
    }

    @Test
    @DisplayName("Authorization Policy, allow-all example: 'rules: [{}]' matches every request")
    void emptyRuleMatchesAll() {
        assertThat(program(policy("allow-all", "  rules:\n  - {}")).decide(http().build()).allowed()).isTrue();
        assertThat(program(policy("deny-all", "  action: DENY\n  rules:\n  - {}")).decide(http().build()).allowed())
                .isFalse();
    }

    @Test
    @DisplayName("Authorization Policy: a DENY policy without rules matches nothing")
    void denyWithoutRulesMatchesNothing() {
        // policy-library refuses this in text (as istioctl analyze warns); built in code it still means "nothing"
        AuthorizationPolicy denyNone = new AuthorizationPolicy(ApiVersion.V1, PolicyMetadata.of("foo", "deny-none"),
                Optional.empty(), Optional.empty(), List.of(), List.of(), Action.DENY, Optional.empty());
        assertThat(DecisionProgram.compile(List.of(denyNone), Policies.HTTPBIN, AuthzConfig.defaults())
                .decide(http().build()).allowed()).isTrue();
    }

    @Test
    @DisplayName("Authorization Policy, Action AUDIT: 'Audit a request if it matches any of the rules' — never changes the decision")
    void auditIsReportedOnly() {
        DecisionProgram p = program(policy("audit-admin", """
                  action: AUDIT
                  rules:
                  - to:
                    - operation:
                        paths: ["/admin"]"""));
        DecisionReport report = new DecisionReport();
        Decision d = p.decide(http().path("/admin").build(), report);
        assertThat(d.reason()).isEqualTo(Decision.Reason.NO_ALLOW_POLICY);
        assertThat(report.audit().reason()).isEqualTo(Decision.Reason.AUDIT_POLICY_MATCHED);
        assertThat(report.audit().policy()).isEqualTo("foo/audit-admin");
        p.decide(http().path("/other").build(), report);
        assertThat(report.audit()).isNull();
    }

    @Test
    @DisplayName("Dry Run (istio.io/dry-run annotation): a dry-run DENY is evaluated and reported, never enforced")
    void dryRunDenyNotEnforced() {
        String yaml = """
                apiVersion: security.istio.io/v1
                kind: AuthorizationPolicy
                metadata:
                  name: deny-path-headers
                  namespace: foo
                  annotations:
                    "istio.io/dry-run": "true"
                spec:
                  action: DENY
                  rules:
                  - to:
                    - operation:
                        paths: ["/headers"]
                """;
        DecisionProgram p = program(yaml);
        DecisionReport report = new DecisionReport();
        Decision d = p.decide(http().path("/headers").build(), report);
        assertThat(d.allowed()).isTrue();
        assertThat(report.dryRunDeny().allowed()).isFalse();
        assertThat(report.dryRunDeny().dryRun()).isTrue();
        assertThat(report.dryRunDeny().policy()).isEqualTo("foo/deny-path-headers");
        assertThat(report.dryRunAllow()).isNull();
    }

    @Test
    @DisplayName("Dry Run: a dry-run ALLOW does not make the workload deny-by-default; its shadow result is reported")
    void dryRunAllowNotEnforced() {
        String yaml = """
                apiVersion: security.istio.io/v1
                kind: AuthorizationPolicy
                metadata:
                  name: allow-get
                  namespace: foo
                  annotations:
                    istio.io/dry-run: "true"
                spec:
                  rules:
                  - to:
                    - operation:
                        methods: ["GET"]
                """;
        DecisionProgram p = program(yaml);
        DecisionReport report = new DecisionReport();
        assertThat(p.decide(http().method("POST").build(), report).reason()).isEqualTo(Decision.Reason.NO_ALLOW_POLICY);
        assertThat(report.dryRunAllow().allowed()).isFalse();
        p.decide(http().method("GET").build(), report);
        assertThat(report.dryRunAllow().allowed()).isTrue();
        assertThat(report.dryRunAllow().policy()).isEqualTo("foo/allow-get");
    }

    @Test
    @DisplayName("Authorization Policy, Action CUSTOM: evaluated first; a provider deny wins over a matching ALLOW")
    void customFirst() {
        AtomicInteger calls = new AtomicInteger();
        ExternalAuthorizer denyAll = r -> {
            calls.incrementAndGet();
            return ExternalAuthorizer.Result.DENY;
        };
        String custom = policy("ext-authz", """
                  action: CUSTOM
                  provider:
                    name: opa
                  rules:
                  - to:
                    - operation:
                        paths: ["/api/*"]""");
        DecisionProgram p = program(custom + "---\n" + policy("allow-all", "  rules:\n  - {}"),
                AuthzConfig.defaults().withExtensionProvider("opa", denyAll));
        Decision d = p.decide(http().path("/api/x").build());
        assertThat(d.reason()).isEqualTo(Decision.Reason.CUSTOM_DENIED);
        assertThat(d.policy()).isEqualTo("foo/ext-authz");
        assertThat(calls).hasValue(1);
        // CUSTOM rules that do not match never call the provider
        assertThat(p.decide(http().path("/public").build()).allowed()).isTrue();
        assertThat(calls).hasValue(1);
    }

    @Test
    @DisplayName("Authorization Policy, Action CUSTOM: a provider allow still goes through DENY and ALLOW")
    void customAllowThenDeny() {
        String custom = policy("ext-authz", """
                  action: CUSTOM
                  provider:
                    name: opa
                  rules:
                  - {}""");
        DecisionProgram p = program(custom + "---\n" + DENY_ADMIN,
                AuthzConfig.defaults().withExtensionProvider("opa", r -> ExternalAuthorizer.Result.ALLOW));
        DecisionReport report = new DecisionReport();
        assertThat(p.decide(http().path("/admin").build(), report).reason()).isEqualTo(Decision.Reason.DENY_POLICY_MATCHED);
        assertThat(report.custom().reason()).isEqualTo(Decision.Reason.CUSTOM_ALLOWED);
        assertThat(p.decide(http().path("/x").build()).allowed()).isTrue();
    }

    @Test
    @DisplayName("Failure stance: a CUSTOM provider that errors, throws or is not configured denies (fail closed)")
    void customFailsClosed() {
        String custom = policy("ext-authz", "  action: CUSTOM\n  provider:\n    name: opa\n  rules:\n  - {}");
        assertThat(program(custom).decide(http().build()).reason()).isEqualTo(Decision.Reason.CUSTOM_ERROR);
        assertThat(program(custom, AuthzConfig.defaults().withExtensionProvider("opa", r -> {
            throw new IllegalStateException("boom");
        })).decide(http().build()).reason()).isEqualTo(Decision.Reason.CUSTOM_ERROR);
        assertThat(program(custom, AuthzConfig.defaults().withExtensionProvider("opa", r -> ExternalAuthorizer.Result.ERROR))
                .decide(http().build()).allowed()).isFalse();
    }

    @Test
    @DisplayName("Authorization Policy, selector: namespace policies apply to their namespace; root-namespace ones mesh-wide")
    void selection() {
        String other = policy("deny-all", "  action: DENY\n  rules:\n  - {}").replace("namespace: foo", "namespace: bar");
        assertThat(program(other).decide(http().build()).allowed()).isTrue();
        String root = other.replace("namespace: bar", "namespace: istio-system");
        assertThat(program(root).decide(http().build()).allowed()).isFalse();
        assertThat(program(root, AuthzConfig.defaults().withRootNamespace("mesh-root")).decide(http().build()).allowed())
                .isTrue();
        String selected = policy("deny-v2", """
                  selector:
                    matchLabels:
                      app: httpbin
                      version: v2
                  action: DENY
                  rules:
                  - {}""");
        assertThat(program(selected).decide(http().build()).allowed()).isTrue();
        assertThat(DecisionProgram.compile(Policies.parse(selected),
                Workload.of("foo", Map.of("app", "httpbin", "version", "v2")), AuthzConfig.defaults())
                .decide(http().build()).allowed()).isFalse();
    }

    @Test
    @DisplayName("Authorization Policy, targetRefs: a policy attached to a Gateway or Service does not apply to the workload proxy")
    void targetRefsDoNotApplyToTheSidecar() {
        String yaml = policy("deny-gw", """
                  targetRefs:
                  - kind: Gateway
                    group: gateway.networking.k8s.io
                    name: waypoint
                  action: DENY
                  rules:
                  - {}""");
        assertThat(program(yaml).decide(http().build()).allowed()).isTrue();
    }

    @Test
    @DisplayName("Rule: 'fields AND, values OR'; rules OR; several sources OR")
    void andOr() {
        DecisionProgram p = program(policy("allow", """
                  rules:
                  - from:
                    - source:
                        principals: ["cluster.local/ns/default/sa/sleep"]
                    - source:
                        namespaces: ["test"]
                    to:
                    - operation:
                        methods: ["GET"]
                        paths: ["/info*"]
                    - operation:
                        methods: ["POST"]
                        paths: ["/data"]
                  - to:
                    - operation:
                        paths: ["/healthz"]"""));
        assertThat(p.decide(http().sourcePrincipal("cluster.local/ns/default/sa/sleep").method("GET").path("/info/x").build())
                .allowed()).isTrue();
        assertThat(p.decide(http().sourcePrincipal("cluster.local/ns/test/sa/any").method("POST").path("/data").build())
                .allowed()).isTrue();
        assertThat(p.decide(http().sourcePrincipal("cluster.local/ns/test/sa/any").method("POST").path("/info").build())
                .allowed()).isFalse();
        assertThat(p.decide(http().sourcePrincipal("cluster.local/ns/other/sa/x").method("GET").path("/info").build())
                .allowed()).isFalse();
        Decision health = p.decide(http().sourcePrincipal(null).method("PUT").path("/healthz").build());
        assertThat(health.allowed()).isTrue();
        assertThat(health.ruleIndex()).isEqualTo(1);
    }
}
