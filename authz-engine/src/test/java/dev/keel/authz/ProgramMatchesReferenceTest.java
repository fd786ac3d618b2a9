package dev.keel.authz;

import static org.assertj.core.api.Assertions.assertThat;

import dev.keel.policy.ApiVersion;
import dev.keel.policy.AuthorizationPolicy;
import dev.keel.policy.AuthorizationPolicy.Action;
import dev.keel.policy.Condition;
import dev.keel.policy.Operation;
import dev.keel.policy.PolicyMetadata;
import dev.keel.policy.Rule;
import dev.keel.policy.Source;
import dev.keel.policy.WorkloadSelector;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/**
 * Property: the compiled, indexed {@link DecisionProgram} and {@link ReferenceInterpreter} agree on the
 * enforced decision, the deciding policy and rule, and the audit, dry-run and CUSTOM reports, for
 * thousands of random policy sets and requests. Seeded: a failure names the seed and iteration.
 */
class ProgramMatchesReferenceTest {

    private static final long SEED = 0x6b65656cL;
    private static final int POLICY_SETS = 400;
    private static final int REQUESTS_PER_SET = 40;

    private static final String[] PRINCIPALS = {"cluster.local/ns/a/sa/x", "cluster.local/ns/a/sa/y",
        "cluster.local/ns/b/sa/x", "cluster.local/ns/foo/sa/x", "other.td/ns/c/sa/z"};
    private static final String[] PRINCIPAL_PATTERNS = {"cluster.local/ns/a/sa/x", "cluster.local/ns/b/sa/x",
        "cluster.local/ns/a/*", "*/sa/x", "*", "other.td/ns/c/sa/z"};
    private static final String[] NAMESPACES = {"a", "b", "c", "foo", "a*", "*", "*o"};
    private static final String[] SERVICE_ACCOUNTS = {"a/x", "b/x", "x", "c/z"};
    private static final String[] IP_BLOCKS = {"10.0.0.0/8", "10.1.0.0/16", "10.1.2.3", "192.168.0.0/16",
        "2001:db8::/32", "0.0.0.0/0", "10.1.2.0/31"};
    private static final String[] IPS = {"10.1.2.3", "10.1.2.1", "10.2.0.1", "192.168.7.7", "172.16.0.1", "2001:db8::5",
        "2001:db9::5"};
    private static final String[] REQUEST_PRINCIPALS = {"https://iss/alice", "https://iss/bob", "https://other/alice"};
    private static final String[] REQUEST_PRINCIPAL_PATTERNS = {"https://iss/alice", "https://iss/*", "*/alice", "*"};
    private static final String[] HOSTS = {"api.example.com", "API.Example.com", "www.example.com", "admin.internal",
        "api.example.com:8080"};
    private static final String[] HOST_PATTERNS = {"api.example.com", "*.example.com", "API.*", "*", "Admin.Internal"};
    private static final String[] PORTS = {"80", "8080", "9000"};
    private static final int[] PORT_VALUES = {80, 8080, 9000, 15000};
    private static final String[] METHODS = {"GET", "POST", "DELETE", "PUT"};
    private static final String[] METHOD_PATTERNS = {"GET", "POST", "DELETE", "P*"};
    private static final String[] PATHS = {"/", "/api", "/api/v1", "/api/v1/items/3/x", "/admin", "/admin/users", "/a.png",
        "/static/", "/static/css/x.css", "/api/v2/items/"};
    private static final String[] PATH_PATTERNS = {"/", "/api", "/api/*", "/admin", "/admin*", "*.png", "/api/{*}",
        "/api/{*}/items/{**}", "/static/{**}", "/api/v1", "*", "/static/*"};
    private static final String[] SNIS = {"outbound_.80_._.httpbin.foo.svc.cluster.local", "x.bar.svc"};
    private static final String[] SNI_PATTERNS = {"*.foo.svc.cluster.local", "x.bar.svc", "*"};
    private static final String[] HEADER_VALUES = {"1", "2", "abc", ""};
    private static final String[] HEADER_PATTERNS = {"1", "2", "a*", "*c", "*"};
    private static final String[] GROUPS = {"admin", "dev", "ops-eu"};
    private static final String[] GROUP_PATTERNS = {"admin", "dev", "ops-*", "*"};
    private static final String[] CONDITION_KEYS = {"request.headers[X-A]", "source.ip", "remote.ip", "destination.ip",
        "destination.port", "source.namespace", "source.principal", "connection.sni", "request.auth.principal",
        "request.auth.audiences", "request.auth.presenter", "request.auth.claims[groups]",
        "request.auth.claims[org][team]"};

    private final Random random = new Random(SEED);

    private String pick(String[] values) {
        return values[random.nextInt(values.length)];
    }

    private List<String> some(String[] values) {
        if (random.nextInt(3) != 0) {
            return List.of();
        }
        List<String> out = new ArrayList<>();
        int n = 1 + random.nextInt(2);
        for (int i = 0; i < n; i++) {
            out.add(pick(values));
        }
        return out;
    }

    private Source source() {
        while (true) {
            Source s = new Source(some(PRINCIPAL_PATTERNS), some(PRINCIPAL_PATTERNS), some(REQUEST_PRINCIPAL_PATTERNS),
                    some(REQUEST_PRINCIPAL_PATTERNS), some(NAMESPACES), some(NAMESPACES), some(SERVICE_ACCOUNTS),
                    some(SERVICE_ACCOUNTS), some(IP_BLOCKS), some(IP_BLOCKS), some(IP_BLOCKS), some(IP_BLOCKS));
            if (!s.isEmpty() && random.nextInt(3) != 0) {
                // thin it: keep one or two fields most of the time, so that rules match now and then
                return new Source(s.principals(), random.nextBoolean() ? List.of() : s.notPrincipals(),
                        random.nextBoolean() ? List.of() : s.requestPrincipals(), List.of(), s.namespaces(),
                        random.nextBoolean() ? List.of() : s.notNamespaces(), s.serviceAccounts(), List.of(), s.ipBlocks(),
                        random.nextBoolean() ? List.of() : s.notIpBlocks(), s.remoteIpBlocks(), s.notRemoteIpBlocks());
            }
            if (!s.isEmpty()) {
                return s;
            }
        }
    }

    private Operation operation() {
        while (true) {
            Operation o = new Operation(some(HOST_PATTERNS), some(HOST_PATTERNS), some(PORTS), some(PORTS),
                    some(METHOD_PATTERNS), some(METHOD_PATTERNS), some(PATH_PATTERNS), some(PATH_PATTERNS));
            if (!o.isEmpty()) {
                return o;
            }
        }
    }

    private Condition condition() {
        String key = pick(CONDITION_KEYS);
        String[] values = switch (key) {
            case "request.headers[X-A]" -> HEADER_PATTERNS;
            case "source.ip", "remote.ip", "destination.ip" -> IP_BLOCKS;
            case "destination.port" -> PORTS;
            case "source.namespace" -> NAMESPACES;
            case "source.principal" -> PRINCIPAL_PATTERNS;
            case "connection.sni" -> SNI_PATTERNS;
            case "request.auth.principal" -> REQUEST_PRINCIPAL_PATTERNS;
            case "request.auth.audiences" -> new String[] {"web", "api", "a*"};
            case "request.auth.presenter" -> new String[] {"app", "cli", "*"};
            default -> GROUP_PATTERNS;
        };
        List<String> v = some(values);
        List<String> nv = some(values);
        if (v.isEmpty() && nv.isEmpty()) {
            v = List.of(pick(values));
        }
        return new Condition(key, v, nv);
    }

    private Rule rule() {
        List<Source> from = new ArrayList<>();
        List<Operation> to = new ArrayList<>();
        List<Condition> when = new ArrayList<>();
        int nf = random.nextInt(3);
        for (int i = 0; i < nf; i++) {
            from.add(source());
        }
        int nt = random.nextInt(3);
        for (int i = 0; i < nt; i++) {
            to.add(operation());
        }
        int nw = random.nextInt(4) == 0 ? 1 + random.nextInt(2) : 0;
        for (int i = 0; i < nw; i++) {
            when.add(condition());
        }
        return new Rule(from, to, when);
    }

    private AuthorizationPolicy policy(int index) {
        Action action = switch (random.nextInt(10)) {
            case 0, 1, 2, 3 -> Action.ALLOW;
            case 4, 5, 6 -> Action.DENY;
            case 7, 8 -> Action.AUDIT;
            default -> Action.CUSTOM;
        };
        String ns = switch (random.nextInt(6)) {
            case 0 -> "istio-system";
            case 1 -> "other";
            default -> "foo";
        };
        Map<String, String> annotations = new HashMap<>();
        if ((action == Action.ALLOW || action == Action.DENY) && random.nextInt(5) == 0) {
            annotations.put(PolicyMetadata.DRY_RUN_ANNOTATION, "true");
        }
        Optional<WorkloadSelector> selector = switch (random.nextInt(5)) {
            case 0 -> Optional.of(new WorkloadSelector(Map.of("app", "httpbin")));
            case 1 -> Optional.of(new WorkloadSelector(Map.of("app", "other")));
            default -> Optional.empty();
        };
        List<Rule> rules = new ArrayList<>();
        int n = random.nextInt(8) == 0 ? 0 : 1 + random.nextInt(3);
        for (int i = 0; i < n; i++) {
            rules.add(random.nextInt(12) == 0 ? Rule.matchAll() : rule());
        }
        Optional<AuthorizationPolicy.ExtensionProvider> provider = action == Action.CUSTOM
                ? Optional.of(new AuthorizationPolicy.ExtensionProvider(random.nextInt(6) == 0 ? "unknown" : "opa"))
                : Optional.empty();
        return new AuthorizationPolicy(ApiVersion.V1, new PolicyMetadata("p" + index, ns, Map.of(), annotations), selector,
                Optional.empty(), List.of(), rules, action, provider);
    }

    private AuthzRequest request() {
        Protocol protocol = random.nextInt(5) == 0 ? Protocol.TCP : Protocol.HTTP;
        AuthzRequest.Builder b = AuthzRequest.builder(protocol)
                .sourcePrincipal(random.nextInt(6) == 0 ? null : pick(PRINCIPALS)).sourceIp(pick(IPS))
                .destinationIp(random.nextBoolean() ? "10.1.2.3" : "192.168.1.1")
                .destinationPort(PORT_VALUES[random.nextInt(PORT_VALUES.length)]);
        if (random.nextBoolean()) {
            b.remoteIp(pick(IPS));
        }
        if (random.nextBoolean()) {
            b.sni(pick(SNIS));
        }
        if (protocol == Protocol.HTTP || random.nextInt(4) == 0) {
            b.method(pick(METHODS)).path(pick(PATHS)).host(pick(HOSTS));
            if (random.nextBoolean()) {
                b.header(random.nextBoolean() ? "x-a" : "X-A", pick(HEADER_VALUES));
            }
            if (random.nextBoolean()) {
                b.requestPrincipal(pick(REQUEST_PRINCIPALS)).audiences(random.nextBoolean() ? List.of("web", "api")
                        : List.of("aud")).presenter(random.nextBoolean() ? "app" : "cli");
                Map<String, Object> claims = new HashMap<>();
                claims.put("groups", random.nextBoolean() ? pick(GROUPS) : List.of(pick(GROUPS), pick(GROUPS)));
                if (random.nextBoolean()) {
                    claims.put("org", Map.of("team", random.nextBoolean() ? "admin" : List.of("dev", "ops-x")));
                }
                b.claims(claims);
            }
        }
        return b.build();
    }

    @Test
    @DisplayName("Property: the compiled program and a direct interpreter agree on 16,000 random requests over 400 policy sets")
    void agree() {
        ExternalAuthorizer getOnly = r -> "GET".equals(r.method()) ? ExternalAuthorizer.Result.ALLOW
                : "PUT".equals(r.method()) ? ExternalAuthorizer.Result.ERROR : ExternalAuthorizer.Result.DENY;
        AuthzConfig config = AuthzConfig.defaults().withExtensionProvider("opa", getOnly);
        Workload workload = Workload.of("foo", Map.of("app", "httpbin"));
        DecisionReport report = new DecisionReport();
        Map<Decision.Reason, Integer> seen = new HashMap<>();
        for (int set = 0; set < POLICY_SETS; set++) {
            List<AuthorizationPolicy> policies = new ArrayList<>();
            int n = 1 + random.nextInt(random.nextInt(4) == 0 ? 40 : 6);
            for (int i = 0; i < n; i++) {
                policies.add(policy(i));
            }
            DecisionProgram program = DecisionProgram.compile(policies, workload, config);
            for (int q = 0; q < REQUESTS_PER_SET; q++) {
                AuthzRequest request = request();
                ReferenceInterpreter.Outcome expected = ReferenceInterpreter.decide(policies, workload, config, request);
                Decision d = program.decide(request, report);
                ReferenceInterpreter.Outcome actual = new ReferenceInterpreter.Outcome(d.allowed(), d.reason(), d.policy(),
                        d.ruleIndex(), id(report.audit()), id(report.dryRunDeny()),
                        report.dryRunAllow() == null ? null : report.dryRunAllow().policy() == null ? "none"
                                : id(report.dryRunAllow()),
                        report.custom() == null ? null : report.custom().reason() + " " + id(report.custom()));
                int setNo = set;
                int requestNo = q;
                assertThat(actual).as(() -> String.format("seed %d, set %d, request %d: %s%npolicies: %s%n%s", SEED, setNo,
                        requestNo, request, policies, program.explain(request).render())).isEqualTo(expected);
                assertThat(program.decide(request)).isSameAs(d);
                seen.merge(d.reason(), 1, Integer::sum);
            }
        }
        // the generator must exercise every outcome, or the property proves little
        assertThat(seen.keySet()).contains(Decision.Reason.NO_ALLOW_POLICY, Decision.Reason.ALLOW_POLICY_MATCHED,
                Decision.Reason.NO_ALLOW_POLICY_MATCHED, Decision.Reason.DENY_POLICY_MATCHED,
                Decision.Reason.CUSTOM_DENIED, Decision.Reason.CUSTOM_ERROR);
        assertThat(seen.get(Decision.Reason.ALLOW_POLICY_MATCHED)).isGreaterThan(200);
        assertThat(seen.get(Decision.Reason.DENY_POLICY_MATCHED)).isGreaterThan(200);
    }

    private static String id(Decision d) {
        return d == null ? null : d.policy() + "#" + d.ruleIndex();
    }
}
