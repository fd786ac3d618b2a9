package dev.keel.policy;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** A file is reported whole: every independent problem once, each where it is, in file order. */
class AllErrorsTest {

    private static final String THREE_PROBLEMS = ""
            + "apiVersion: security.istio.io/v1\n"            // 1
            + "kind: AuthorizationPolicy\n"                   // 2
            + "metadata:\n"                                   // 3
            + "  name: three-problems\n"                      // 4
            + "spec:\n"                                       // 5
            + "  rules:\n"                                    // 6
            + "  - from:\n"                                   // 7
            + "    - source:\n"                               // 8
            + "        principal: [\"cluster.local/ns/a/sa/b\"]\n" // 9: misspelled
            + "  - from:\n"                                   // 10
            + "    - source:\n"                               // 11
            + "        ipBlocks: [\"10.0.0.0/8\", \"10.0.0.0/33\"]\n" // 12: bad CIDR
            + "---\n"                                         // 13
            + "apiVersion: security.istio.io/v1\n"            // 14
            + "kind: RequestAuthentication\n"                 // 15
            + "metadata:\n"                                   // 16
            + "  name: jwt\n"                                 // 17
            + "spec:\n"                                       // 18
            + "  jwtRules:\n"                                 // 19
            + "  - issuer: https://issuer.example.com\n"      // 20
            + "    timeout: 0s\n";                            // 21: too short

    @Test
    void threeProblemsThreeErrorsWithTheirLines() {
        ParseResult result = PolicyParser.parse("three.yaml", THREE_PROBLEMS);

        assertThat(result.isOk()).isFalse();
        assertThat(result.errors()).extracting(PolicyError::toString).containsExactly(
                "three.yaml:9:9: spec.rules[0].from[0].source.principal: unknown field \"principal\" (did you mean \"principals\"?)",
                "three.yaml:12:34: spec.rules[1].from[0].source.ipBlocks[1]: \"10.0.0.0/33\" is not a CIDR (prefix length 33"
                        + " is out of range 0..32)",
                "three.yaml:21:14: spec.jwtRules[0].timeout: must be at least 1ms");
        assertThat(result.errors()).extracting(PolicyError::documentIndex).containsExactly(0, 0, 1);
    }

    @Test
    void oneMistakeIsOneErrorNotACascade() {
        // The misspelled field leaves the source empty, which Istio refuses too; only the cause is reported.
        ParseResult result = PolicyParser.parse("one.yaml", THREE_PROBLEMS.substring(0, THREE_PROBLEMS.indexOf("  - from:\n    - source:\n        ipBlocks")));
        assertThat(Fixtures.briefs(result)).isEqualTo(
                "9: spec.rules[0].from[0].source.principal: unknown field \"principal\" (did you mean \"principals\"?)");
    }

    @Test
    void errorsInAListAreLocatedInsideIt() {
        String list = "apiVersion: v1\nkind: List\nitems:\n"
                + "- apiVersion: security.istio.io/v1\n  kind: PeerAuthentication\n  metadata: {name: a}\n"
                + "  spec: {mtls: {mode: strict}}\n"
                + "- apiVersion: security.istio.io/v1\n  kind: PeerAuthentication\n  metadata: {name: b}\n"
                + "  spec: {mtls: {}, portLevelMtls: {\"80\": {}}}\n";
        assertThat(Fixtures.briefs(PolicyParser.parse("list.yaml", list))).isEqualTo(
                "7: items[0].spec.mtls.mode: \"strict\" is not one of UNSET, DISABLE, PERMISSIVE, STRICT (did you mean \"STRICT\"?)\n"
                        + "11: items[1].spec.portLevelMtls: portLevelMtls requires a selector with matchLabels: a mesh- or"
                        + " namespace-wide PeerAuthentication cannot set port-level mTLS");
    }

    @Test
    void aSecondPolicyWithTheSameNameIsAnError() {
        String twice = "apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata: {name: a, namespace: n}\n"
                + "---\n"
                + "apiVersion: security.istio.io/v1beta1\nkind: AuthorizationPolicy\nmetadata: {name: a, namespace: n}\n";
        assertThat(Fixtures.briefs(PolicyParser.parse("twice.yaml", twice))).isEqualTo(
                "7: metadata.name: duplicate AuthorizationPolicy \"n/a\" (first in document 0, line 3)");
    }

    @Test
    void aSyntaxErrorStopsReadingButKeepsEarlierErrors() {
        String text = "apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata: {name: a}\nspec: {action: NOPE}\n"
                + "---\n"
                + "apiVersion: [\n";
        ParseResult result = PolicyParser.parse("broken.yaml", text);
        assertThat(result.errors()).extracting(PolicyError::line, PolicyError::documentIndex).containsExactly(
                org.assertj.core.groups.Tuple.tuple(4, 0), org.assertj.core.groups.Tuple.tuple(7, 1));
        assertThat(result.errors().get(1).message()).startsWith("invalid YAML: ");
    }
}
