package dev.keel.authz;

import static dev.keel.authz.Policies.http;
import static dev.keel.authz.Policies.policy;
import static dev.keel.authz.Policies.program;
import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/** Every decision explains itself: action, policy, rule index, and the condition that matched or failed. */
class ExplanationTest {

    private static final String POLICIES = policy("deny-admin", """
            action: DENY
            rules:
            - to:
              - operation:
                  paths: ["/admin*"]""") + "---\n" + policy("allow-reader", """
            rules:
            - from:
              - source:
                  principals: ["cluster.local/ns/bar/sa/reader"]
              to:
              - operation:
                  methods: ["GET"]
            - when:
              - key: request.headers[x-role]
                values: ["admin"]""");

    @Test
    @DisplayName("A denial by DENY names the policy and rule in the decision itself")
    void denyDecision() {
        Decision d = program(POLICIES).decide(http().path("/admin").build());
        assertThat(d.summary()).isEqualTo("denied by DENY policy foo/deny-admin, spec.rules[0] matched");
        assertThat(d.policyNamespace()).isEqualTo("foo");
        assertThat(d.policyName()).isEqualTo("deny-admin");
    }

    @Test
    @DisplayName("A default deny explains, per rule, the first field that failed and the request's value")
    void defaultDenyExplained() {
        Explanation e = program(POLICIES).explain(http().sourcePrincipal("cluster.local/ns/bar/sa/writer").method("POST")
                .build());
        assertThat(e.decision().reason()).isEqualTo(Decision.Reason.NO_ALLOW_POLICY_MATCHED);
        assertThat(e.policies()).hasSize(2);
        Explanation.PolicyTrace allow = e.policies().get(0);
        assertThat(allow.name()).isEqualTo("allow-reader");
        assertThat(allow.rules()).extracting(Explanation.RuleTrace::matched).containsExactly(false, false);
        assertThat(allow.rules().get(0).details()).containsExactly(
                "from: no source matched: from[0].source.principals did not match (request: "
                        + "\"cluster.local/ns/bar/sa/writer\"; policy: [cluster.local/ns/bar/sa/reader])",
                "to: no operation matched: to[0].operation.methods did not match (request: \"POST\"; policy: [GET])");
        assertThat(allow.rules().get(1).details()).containsExactly(
                "when[0].values (request.headers[x-role]) did not match (request: absent; policy: [admin])");
        assertThat(e.render()).startsWith("DENY: ALLOW policies apply to the workload and none matched: denied\n");
    }

    @Test
    @DisplayName("An allow explains which source and operation matched")
    void allowExplained() {
        Explanation e = program(POLICIES).explain(http().sourcePrincipal("cluster.local/ns/bar/sa/reader").build());
        assertThat(e.decision().summary()).isEqualTo("allowed by ALLOW policy foo/allow-reader, spec.rules[0] matched");
        assertThat(e.policies().get(0).rules().get(0).details()).containsExactly("from[0].source matched",
                "to[0].operation matched");
    }
}
