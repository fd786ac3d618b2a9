package dev.keel.policy.catalog;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.keel.policy.AuthorizationPolicy;
import dev.keel.policy.AuthorizationPolicy.Action;
import dev.keel.policy.ParseResult;
import dev.keel.policy.PeerAuthentication;
import dev.keel.policy.PeerAuthentication.MutualTLS.Mode;
import dev.keel.policy.PolicyKind;
import dev.keel.policy.PolicyParser;
import dev.keel.policy.RequestAuthentication;
import dev.keel.policy.lint.LintOptions;
import dev.keel.policy.lint.PolicyLinter;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

class PolicyCatalogTest {

    private static final PolicyCatalog CATALOG = PolicyCatalog.builtIn();

    /** Values for the parameters that have no default. */
    private static final Map<String, String> REQUIRED = Map.of(
            "issuer", "https://accounts.example.com",
            "jwksUri", "https://accounts.example.com/.well-known/jwks.json",
            "principals", "cluster.local/ns/shop/sa/frontend");

    static Stream<String> ids() {
        return CATALOG.entries().stream().map(CatalogEntry::id);
    }

    private static Map<String, String> required(CatalogEntry entry) {
        Map<String, String> values = new HashMap<>();
        entry.parameters().stream().filter(CatalogParameter::required)
                .forEach(p -> values.put(p.name(), REQUIRED.get(p.name())));
        return values;
    }

    private static ParseResult parse(String yaml) {
        ParseResult result = PolicyParser.parse("catalog.yaml", yaml);
        assertThat(result.errors()).as(yaml).isEmpty();
        assertThat(result.skipped()).isEmpty();
        return result;
    }

    @Test
    void theIssuesEntriesAreThereInOrder() {
        assertThat(ids()).containsExactly("deny-all", "allow-same-namespace", "strict-mtls", "require-jwt",
                "allow-health-checks", "deny-admin-except-group", "allow-service-accounts");
    }

    @ParameterizedTest
    @MethodSource("ids")
    void everyEntryIsDocumentedAndItsTemplateUsesExactlyItsParameters(String id) {
        CatalogEntry entry = CATALOG.entry(id).orElseThrow();
        assertThat(entry.title()).isNotBlank().doesNotContain("\n");
        assertThat(entry.explanation()).hasSizeGreaterThan(400).doesNotContain("\n").endsWith(".");
        assertThat(entry.parameters()).allSatisfy(p -> assertThat(p.description()).isNotBlank());
        Matcher m = Pattern.compile("\\$\\{(\\w+)}").matcher(entry.template());
        Set<String> used = new java.util.HashSet<>();
        while (m.find()) {
            used.add(m.group(1));
        }
        assertThat(used).containsExactlyInAnyOrderElementsOf(
                entry.parameters().stream().map(CatalogParameter::name).collect(Collectors.toList()));
        assertThat(REQUIRED.keySet()).containsAll(entry.parameters().stream().filter(CatalogParameter::required)
                .map(CatalogParameter::name).collect(Collectors.toList()));
    }

    @ParameterizedTest
    @MethodSource("ids")
    void withDefaultsEveryEntryParsesCleanlyAndLintsClean(String id) {
        CatalogEntry entry = CATALOG.entry(id).orElseThrow();
        String yaml = CATALOG.instantiate(id, required(entry));
        ParseResult result = parse(yaml);
        assertThat(result.policies()).isNotEmpty();
        assertThat(yaml).startsWith("# keel policy catalog: " + id);
        assertThat(PolicyLinter.lint(result.parsedPolicies(), LintOptions.defaults())).as(yaml).isEmpty();
    }

    @Test
    void withCustomParametersTheValuesLandWhereTheyBelong() {
        AuthorizationPolicy denyAll = parse(CATALOG.instantiate("deny-all", Map.of("namespace", "shop", "name", "lockdown")))
                .policies(AuthorizationPolicy.class).get(0);
        assertThat(denyAll.metadata().qualifiedName()).isEqualTo("shop/lockdown");
        assertThat(denyAll.action()).isEqualTo(Action.ALLOW);
        assertThat(denyAll.rules()).isEmpty();

        AuthorizationPolicy sameNamespace = parse(CATALOG.instantiate("allow-same-namespace", Map.of("namespace", "shop")))
                .policies(AuthorizationPolicy.class).get(0);
        assertThat(sameNamespace.rules().get(0).from().get(0).namespaces()).containsExactly("shop");

        PeerAuthentication strict = parse(CATALOG.instantiate("strict-mtls", Map.of("rootNamespace", "mesh-root")))
                .policies(PeerAuthentication.class).get(0);
        assertThat(strict.metadata().qualifiedName()).isEqualTo("mesh-root/default");
        assertThat(strict.mtls().orElseThrow().mode()).isEqualTo(Mode.STRICT);
        assertThat(strict.selector()).isEmpty();

        ParseResult jwt = parse(CATALOG.instantiate("require-jwt", Map.of("issuer", "https://issuer.example",
                "jwksUri", "https://issuer.example/keys", "selector", "app=edge, tier=front", "namespace", "edge")));
        RequestAuthentication ra = jwt.policies(RequestAuthentication.class).get(0);
        assertThat(ra.jwtRules().get(0).issuer()).isEqualTo("https://issuer.example");
        assertThat(ra.jwtRules().get(0).jwksUri()).isEqualTo("https://issuer.example/keys");
        assertThat(ra.selector().orElseThrow().matchLabels()).containsExactly(Map.entry("app", "edge"),
                Map.entry("tier", "front"));
        AuthorizationPolicy jwtPolicy = jwt.policies(AuthorizationPolicy.class).get(0);
        assertThat(jwtPolicy.action()).isEqualTo(Action.DENY);
        assertThat(jwtPolicy.rules().get(0).from().get(0).notRequestPrincipals()).containsExactly("https://issuer.example/*");

        AuthorizationPolicy health = parse(CATALOG.instantiate("allow-health-checks",
                Map.of("paths", "/livez, /readyz", "selector", "app=web"))).policies(AuthorizationPolicy.class).get(0);
        assertThat(health.rules().get(0).to().get(0).paths()).containsExactly("/livez", "/readyz");
        assertThat(health.rules().get(0).to().get(0).methods()).containsExactly("GET");
        assertThat(health.selector().orElseThrow().matchLabels()).containsEntry("app", "web");

        AuthorizationPolicy admin = parse(CATALOG.instantiate("deny-admin-except-group",
                Map.of("group", "ops team", "claim", "roles"))).policies(AuthorizationPolicy.class).get(0);
        assertThat(admin.action()).isEqualTo(Action.DENY);
        assertThat(admin.selector()).isEmpty();
        assertThat(admin.rules().get(0).when().get(0).key()).isEqualTo("request.auth.claims[roles]");
        assertThat(admin.rules().get(0).when().get(0).notValues()).containsExactly("ops team");
        assertThat(admin.rules().get(0).to().get(0).paths()).containsExactly("/admin", "/admin/*");

        AuthorizationPolicy accounts = parse(CATALOG.instantiate("allow-service-accounts",
                Map.of("principals", "cluster.local/ns/a/sa/x,cluster.local/ns/b/sa/y")))
                .policies(AuthorizationPolicy.class).get(0);
        assertThat(accounts.rules().get(0).from().get(0).principals())
                .containsExactly("cluster.local/ns/a/sa/x", "cluster.local/ns/b/sa/y");
        assertThat(accounts.kind()).isEqualTo(PolicyKind.AUTHORIZATION_POLICY);
    }

    @Test
    void aValueIsDataNeverStructure() {
        // Quotes and YAML syntax in a value stay inside the value.
        String group = "x\", \"evil\": {\"a\": 1}, \"y";
        AuthorizationPolicy admin = parse(CATALOG.instantiate("deny-admin-except-group", Map.of("group", group)))
                .policies(AuthorizationPolicy.class).get(0);
        assertThat(admin.rules().get(0).when().get(0).notValues()).containsExactly(group);
        AuthorizationPolicy health = parse(CATALOG.instantiate("allow-health-checks",
                Map.of("paths", "/a: b, {c}, [d], yes, *"))).policies(AuthorizationPolicy.class).get(0);
        assertThat(health.rules().get(0).to().get(0).paths()).containsExactly("/a: b", "{c}", "[d]", "yes", "*");
        assertThatThrownBy(() -> CATALOG.instantiate("deny-admin-except-group", Map.of("group", "a\nspec: {}")))
                .hasMessage("parameter group: \"a\\u000aspec: {}\" contains a control character");
    }

    @Test
    void badOrMissingParametersAreRefusedClearly() {
        assertThatThrownBy(() -> CATALOG.instantiate("deny-alll", Map.of()))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageStartingWith("no catalog entry \"deny-alll\"; did you mean \"deny-all\"? (entries: deny-all,");
        assertThatThrownBy(() -> CATALOG.instantiate("require-jwt", Map.of("jwksUri", "https://k.example/keys")))
                .hasMessage("require-jwt needs parameter \"issuer\": the issuer (iss claim) of the tokens to require, e.g."
                        + " https://accounts.google.com (set it with --set issuer=...)");
        assertThatThrownBy(() -> CATALOG.instantiate("deny-all", Map.of("namepsace", "shop")))
                .hasMessage("deny-all has no parameter \"namepsace\"; did you mean \"namespace\"? (parameters: namespace, name)");
        assertThatThrownBy(() -> CATALOG.instantiate("deny-all", Map.of("namespace", "Shop_1")))
                .hasMessage("parameter namespace: \"Shop_1\" is not a Kubernetes namespace name (lower-case letters,"
                        + " digits and '-', at most 63)");
        assertThatThrownBy(() -> CATALOG.instantiate("require-jwt", Map.of("issuer", "i", "jwksUri", "file:///etc/keys")))
                .hasMessage("parameter jwksUri: \"file:///etc/keys\" is not an http or https URL with a host");
        assertThatThrownBy(() -> CATALOG.instantiate("allow-service-accounts", Map.of("principals", "a,,b")))
                .hasMessageContaining("none of them empty");
        assertThatThrownBy(() -> CATALOG.instantiate("allow-service-accounts",
                Map.of("principals", "spiffe://cluster.local/ns/a/sa/b")))
                .hasMessageContaining("written without it");
        assertThatThrownBy(() -> CATALOG.instantiate("allow-health-checks", Map.of("selector", "app")))
                .hasMessageContaining("key=value");
        // The parser is the last word: a label Kubernetes refuses is reported with its field.
        assertThatThrownBy(() -> CATALOG.instantiate("allow-health-checks", Map.of("selector", "app=web*")))
                .hasMessageStartingWith("the parameters of allow-health-checks make a policy Istio would refuse:"
                        + " spec.selector.matchLabels.app:");
    }

    @Test
    void entriesAreFoundByIdAndParametersByName() {
        CatalogEntry jwt = CATALOG.entry("require-jwt").orElseThrow();
        assertThat(jwt.parameter("issuer")).hasValueSatisfying(p -> assertThat(p.required()).isTrue());
        assertThat(jwt.parameter("namespace")).hasValueSatisfying(p -> {
            assertThat(p.required()).isFalse();
            assertThat(p.defaultValue()).contains("istio-system");
            assertThat(p.type()).isEqualTo(CatalogParameter.Type.NAMESPACE);
        });
        assertThat(CATALOG.entry("nope")).isEmpty();
        assertThat(List.copyOf(CATALOG.entries())).isSameAs(CATALOG.entries());
    }
}
