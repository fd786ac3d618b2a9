package dev.keel.authz;

import static org.assertj.core.api.Assertions.assertThat;

import dev.keel.policy.AuthorizationPolicy;
import dev.keel.policy.ParseResult;
import dev.keel.policy.PolicyParser;
import java.util.List;
import java.util.Map;

/** Test helpers: policies from YAML through the real parser, and requests. */
final class Policies {

    static final Workload HTTPBIN = Workload.of("foo", Map.of("app", "httpbin", "version", "v1"));

    private Policies() {
    }

    static List<AuthorizationPolicy> parse(String yaml) {
        ParseResult result = PolicyParser.parse("test.yaml", yaml);
        assertThat(result.errors()).as("parse errors").isEmpty();
        return result.policies(AuthorizationPolicy.class);
    }

    static DecisionProgram program(String yaml) {
        return DecisionProgram.compile(parse(yaml), HTTPBIN, AuthzConfig.defaults());
    }

    static DecisionProgram program(String yaml, AuthzConfig config) {
        return DecisionProgram.compile(parse(yaml), HTTPBIN, config);
    }

    /** A policy in namespace foo: {@code spec} is the YAML body under {@code spec:}, indented by 2. */
    static String policy(String name, String spec) {
        return "apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata:\n  name: " + name
                + "\n  namespace: foo\nspec:\n" + spec.stripIndent().indent(2);
    }

    static AuthzRequest.Builder http() {
        return AuthzRequest.builder(Protocol.HTTP).sourcePrincipal("cluster.local/ns/bar/sa/sleep").sourceIp("10.1.2.3")
                .destinationIp("10.0.0.9").destinationPort(8000).method("GET").path("/").host("httpbin.foo");
    }

    static AuthzRequest.Builder tcp() {
        return AuthzRequest.builder(Protocol.TCP).sourcePrincipal("cluster.local/ns/bar/sa/sleep").sourceIp("10.1.2.3")
                .destinationIp("10.0.0.9").destinationPort(9000);
    }
}
