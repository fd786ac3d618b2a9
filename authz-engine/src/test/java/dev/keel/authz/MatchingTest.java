package dev.keel.authz;

import static dev.keel.authz.Policies.http;
import static dev.keel.authz.Policies.policy;
import static dev.keel.authz.Policies.program;
import static dev.keel.authz.Policies.tcp;
import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/**
 * Istio reference "Authorization Policy": Source, Operation, Condition, and "Value matching"
 * (exact, prefix {@code abc*}, suffix {@code *abc}, presence {@code *}); "Authorization Policy Conditions".
 */
class MatchingTest {

    private static DecisionProgram allowWhen(String rule) {
        return program(policy("allow", "rules:\n" + rule.stripIndent()));
    }

    private static boolean allowed(DecisionProgram p, AuthzRequest.Builder r) {
        return p.decide(r.build()).allowed();
    }

    @Test
    @DisplayName("Source.principals: exact, prefix, suffix and presence ('*' requires an authenticated peer)")
    void principals() {
        DecisionProgram exact = allowWhen("""
                - from:
                  - source:
                      principals: ["cluster.local/ns/bar/sa/sleep"]""");
        assertThat(allowed(exact, http())).isTrue();
        assertThat(allowed(exact, http().sourcePrincipal("spiffe://cluster.local/ns/bar/sa/sleep"))).isTrue();
        assertThat(allowed(exact, http().sourcePrincipal("cluster.local/ns/bar/sa/sleepy"))).isFalse();
        DecisionProgram prefix = allowWhen("""
                - from:
                  - source:
                      principals: ["cluster.local/ns/bar/*"]""");
        assertThat(allowed(prefix, http())).isTrue();
        assertThat(allowed(prefix, http().sourcePrincipal("cluster.local/ns/baz/sa/sleep"))).isFalse();
        DecisionProgram suffix = allowWhen("""
                - from:
                  - source:
                      principals: ["*/sa/sleep"]""");
        assertThat(allowed(suffix, http().sourcePrincipal("other.domain/ns/x/sa/sleep"))).isTrue();
        DecisionProgram any = allowWhen("""
                - from:
                  - source:
                      principals: ["*"]""");
        assertThat(allowed(any, http())).isTrue();
        assertThat(allowed(any, http().sourcePrincipal(null))).isFalse();
    }

    @Test
    @DisplayName("Source.notPrincipals: matches when none matches, including a plaintext peer without principal")
    void notPrincipals() {
        DecisionProgram p = allowWhen("""
                - from:
                  - source:
                      notPrincipals: ["cluster.local/ns/bar/*"]""");
        assertThat(allowed(p, http())).isFalse();
        assertThat(allowed(p, http().sourcePrincipal("cluster.local/ns/x/sa/y"))).isTrue();
        assertThat(allowed(p, http().sourcePrincipal(null))).isTrue();
    }

    @Test
    @DisplayName("Source.requestPrincipals / notRequestPrincipals: '<iss>/<sub>' of the JWT; '*' means any JWT")
    void requestPrincipals() {
        DecisionProgram p = allowWhen("""
                - from:
                  - source:
                      requestPrincipals: ["https://issuer.example/*"]
                      notRequestPrincipals: ["https://issuer.example/banned"]""");
        assertThat(allowed(p, http().requestPrincipal("https://issuer.example/alice"))).isTrue();
        assertThat(allowed(p, http().requestPrincipal("https://issuer.example/banned"))).isFalse();
        assertThat(allowed(p, http())).isFalse();
    }

    @Test
    @DisplayName("Source.namespaces / notNamespaces: from the peer's certificate")
    void namespaces() {
        DecisionProgram p = allowWhen("""
                - from:
                  - source:
                      namespaces: ["bar", "prod-*"]
                      notNamespaces: ["prod-legacy"]""");
        assertThat(allowed(p, http())).isTrue();
        assertThat(allowed(p, http().sourcePrincipal("cluster.local/ns/prod-eu/sa/x"))).isTrue();
        assertThat(allowed(p, http().sourcePrincipal("cluster.local/ns/prod-legacy/sa/x"))).isFalse();
        assertThat(allowed(p, http().sourcePrincipal(null))).isFalse();
    }

    @Test
    @DisplayName("Source.serviceAccounts / notServiceAccounts: '<namespace>/<name>' or '<name>' in the policy's namespace")
    void serviceAccounts() {
        DecisionProgram p = allowWhen("""
                - from:
                  - source:
                      serviceAccounts: ["bar/sleep", "local"]""");
        assertThat(allowed(p, http())).isTrue();
        assertThat(allowed(p, http().sourcePrincipal("cluster.local/ns/foo/sa/local"))).isTrue();
        assertThat(allowed(p, http().sourcePrincipal("cluster.local/ns/bar/sa/local"))).isFalse();
        DecisionProgram not = allowWhen("""
                - from:
                  - source:
                      notServiceAccounts: ["bar/sleep"]""");
        assertThat(allowed(not, http())).isFalse();
        assertThat(allowed(not, http().sourcePrincipal("cluster.local/ns/bar/sa/other"))).isTrue();
    }

    @Test
    @DisplayName("Source.ipBlocks / notIpBlocks (direct peer) and remoteIpBlocks / notRemoteIpBlocks (X-Forwarded-For): IPs and CIDRs, v4 and v6")
    void ipBlocks() {
        DecisionProgram p = allowWhen("""
                - from:
                  - source:
                      ipBlocks: ["10.0.0.0/8", "192.168.1.7", "2001:db8::/32"]
                      notIpBlocks: ["10.9.0.0/16"]""");
        assertThat(allowed(p, http().sourceIp("10.1.2.3"))).isTrue();
        assertThat(allowed(p, http().sourceIp("10.9.2.3"))).isFalse();
        assertThat(allowed(p, http().sourceIp("11.1.2.3"))).isFalse();
        assertThat(allowed(p, http().sourceIp("192.168.1.7"))).isTrue();
        assertThat(allowed(p, http().sourceIp("192.168.1.8"))).isFalse();
        assertThat(allowed(p, http().sourceIp("2001:db8:1::5"))).isTrue();
        assertThat(allowed(p, http().sourceIp("2001:db9::5"))).isFalse();
        DecisionProgram remote = allowWhen("""
                - from:
                  - source:
                      remoteIpBlocks: ["203.0.113.0/24"]
                      notRemoteIpBlocks: ["203.0.113.66"]""");
        assertThat(allowed(remote, http().remoteIp("203.0.113.5"))).isTrue();
        assertThat(allowed(remote, http().remoteIp("203.0.113.66"))).isFalse();
        assertThat(allowed(remote, http().sourceIp("203.0.113.9"))).as("remote.ip defaults to the peer").isTrue();
    }

    @Test
    @DisplayName("Operation.hosts: 'The match is case-insensitive' (CVE-2021-39155), with prefix and suffix")
    void hosts() {
        DecisionProgram p = program(policy("deny-host", """
                action: DENY
                rules:
                - to:
                  - operation:
                      hosts: ["admin.example.com", "*.internal", "debug.*"]"""));
        assertThat(allowed(p, http().host("admin.example.com"))).isFalse();
        assertThat(allowed(p, http().host("Admin.EXAMPLE.com"))).as("CVE-2021-39155 host-case bypass").isFalse();
        assertThat(allowed(p, http().host("db.INTERNAL"))).isFalse();
        assertThat(allowed(p, http().host("DEBUG.svc"))).isFalse();
        assertThat(allowed(p, http().host("www.example.com"))).isTrue();
        DecisionProgram not = allowWhen("""
                - to:
                  - operation:
                      notHosts: ["Secret.Example.com"]""");
        assertThat(allowed(not, http().host("SECRET.example.COM"))).isFalse();
        assertThat(allowed(not, http().host("public.example.com"))).isTrue();
    }

    @Test
    @DisplayName("Operation.ports / notPorts and methods / notMethods")
    void portsAndMethods() {
        DecisionProgram p = allowWhen("""
                - to:
                  - operation:
                      ports: ["8000", "8080"]
                      notMethods: ["DELETE"]""");
        assertThat(allowed(p, http().destinationPort(8080).method("GET"))).isTrue();
        assertThat(allowed(p, http().destinationPort(8080).method("DELETE"))).isFalse();
        assertThat(allowed(p, http().destinationPort(9000))).isFalse();
        DecisionProgram notPorts = allowWhen("""
                - to:
                  - operation:
                      notPorts: ["15000"]
                      methods: ["GET", "HEAD"]""");
        assertThat(allowed(notPorts, http().method("HEAD"))).isTrue();
        assertThat(allowed(notPorts, http().destinationPort(15000))).isFalse();
    }

    @Test
    @DisplayName("Operation.paths / notPaths: exact, prefix, suffix, presence; case-sensitive; query ignored")
    void paths() {
        DecisionProgram p = allowWhen("""
                - to:
                  - operation:
                      paths: ["/exact", "/prefix/*", "*.png"]
                      notPaths: ["/prefix/private*"]""");
        assertThat(allowed(p, http().path("/exact"))).isTrue();
        assertThat(allowed(p, http().path("/exact?x=1"))).isTrue();
        assertThat(allowed(p, http().path("/EXACT"))).isFalse();
        assertThat(allowed(p, http().path("/exact/"))).isFalse();
        assertThat(allowed(p, http().path("/prefix/a/b"))).isTrue();
        assertThat(allowed(p, http().path("/prefix/private/x"))).isFalse();
        assertThat(allowed(p, http().path("/img/logo.png"))).isTrue();
        assertThat(allowed(p, http().path("/other"))).isFalse();
    }

    @Test
    @DisplayName("Operation.paths templates: '{*} matches a single glob that cannot extend beyond a path segment', '{**} matches zero or more globs'")
    void pathTemplates() {
        DecisionProgram single = allowWhen("""
                - to:
                  - operation:
                      paths: ["/foo/{*}"]""");
        assertThat(allowed(single, http().path("/foo/bar"))).isTrue();
        assertThat(allowed(single, http().path("/foo/bar/baz"))).isFalse();
        assertThat(allowed(single, http().path("/foo/"))).isFalse();
        DecisionProgram multi = allowWhen("""
                - to:
                  - operation:
                      paths: ["/foo/{*}/bar/{**}"]""");
        assertThat(allowed(multi, http().path("/foo/buzz/bar/"))).isTrue();
        assertThat(allowed(multi, http().path("/foo/buzz/bar/baz"))).isTrue();
        assertThat(allowed(multi, http().path("/foo/buzz/bar/baz/qux"))).isTrue();
        assertThat(allowed(multi, http().path("/foo/buzz/baz/bar/x"))).isFalse();
        DecisionProgram trailing = allowWhen("""
                - to:
                  - operation:
                      paths: ["/foo/{**}/"]""");
        assertThat(allowed(trailing, http().path("/foo/bar/"))).isTrue();
        assertThat(allowed(trailing, http().path("/foo//"))).isTrue();
        assertThat(allowed(trailing, http().path("/foo/bar"))).isFalse();
    }

    @Test
    @DisplayName("Conditions: request.headers[...] (name case-insensitive) with values and notValues")
    void headers() {
        DecisionProgram p = allowWhen("""
                - when:
                  - key: request.headers[X-Tenant]
                    values: ["acme-*"]
                    notValues: ["acme-test"]""");
        assertThat(allowed(p, http().header("x-tenant", "acme-prod"))).isTrue();
        assertThat(allowed(p, http().header("X-TENANT", "acme-test"))).isFalse();
        assertThat(allowed(p, http())).isFalse();
        DecisionProgram absent = allowWhen("""
                - when:
                  - key: request.headers[X-Debug]
                    notValues: ["*"]""");
        assertThat(allowed(absent, http())).isTrue();
        assertThat(allowed(absent, http().header("X-Debug", ""))).as("presence counts an empty header").isFalse();
    }

    /** A map-backed {@link RequestHeaders} view, as a proxy's own header list would be. */
    private static RequestHeaders view(Map<String, String> joined) {
        return new RequestHeaders() {
            @Override
            public String joined(String lowerCaseName) {
                return joined.get(lowerCaseName);
            }

            @Override
            public Map<String, String> toMap() {
                return joined;
            }
        };
    }

    @Test
    @DisplayName("Headers given as a view read in place decide exactly as headers given one by one")
    void headerView() {
        DecisionProgram p = allowWhen("""
                - when:
                  - key: request.headers[X-Tenant]
                    values: ["acme-*"]
                    notValues: ["acme-test"]""");
        assertThat(allowed(p, http().headers(view(Map.of("x-tenant", "acme-prod"))))).isTrue();
        assertThat(allowed(p, http().headers(view(Map.of("x-tenant", "acme-test"))))).isFalse();
        assertThat(allowed(p, http().headers(view(Map.of())))).isFalse();
        AuthzRequest r = http().headers(view(Map.of("x-tenant", "acme-prod", "accept", "*/*"))).build();
        assertThat(r.header("x-tenant")).isEqualTo("acme-prod");
        assertThat(r.headers()).containsExactlyInAnyOrderEntriesOf(Map.of("x-tenant", "acme-prod", "accept", "*/*"));
        assertThat(org.assertj.core.api.Assertions.catchThrowable(() -> http().header("a", "b").headers(view(Map.of()))))
                .isInstanceOf(IllegalStateException.class).hasMessageContaining("headers");
        assertThat(org.assertj.core.api.Assertions.catchThrowable(
                () -> http().sourceIp(new byte[] {1, 2, 3}))).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("sourceIp: 3 bytes (expected: 4 or 16)");
    }

    @Test
    @DisplayName("Conditions: source.ip, remote.ip, destination.ip, destination.port, connection.sni")
    void connectionKeys() {
        DecisionProgram p = allowWhen("""
                - when:
                  - key: source.ip
                    values: ["10.1.0.0/16"]
                  - key: remote.ip
                    notValues: ["10.1.9.9"]
                  - key: destination.ip
                    values: ["10.0.0.9"]
                  - key: destination.port
                    values: ["8000"]
                  - key: connection.sni
                    values: ["*.foo.svc.cluster.local"]""");
        AuthzRequest.Builder ok = http().sni("outbound_.8000_._.httpbin.foo.svc.cluster.local");
        assertThat(allowed(p, ok)).isTrue();
        assertThat(allowed(p, http().sni("x.foo.svc.cluster.local").remoteIp("10.1.9.9"))).isFalse();
        assertThat(allowed(p, http().sni("x.foo.svc.cluster.local").destinationPort(8001))).isFalse();
        assertThat(allowed(p, http().sni("x.foo.svc.cluster.local").destinationIp("10.0.0.8"))).isFalse();
        assertThat(allowed(p, http())).as("no SNI").isFalse();
    }

    @Test
    @DisplayName("Conditions: source.namespace, source.principal")
    void sourceKeys() {
        DecisionProgram p = allowWhen("""
                - when:
                  - key: source.namespace
                    values: ["bar"]
                  - key: source.principal
                    notValues: ["cluster.local/ns/bar/sa/blocked"]""");
        assertThat(allowed(p, http())).isTrue();
        assertThat(allowed(p, http().sourcePrincipal("cluster.local/ns/bar/sa/blocked"))).isFalse();
        assertThat(allowed(p, http().sourcePrincipal("cluster.local/ns/baz/sa/x"))).isFalse();
    }

    @Test
    @DisplayName("Conditions: request.auth.principal, request.auth.audiences (any of the list), request.auth.presenter")
    void jwtKeys() {
        DecisionProgram p = allowWhen("""
                - when:
                  - key: request.auth.principal
                    values: ["https://issuer/*"]
                  - key: request.auth.audiences
                    values: ["api.example.com"]
                  - key: request.auth.presenter
                    notValues: ["untrusted-client"]""");
        AuthzRequest.Builder ok = http().requestPrincipal("https://issuer/alice")
                .audiences(List.of("web", "api.example.com")).presenter("app");
        assertThat(allowed(p, ok)).isTrue();
        assertThat(allowed(p, http().requestPrincipal("https://issuer/alice").audiences(List.of("web")))).isFalse();
        assertThat(allowed(p, http().requestPrincipal("https://issuer/alice").audiences(List.of("api.example.com"))
                .presenter("untrusted-client"))).isFalse();
    }

    @Test
    @DisplayName("Conditions: request.auth.claims[...] — nested [a][b] and list-valued claims (any element)")
    void claims() {
        DecisionProgram p = allowWhen("""
                - when:
                  - key: request.auth.claims[iss]
                    values: ["https://accounts.google.com"]
                  - key: request.auth.claims[groups]
                    values: ["admin", "ops-*"]
                  - key: request.auth.claims[realm_access][roles]
                    notValues: ["suspended"]""");
        Map<String, Object> ok = Map.of("iss", "https://accounts.google.com", "groups", List.of("dev", "ops-eu"),
                "realm_access", Map.of("roles", List.of("user")));
        assertThat(allowed(p, http().claims(ok))).isTrue();
        assertThat(allowed(p, http().claims(Map.of("iss", "https://accounts.google.com", "groups", "admin")))).isTrue();
        assertThat(allowed(p, http().claims(Map.of("iss", "https://accounts.google.com", "groups", List.of("dev")))))
                .isFalse();
        assertThat(allowed(p, http().claims(Map.of("iss", "https://accounts.google.com", "groups", List.of("admin"),
                "realm_access", Map.of("roles", List.of("user", "suspended")))))).isFalse();
        assertThat(allowed(p, http().claims(Map.of("iss", "https://evil", "groups", List.of("admin"))))).isFalse();
        DecisionProgram nested = allowWhen("""
                - when:
                  - key: request.auth.claims[a][b][c]
                    values: ["x"]""");
        assertThat(allowed(nested, http().claims(Map.of("a", Map.of("b", Map.of("c", "x")))))).isTrue();
        assertThat(allowed(nested, http().claims(Map.of("a", Map.of("b", "x"))))).isFalse();
        assertThat(allowed(nested, http().claims(Map.of("a", Map.of("b", Map.of("c", 7)))))).as("non-string").isFalse();
    }

    @Test
    @DisplayName("Path prefix index: every prefix length is probed, colliding hashes are told apart, first rule wins")
    void pathPrefixIndex() {
        // "Aa" and "BB" have the same String.hashCode, so "/Aa/" and "/BB/" share a hash and a probe sequence.
        DecisionProgram p = allowWhen("""
                - to:
                  - operation:
                      paths: ["/BB/*"]
                  from:
                  - source:
                      principals: ["cluster.local/ns/bar/sa/bb"]
                - to:
                  - operation:
                      paths: ["/Aa/*"]
                - to:
                  - operation:
                      paths: ["/Aa/long/prefix/beyond/the/request*"]
                - to:
                  - operation:
                      paths: ["/api/v1/{*}"]
                - to:
                  - operation:
                      paths: ["/api/*"]""");
        assertThat("/Aa/".hashCode()).isEqualTo("/BB/".hashCode());
        Decision aa = p.decide(http().path("/Aa/x").build());
        assertThat(aa.allowed()).isTrue();
        assertThat(aa.ruleIndex()).isEqualTo(1);
        assertThat(allowed(p, http().path("/BB/x"))).isFalse();
        assertThat(p.decide(http().path("/BB/x").sourcePrincipal("cluster.local/ns/bar/sa/bb").build()).ruleIndex())
                .isEqualTo(0);
        assertThat(p.decide(http().path("/api/v1/users").build()).ruleIndex()).isEqualTo(3);
        assertThat(p.decide(http().path("/api/v1/users/7").build()).ruleIndex()).isEqualTo(4);
        assertThat(p.decide(http().path("/api/").build()).ruleIndex()).isEqualTo(4);
        assertThat(allowed(p, http().path("/api"))).isFalse();
        assertThat(allowed(p, http().path("/A"))).isFalse();
        assertThat(allowed(p, http().path("/Ab/x"))).isFalse();
    }

    @Test
    @DisplayName("Namespace index: rules with only exact from.namespaces are found by the peer's namespace, in rule order")
    void namespaceIndex() {
        DecisionProgram p = allowWhen("""
                - from:
                  - source:
                      namespaces: ["bar", "baz"]
                  to:
                  - operation:
                      methods: ["POST"]
                - from:
                  - source:
                      namespaces: ["bar"]
                - from:
                  - source:
                      namespaces: ["qux"]
                  - source:
                      namespaces: ["bar"]
                      ipBlocks: ["10.9.0.0/16"]""");
        assertThat(p.decide(http().method("POST").build()).ruleIndex()).isEqualTo(0);
        assertThat(p.decide(http().build()).ruleIndex()).isEqualTo(1);
        assertThat(p.decide(http().sourcePrincipal("cluster.local/ns/qux/sa/x").build()).ruleIndex()).isEqualTo(2);
        assertThat(allowed(p, http().sourcePrincipal("cluster.local/ns/baz/sa/x"))).isFalse();
        assertThat(allowed(p, http().sourcePrincipal("cluster.local/ns/other/sa/x"))).isFalse();
        assertThat(allowed(p, http().sourcePrincipal(null))).isFalse();
        assertThat(p.decide(tcp().build()).ruleIndex()).isEqualTo(1);
    }
}
