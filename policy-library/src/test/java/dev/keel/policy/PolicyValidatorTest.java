package dev.keel.policy;

import static org.assertj.core.api.Assertions.assertThat;

import dev.keel.policy.AuthorizationPolicy.Action;
import dev.keel.policy.PeerAuthentication.MutualTLS;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** Istio's rules for policies built in code: the parser's messages, with paths and no positions. */
class PolicyValidatorTest {

    private static Source source(List<String> ipBlocks, List<String> principals) {
        return new Source(principals, List.of(), List.of(), List.of(), List.of(), List.of(), List.of(), List.of(),
                ipBlocks, List.of(), List.of(), List.of());
    }

    private static AuthorizationPolicy allow(Rule... rules) {
        return new AuthorizationPolicy(ApiVersion.V1, PolicyMetadata.of("foo", "built"), Optional.empty(), Optional.empty(),
                List.of(), List.of(rules), Action.ALLOW, Optional.empty());
    }

    @Test
    void aValidPolicyHasNoErrors() {
        assertThat(PolicyValidator.validate(allow(new Rule(List.of(source(List.of("10.0.0.0/8"),
                List.of("cluster.local/ns/a/sa/b"))), List.of(), List.of())))).isEmpty();
        assertThat(PolicyValidator.validate(allow(Rule.matchAll()))).isEmpty();
    }

    @Test
    void errorsHaveFieldPathsButNoPositions() {
        AuthorizationPolicy policy = allow(Rule.matchAll(), new Rule(List.of(source(List.of("10.0.0.0/33"), List.of())),
                List.of(), List.of()));
        assertThat(PolicyValidator.validate(policy)).containsExactly(new PolicyError("", 0, 0, 0,
                "spec.rules[1].from[0].source.ipBlocks[0]", "\"10.0.0.0/33\" is not a CIDR (prefix length 33 is out of range 0..32)"));
    }

    @Test
    void theRulesThatTextCannotBreakStillHold() {
        PeerAuthentication portOutOfRange = new PeerAuthentication(ApiVersion.V1, PolicyMetadata.of("foo", "p"),
                Optional.of(new WorkloadSelector(Map.of("app", "a"))), Optional.empty(),
                Map.of(70000, new MutualTLS(MutualTLS.Mode.STRICT)));
        assertThat(PolicyValidator.validate(portOutOfRange)).extracting(e -> e.fieldPath() + ": " + e.message())
                .containsExactly("spec.portLevelMtls[\"70000\"]: port 70000 is out of range 1..65535");

        JWTRule rule = new JWTRule("i", List.of(), "", "", List.of(new JWTHeader("", "")), List.of(), "", false, List.of(),
                Optional.of(Duration.ofNanos(1_500_000)), List.of(), List.of());
        RequestAuthentication ra = new RequestAuthentication(ApiVersion.V1, new PolicyMetadata("ra", "Foo", Map.of(),
                Map.of()), Optional.empty(), Optional.empty(), List.of(), List.of(rule));
        assertThat(PolicyValidator.validate(ra)).extracting(e -> e.fieldPath() + ": " + e.message()).containsExactly(
                "metadata.namespace: \"Foo\" is not a valid namespace: lower-case letters, digits and '-', starting and"
                        + " ending with a letter or digit, at most 63 characters",
                "spec.jwtRules[0].fromHeaders[0].name: must not be empty",
                "spec.jwtRules[0].timeout: must be a whole number of milliseconds");
    }

    @Test
    void everythingTheParserReturnsValidates() {
        for (String name : List.of("authorization-policy-all-fields.yaml", "request-authentication-all-fields.yaml",
                "peer-authentication-all-fields.yaml", "kubectl-output.json", "mixed.yaml")) {
            for (IstioPolicy policy : Fixtures.parseResource(name).policies()) {
                assertThat(PolicyValidator.validate(policy)).as(name + " " + policy.metadata()).isEmpty();
            }
        }
    }
}
