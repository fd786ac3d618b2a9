package dev.keel.authz;

import static dev.keel.authz.Policies.policy;
import static dev.keel.authz.Policies.program;
import static dev.keel.authz.Policies.tcp;
import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/**
 * Istio task "Authorization for TCP traffic" and the generator in {@code pilot/pkg/security/authz/model}:
 * HTTP-only fields on a TCP connection make an ALLOW rule match nothing ("a smaller allow policy") and
 * are ignored in a DENY rule ("a wider deny policy").
 */
class TcpTest {

    @Test
    @DisplayName("TCP traffic task: an ALLOW policy with an HTTP-only field (methods) does not allow TCP: the request is rejected")
    void allowWithHttpOnlyFieldIsSkipped() {
        DecisionProgram p = program(policy("tcp-policy", """
                action: ALLOW
                rules:
                - to:
                  - operation:
                      methods: ["GET"]
                      ports: ["9000"]"""));
        Decision d = p.decide(tcp().destinationPort(9000).build());
        assertThat(d.allowed()).isFalse();
        assertThat(d.reason()).isEqualTo(Decision.Reason.NO_ALLOW_POLICY_MATCHED);
        assertThat(p.explain(tcp().destinationPort(9000).build()).render())
                .contains("skipped on a TCP connection", "to[0].operation.methods");
    }

    @Test
    @DisplayName("TCP traffic task: an ALLOW rule with TCP fields only (ports) allows the TCP connection")
    void allowWithTcpFieldsOnly() {
        DecisionProgram p = program(policy("tcp-policy", """
                rules:
                - to:
                  - operation:
                      ports: ["9000", "9001"]"""));
        assertThat(p.decide(tcp().destinationPort(9001).build()).allowed()).isTrue();
        assertThat(p.decide(tcp().destinationPort(9002).build()).allowed()).isFalse();
    }

    @Test
    @DisplayName("TCP traffic task: a DENY policy with an HTTP-only field ignores it, so the deny is wider and rejects the connection")
    void denyIgnoresHttpOnlyField() {
        DecisionProgram p = program(policy("tcp-policy", """
                action: DENY
                rules:
                - to:
                  - operation:
                      methods: ["GET"]
                      ports: ["9000"]"""));
        Decision d = p.decide(tcp().destinationPort(9000).build());
        assertThat(d.allowed()).isFalse();
        assertThat(d.reason()).isEqualTo(Decision.Reason.DENY_POLICY_MATCHED);
        assertThat(p.decide(tcp().destinationPort(9001).build()).allowed()).as("ports still apply").isTrue();
        // the same policy on HTTP needs the method
        assertThat(p.decide(Policies.http().destinationPort(9000).method("POST").build()).allowed()).isTrue();
    }

    @Test
    @DisplayName("TCP: a DENY rule whose only constraints are HTTP-only (requestPrincipals, when request.headers) denies every TCP connection")
    void denyWithOnlyHttpFieldsDeniesAll() {
        DecisionProgram p = program(policy("deny-jwt", """
                action: DENY
                rules:
                - from:
                  - source:
                      notRequestPrincipals: ["*"]
                  when:
                  - key: request.headers[x-token]
                    values: ["*"]"""));
        assertThat(p.decide(tcp().build()).allowed()).isFalse();
        assertThat(p.explain(tcp().build()).render()).contains("ignored on a TCP connection");
    }

    @Test
    @DisplayName("TCP: an ALLOW rule is skipped whole, even when its other source would match")
    void allowRuleSkippedWhole() {
        DecisionProgram p = program(policy("allow", """
                rules:
                - from:
                  - source:
                      principals: ["cluster.local/ns/bar/sa/sleep"]
                  - source:
                      requestPrincipals: ["*"]
                - from:
                  - source:
                      namespaces: ["bar"]"""));
        Decision d = p.decide(tcp().build());
        assertThat(d.allowed()).isTrue();
        assertThat(d.ruleIndex()).as("rule 0 is skipped on TCP, rule 1 matches").isEqualTo(1);
        assertThat(p.decide(Policies.http().build()).ruleIndex()).isZero();
    }

    @Test
    @DisplayName("TCP: principals, namespaces, ipBlocks, ports and connection conditions work on TCP")
    void connectionFieldsOnTcp() {
        DecisionProgram p = program(policy("allow", """
                rules:
                - from:
                  - source:
                      namespaces: ["bar"]
                      ipBlocks: ["10.0.0.0/8"]
                  to:
                  - operation:
                      ports: ["9000"]
                  when:
                  - key: destination.ip
                    values: ["10.0.0.9"]"""));
        assertThat(p.decide(tcp().build()).allowed()).isTrue();
        assertThat(p.decide(tcp().sourceIp("172.16.0.1").build()).allowed()).isFalse();
    }
}
