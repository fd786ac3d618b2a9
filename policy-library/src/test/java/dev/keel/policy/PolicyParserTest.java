package dev.keel.policy;

import static dev.keel.policy.Fixtures.load;
import static dev.keel.policy.Fixtures.parseResource;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.keel.policy.AuthorizationPolicy.Action;
import dev.keel.policy.AuthorizationPolicy.ExtensionProvider;
import dev.keel.policy.PeerAuthentication.MutualTLS;
import dev.keel.policy.PeerAuthentication.MutualTLS.Mode;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/**
 * Policies of our own that use every field on Istio's AuthorizationPolicy, RequestAuthentication and
 * PeerAuthentication reference pages, read field by field, in YAML (v1 and v1beta1, many documents) and
 * JSON (as kubectl prints it).
 */
class PolicyParserTest {

    @Test
    void authorizationPolicyEveryField() {
        ParseResult result = parseResource("authorization-policy-all-fields.yaml");
        assertThat(result.errors()).isEmpty();
        List<AuthorizationPolicy> policies = result.policies(AuthorizationPolicy.class);
        assertThat(policies).hasSize(7);

        AuthorizationPolicy httpbin = policies.get(0);
        assertThat(httpbin.apiVersion()).isEqualTo(ApiVersion.V1);
        assertThat(httpbin.kind()).isEqualTo(PolicyKind.AUTHORIZATION_POLICY);
        assertThat(httpbin.metadata()).isEqualTo(new PolicyMetadata("httpbin", "foo",
                Map.of("app.kubernetes.io/part-of", "bookinfo"), Map.of("istio.io/dry-run", "true")));
        assertThat(httpbin.dryRun()).isTrue();
        assertThat(httpbin.selector()).contains(new WorkloadSelector(Map.of("app", "httpbin", "version", "v1")));
        assertThat(httpbin.selector().orElseThrow().matchLabels().keySet()).containsExactly("app", "version");
        assertThat(httpbin.targetRef()).isEmpty();
        assertThat(httpbin.targetRefs()).isEmpty();
        assertThat(httpbin.action()).isEqualTo(Action.ALLOW);
        assertThat(httpbin.provider()).isEmpty();
        assertThat(httpbin.rules()).hasSize(1);

        Rule rule = httpbin.rules().get(0);
        assertThat(rule.from()).hasSize(2);
        Source peers = rule.from().get(0);
        assertThat(peers.principals()).containsExactly("cluster.local/ns/default/sa/sleep", "cluster.local/ns/default/*");
        assertThat(peers.notPrincipals()).containsExactly("*/ns/default/sa/untrusted");
        assertThat(peers.requestPrincipals()).containsExactly("https://accounts.google.com/*");
        assertThat(peers.notRequestPrincipals()).containsExactly("https://accounts.google.com/blocked");
        assertThat(peers.namespaces()).containsExactly("test", "prod-*");
        assertThat(peers.notNamespaces()).containsExactly("dev");
        assertThat(peers.serviceAccounts()).isEmpty();
        assertThat(peers.notServiceAccounts()).isEmpty();
        assertThat(peers.ipBlocks()).containsExactly("203.0.113.4", "203.0.113.0/24", "2001:db8::/32");
        assertThat(peers.notIpBlocks()).containsExactly("203.0.113.5");
        assertThat(peers.remoteIpBlocks()).containsExactly("198.51.100.0/24");
        assertThat(peers.notRemoteIpBlocks()).containsExactly("198.51.100.7", "::ffff:198.51.100.8");
        Source accounts = rule.from().get(1);
        assertThat(accounts.serviceAccounts()).containsExactly("default/sleep", "curl");
        assertThat(accounts.notServiceAccounts()).containsExactly("default/untrusted");
        assertThat(accounts.principals()).isEmpty();
        assertThat(accounts.ipBlocks()).isEmpty();

        assertThat(rule.to()).containsExactly(new Operation(
                List.of("*.example.com", "example.com"), List.of("admin.example.com"),
                List.of("8080", "443"), List.of("15000"),
                List.of("GET", "HEAD"), List.of("DELETE"),
                List.of("/info*", "/api/{*}/items/{**}"), List.of("/admin*")));

        assertThat(rule.when()).containsExactly(
                new Condition("request.headers[User-Agent]", List.of("Mozilla/*"), List.of("curl/*")),
                new Condition("source.ip", List.of("10.1.2.3", "10.2.0.0/16"), List.of()),
                new Condition("remote.ip", List.of(), List.of("192.0.2.1")),
                new Condition("source.namespace", List.of("default"), List.of()),
                new Condition("source.principal", List.of("cluster.local/ns/default/sa/productpage"), List.of()),
                new Condition("request.auth.principal", List.of("issuer.example.com/subject-admin"), List.of()),
                new Condition("request.auth.audiences", List.of("example.com"), List.of()),
                new Condition("request.auth.presenter", List.of("123456789012.example.com"), List.of()),
                new Condition("request.auth.claims[iss]", List.of("https://accounts.google.com"), List.of()),
                new Condition("request.auth.claims[nested1][nested2]", List.of("some-value"), List.of()),
                new Condition("destination.ip", List.of("10.1.2.3", "10.2.0.0/16"), List.of()),
                new Condition("destination.port", List.of("80", "443"), List.of()),
                new Condition("connection.sni", List.of("www.example.com"), List.of()),
                new Condition("experimental.envoy.filters.network.mysql_proxy[db.table]", List.of("[update]"), List.of()));

        AuthorizationPolicy custom = policies.get(1);
        assertThat(custom.metadata()).isEqualTo(PolicyMetadata.of("istio-system", "ext-authz"));
        assertThat(custom.dryRun()).isFalse();
        assertThat(custom.selector()).isEmpty();
        assertThat(custom.targetRefs()).containsExactly(
                new PolicyTargetReference("gateway.networking.k8s.io", "Gateway", "ingress", ""),
                new PolicyTargetReference("", "Service", "reviews", ""));
        assertThat(custom.action()).isEqualTo(Action.CUSTOM);
        assertThat(custom.provider()).contains(new ExtensionProvider("my-custom-authz"));
        assertThat(custom.rules()).containsExactly(new Rule(List.of(), List.of(new Operation(List.of(), List.of(),
                List.of(), List.of(), List.of(), List.of(), List.of("/admin/*"), List.of())), List.of()));

        AuthorizationPolicy audit = policies.get(2);
        assertThat(audit.apiVersion()).isEqualTo(ApiVersion.V1BETA1);
        assertThat(audit.metadata().qualifiedName()).isEqualTo("ns1/audit-profile");
        assertThat(audit.targetRef()).contains(
                new PolicyTargetReference("networking.istio.io", "ServiceEntry", "external-api", ""));
        assertThat(audit.action()).isEqualTo(Action.AUDIT);

        AuthorizationPolicy deny = policies.get(3);
        assertThat(deny.action()).isEqualTo(Action.DENY);
        assertThat(deny.rules().get(0).from().get(0).namespaces()).containsExactly("dev");
        assertThat(deny.rules().get(0).to().get(0).ports()).containsExactly("8080");
    }

    @Test
    void rulesAbsentMatchNothingButOneEmptyRuleMatchesEverything() {
        List<AuthorizationPolicy> policies = parseResource("authorization-policy-all-fields.yaml")
                .policies(AuthorizationPolicy.class);
        AuthorizationPolicy allowNothing = policies.get(4); // spec: {}
        AuthorizationPolicy allowAll = policies.get(5);     // rules: [{}]
        AuthorizationPolicy noSpec = policies.get(6);       // no spec at all
        assertThat(allowNothing.rules()).isEmpty();
        assertThat(allowAll.rules()).containsExactly(Rule.matchAll());
        assertThat(noSpec.rules()).isEmpty();
        assertThat(noSpec.action()).isEqualTo(Action.ALLOW);
        // An absent spec and spec: {} are the same policy; Istio does not tell them apart either.
        assertThat(noSpec).isEqualTo(new AuthorizationPolicy(ApiVersion.V1, PolicyMetadata.of("default", "no-spec"),
                Optional.empty(), Optional.empty(), List.of(), List.of(), Action.ALLOW, Optional.empty()));
    }

    @Test
    void requestAuthenticationEveryField() {
        ParseResult result = parseResource("request-authentication-all-fields.yaml");
        assertThat(result.errors()).isEmpty();
        List<RequestAuthentication> policies = result.policies(RequestAuthentication.class);
        assertThat(policies).hasSize(3);

        RequestAuthentication example = policies.get(0);
        assertThat(example.apiVersion()).isEqualTo(ApiVersion.V1BETA1);
        assertThat(example.kind()).isEqualTo(PolicyKind.REQUEST_AUTHENTICATION);
        assertThat(example.metadata()).isEqualTo(PolicyMetadata.of("foo", "jwt-example"));
        assertThat(example.selector()).contains(new WorkloadSelector(Map.of("app", "httpbin")));
        assertThat(example.jwtRules()).hasSize(2);
        JWTRule foo = example.jwtRules().get(0);
        assertThat(foo).isEqualTo(new JWTRule(
                "issuer-foo",
                List.of("bookstore_android.apps.example.com", "bookstore_web.apps.example.com"),
                "https://example.com/.well-known/jwks.json",
                "",
                List.of(new JWTHeader("x-jwt-assertion", "Bearer "), new JWTHeader("x-goog-iap-jwt-assertion", "")),
                List.of("my_token"),
                "x-jwt-payload",
                true,
                List.of(new ClaimToHeader("x-jwt-claim-foo", "foo"), new ClaimToHeader("x-jwt-claim-nested", "nested.key.bar")),
                Optional.of(Duration.ofSeconds(5)),
                List.of("session", "auth"),
                List.of("custom_scope", "roles")));
        JWTRule bar = example.jwtRules().get(1);
        assertThat(bar.issuer()).isEqualTo("issuer-bar");
        assertThat(bar.jwksUri()).isEmpty();
        assertThat(bar.jwks()).startsWith("{\"keys\": [{\"kty\": \"RSA\"").endsWith("}]}\n");
        assertThat(bar.forwardOriginalToken()).isFalse();
        assertThat(bar.timeout()).isEmpty();

        RequestAuthentication ingress = policies.get(1);
        assertThat(ingress.apiVersion()).isEqualTo(ApiVersion.V1);
        assertThat(ingress.targetRef()).contains(new PolicyTargetReference("gateway.networking.k8s.io", "Gateway", "ingress", ""));
        JWTRule protoName = ingress.jwtRules().get(0);
        assertThat(protoName.issuer()).isEmpty();
        assertThat(protoName.jwksUri()).as("jwks_uri, the proto name").isEqualTo("https://auth.example.com:8443/keys");
        assertThat(protoName.timeout()).contains(Duration.ofMillis(1500));

        RequestAuthentication perService = policies.get(2);
        assertThat(perService.targetRefs()).containsExactly(new PolicyTargetReference("", "Service", "reviews", ""));
        assertThat(perService.jwtRules()).extracting(JWTRule::issuer).containsExactly("https://accounts.google.com");
    }

    @Test
    void peerAuthenticationEveryField() {
        ParseResult result = parseResource("peer-authentication-all-fields.yaml");
        assertThat(result.errors()).isEmpty();
        List<PeerAuthentication> policies = result.policies(PeerAuthentication.class);
        assertThat(policies).hasSize(3);

        PeerAuthentication meshWide = policies.get(0);
        assertThat(meshWide.apiVersion()).isEqualTo(ApiVersion.V1BETA1);
        assertThat(meshWide.kind()).isEqualTo(PolicyKind.PEER_AUTHENTICATION);
        assertThat(meshWide.metadata()).isEqualTo(PolicyMetadata.of("istio-system", "default"));
        assertThat(meshWide.selector()).isEmpty();
        assertThat(meshWide.mtls()).contains(new MutualTLS(Mode.STRICT));
        assertThat(meshWide.portLevelMtls()).isEmpty();

        PeerAuthentication finance = policies.get(1);
        assertThat(finance.selector()).contains(new WorkloadSelector(Map.of("app", "finance")));
        assertThat(finance.mtls()).contains(new MutualTLS(Mode.PERMISSIVE));
        assertThat(finance.portLevelMtls()).containsExactly(
                Map.entry(8080, new MutualTLS(Mode.DISABLE)),
                Map.entry(9090, new MutualTLS(Mode.STRICT)),
                Map.entry(9091, new MutualTLS(Mode.UNSET)),
                Map.entry(9092, new MutualTLS(Mode.UNSET)));

        PeerAuthentication inherit = policies.get(2);
        assertThat(inherit.mtls()).contains(new MutualTLS(Mode.UNSET));
    }

    @Test
    void jsonAsKubectlPrintsItWithListsAndServerFields() {
        ParseResult result = parseResource("kubectl-output.json");
        assertThat(result.errors()).isEmpty();
        assertThat(result.policies()).extracting(p -> p.kind() + " " + p.metadata().qualifiedName()).containsExactly(
                "AuthorizationPolicy foo/httpbin", "PeerAuthentication istio-system/default", "RequestAuthentication foo/jwt");
        AuthorizationPolicy deny = (AuthorizationPolicy) result.policies().get(0);
        assertThat(deny.action()).isEqualTo(Action.DENY);
        assertThat(deny.metadata().annotations()).containsOnlyKeys("kubectl.kubernetes.io/last-applied-configuration");
        assertThat(result.parsedPolicies()).extracting(ParsedPolicy::documentIndex).containsExactly(0, 1, 1);
        assertThat(result.skipped()).containsExactly(
                new SkippedDocument("kubectl-output.json", 26, 1, "v1", "Service", "httpbin"));
    }

    @Test
    void otherKindsAreSkippedAndListed() {
        ParseResult result = parseResource("mixed.yaml");
        assertThat(result.isOk()).isTrue();
        assertThat(result.policies()).hasSize(1);
        AuthorizationPolicy viewer = (AuthorizationPolicy) result.policies().get(0);
        assertThat(viewer.metadata().namespace()).as("the default namespace").isEqualTo("default");
        assertThat(result.parsedPolicies().get(0).documentIndex()).isEqualTo(3);
        assertThat(result.skipped()).extracting(SkippedDocument::toString).containsExactly(
                "mixed.yaml:3: skipped v1 Service \"httpbin\" (not a security.istio.io policy)",
                "mixed.yaml:12: skipped networking.istio.io/v1 VirtualService \"httpbin\" (not a security.istio.io policy)");
    }

    @Test
    void theDefaultNamespaceIsTheCallers() {
        ParseResult result = PolicyParser.parse("mixed.yaml", load("mixed.yaml"), "team-a");
        assertThat(result.policies().get(0).metadata().namespace()).isEqualTo("team-a");
        assertThatThrownBy(() -> PolicyParser.parse("x", "", "Team_A"))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("defaultNamespace: \"Team_A\"");
    }

    @Test
    void positionsOfFieldsAreKeptForLaterChecks() {
        ParsedPolicy httpbin = parseResource("authorization-policy-all-fields.yaml").parsedPolicies().get(0);
        assertThat(httpbin.sourceName()).isEqualTo("authorization-policy-all-fields.yaml");
        assertThat(httpbin.position()).isEqualTo(new ParsedPolicy.Position(3, 1));
        assertThat(httpbin.positionOf("spec.rules[0].from[0].source.ipBlocks[1]")).isEqualTo(new ParsedPolicy.Position(27, 35));
        assertThat(httpbin.positionOf("spec.rules[0].when[13].key").line()).isEqualTo(72);
        assertThat(httpbin.positionOf("metadata.annotations[\"istio.io/dry-run\"]").line()).isEqualTo(11);
        assertThat(httpbin.positionOf("spec.provider").line()).as("not written: the nearest enclosing field").isEqualTo(12);
    }

    @Test
    void emptyTextAndCommentsAreNoPolicies() {
        assertThat(PolicyParser.parse("empty", "").policies()).isEmpty();
        assertThat(PolicyParser.parse("comments", "# nothing here\n---\n---\n").policies()).isEmpty();
        assertThat(PolicyParser.parse("blank json", "  \n").isOk()).isTrue();
    }

    @Test
    void byteOrderMarksAndWindowsLineEnds() {
        String yaml = "\uFEFFapiVersion: security.istio.io/v1\r\nkind: PeerAuthentication\r\nmetadata:\r\n  name: a\r\n";
        String json = "\uFEFF{\"apiVersion\": \"security.istio.io/v1\", \"kind\": \"PeerAuthentication\","
                + " \"metadata\": {\"name\": \"a\"}}";
        assertThat(PolicyParser.parse("bom.yaml", yaml).policies()).hasSize(1);
        assertThat(PolicyParser.parse("bom.json", json).policies()).hasSize(1);
    }

    @Test
    void aRefusedFileHasNoPolicies() {
        ParseResult result = PolicyParser.parse("bad.yaml", "apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\n");
        assertThat(result.isOk()).isFalse();
        assertThat(result.errors()).extracting(PolicyError::toString)
                .containsExactly("bad.yaml:1:1: missing required field \"metadata\"");
        assertThatThrownBy(result::policies)
                .isInstanceOf(IllegalStateException.class)
                .hasMessage("the file was refused with 1 error(s), first: bad.yaml:1:1: missing required field \"metadata\"");
    }

    @Test
    void yamlAnchorsAndAliasesAreExpanded() {
        String yaml = "apiVersion: security.istio.io/v1\n"
                + "kind: AuthorizationPolicy\n"
                + "metadata: {name: aliases}\n"
                + "spec:\n"
                + "  rules:\n"
                + "  - from:\n"
                + "    - source: &trusted\n"
                + "        namespaces: [\"a\", \"b\"]\n"
                + "  - from:\n"
                + "    - source: *trusted\n";
        AuthorizationPolicy policy = (AuthorizationPolicy) PolicyParser.parse("aliases.yaml", yaml).policies().get(0);
        assertThat(policy.rules().get(1)).isEqualTo(policy.rules().get(0));
        assertThat(policy.rules().get(1).from().get(0).namespaces()).containsExactly("a", "b");
    }

    @Test
    void aYamlFlowMappingIsYamlNotJson() {
        String text = "{apiVersion: security.istio.io/v1, kind: PeerAuthentication, metadata: {name: p, namespace: n},"
                + " spec: {mtls: {mode: STRICT}}}";
        assertThat(PolicyParser.parse("flow.yaml", text).policies()).hasSize(1);
    }

    @Test
    void errorsPrintLikeACompilers() {
        PolicyError error = new PolicyError("policies.yaml", 12, 7, 0, "spec.rules[0]", "must not be empty");
        assertThat(error).hasToString("policies.yaml:12:7: spec.rules[0]: must not be empty");
        assertThat(new PolicyError("<model>", 0, 0, 0, "", "x")).hasToString("<model>: x");
    }
}
