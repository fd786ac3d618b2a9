package dev.keel.benchmarks;

import dev.keel.authz.AuthzConfig;
import dev.keel.authz.AuthzRequest;
import dev.keel.authz.Decision;
import dev.keel.authz.DecisionProgram;
import dev.keel.authz.DecisionReport;
import dev.keel.authz.Protocol;
import dev.keel.authz.Workload;
import dev.keel.policy.ApiVersion;
import dev.keel.policy.AuthorizationPolicy;
import dev.keel.policy.Operation;
import dev.keel.policy.PolicyMetadata;
import dev.keel.policy.Rule;
import dev.keel.policy.Source;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.casbin.jcasbin.main.Enforcer;
import org.casbin.jcasbin.model.Model;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Threads;
import org.openjdk.jmh.annotations.Warmup;

/**
 * One authorization decision, Keel's compiled {@link DecisionProgram} against jCasbin, on the same
 * RBAC-with-domains policy at 10, 1,000 and 10,000 rules: rule {@code i} lets the two users holding role
 * {@code role<i % 10>} in tenant {@code t<i % tenants>} ({@code tenants = rules / 100}) {@code GET
 * /api/t<tenant>/r<i>/<id>}. Keel sees it as Istio ALLOW rules ({@code principals}, {@code methods},
 * {@code paths: [/api/t1/r7/{*}]}); Casbin as {@code p, role7, t1, /api/t1/r7/:id, GET} with
 * {@code g, <user>, role7, t1} and the matcher {@code g(r.sub, p.sub, r.dom) && r.dom == p.dom &&
 * keyMatch2(r.obj, p.obj) && r.act == p.act}. 64 requests, three in four allowed, cycled.
 *
 * <p>Run: {@code java -jar benchmarks/target/benchmarks.jar AuthzBenchmark -prof gc}; the Keel figures
 * should show about 0 B/op.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Threads(1)
@Fork(value = 1, jvmArgsAppend = {"-Xms1g", "-Xmx1g"})
@Warmup(iterations = 4, time = 2)
@Measurement(iterations = 5, time = 2)
public class AuthzBenchmark {

    static final int REQUESTS = 64;

    static final String CASBIN_MODEL = """
            [request_definition]
            r = sub, dom, obj, act

            [policy_definition]
            p = sub, dom, obj, act

            [role_definition]
            g = _, _, _

            [policy_effect]
            e = some(where (p.eft == allow))

            [matchers]
            m = g(r.sub, p.sub, r.dom) && r.dom == p.dom && keyMatch2(r.obj, p.obj) && r.act == p.act
            """;

    static int tenants(int rules) {
        return Math.max(1, rules / 100);
    }

    static String principalOf(int tenant, int role, int user) {
        return "cluster.local/ns/t" + tenant + "/sa/role" + role + "-user" + user;
    }

    static String pathOf(int tenant, int rule) {
        return "/api/t" + tenant + "/r" + rule;
    }

    /** The request {@code i} of 64: rule, tenant, principal and path, allowed unless {@code i % 4 == 0}. */
    record Req(String principal, String tenant, String path) {
        static Req of(int i, int rules) {
            int rule = (i * 7919) % rules;
            int tenant = rule % tenants(rules);
            int role = i % 4 != 0 ? rule % 10 : (rule + 1) % 10;
            return new Req(principalOf(tenant, role, i & 1), "t" + tenant, pathOf(tenant, rule) + "/item" + i);
        }
    }

    /** Keel: the policies compiled for one workload. */
    @State(Scope.Thread)
    public static class Keel {
        @Param({"10", "1000", "10000"})
        int rules;

        DecisionProgram program;
        AuthzRequest[] requests = new AuthzRequest[REQUESTS];
        DecisionReport report = new DecisionReport();
        int next;

        @Setup(Level.Trial)
        public void setUp() {
            int tenants = tenants(rules);
            List<AuthorizationPolicy> policies = new ArrayList<>();
            for (int p = 0; p * 10 < rules; p++) {
                List<Rule> rs = new ArrayList<>();
                for (int i = p * 10; i < Math.min(rules, (p + 1) * 10); i++) {
                    int tenant = i % tenants;
                    Source source = new Source(List.of(principalOf(tenant, i % 10, 0), principalOf(tenant, i % 10, 1)),
                            List.of(), List.of(), List.of(), List.of(), List.of(), List.of(), List.of(), List.of(),
                            List.of(), List.of(), List.of());
                    Operation op = new Operation(List.of(), List.of(), List.of(), List.of(), List.of("GET"), List.of(),
                            List.of(pathOf(tenant, i) + "/{*}"), List.of());
                    rs.add(new Rule(List.of(source), List.of(op), List.of()));
                }
                policies.add(new AuthorizationPolicy(ApiVersion.V1, PolicyMetadata.of("bench", String.format("rbac-%05d", p)),
                        Optional.empty(), Optional.empty(), List.of(), rs, AuthorizationPolicy.Action.ALLOW,
                        Optional.empty()));
            }
            program = DecisionProgram.compile(policies, Workload.of("bench", Map.of("app", "api")), AuthzConfig.defaults());
            for (int i = 0; i < REQUESTS; i++) {
                Req r = Req.of(i, rules);
                requests[i] = AuthzRequest.builder(Protocol.HTTP).sourcePrincipal(r.principal()).sourceIp("10.0.0.1")
                        .destinationPort(8080).method("GET").host("api.bench").path(r.path()).build();
            }
            check(i -> program.decide(requests[i]).allowed(), "keel");
        }
    }

    /** jCasbin: the same policy as an RBAC-with-domains model. */
    @State(Scope.Thread)
    public static class Casbin {
        @Param({"10", "1000", "10000"})
        int rules;

        Enforcer enforcer;
        Req[] requests = new Req[REQUESTS];
        int next;

        @Setup(Level.Trial)
        public void setUp() {
            int tenants = tenants(rules);
            enforcer = new Enforcer(Model.newModelFromString(CASBIN_MODEL));
            enforcer.enableLog(false);
            for (int i = 0; i < rules; i++) {
                int tenant = i % tenants;
                enforcer.addPolicy("role" + (i % 10), "t" + tenant, pathOf(tenant, i) + "/:id", "GET");
            }
            for (int t = 0; t < tenants; t++) {
                for (int role = 0; role < 10; role++) {
                    for (int user = 0; user < 2; user++) {
                        enforcer.addGroupingPolicy(principalOf(t, role, user), "role" + role, "t" + t);
                    }
                }
            }
            for (int i = 0; i < REQUESTS; i++) {
                requests[i] = Req.of(i, rules);
            }
            check(i -> enforcer.enforce(requests[i].principal(), requests[i].tenant(), requests[i].path(), "GET"),
                    "casbin");
        }
    }

    interface Probe {
        boolean allowed(int request);
    }

    /** Both engines must give the designed answers, or the comparison means nothing. */
    static void check(Probe probe, String engine) {
        for (int i = 0; i < REQUESTS; i++) {
            boolean expected = i % 4 != 0;
            if (probe.allowed(i) != expected) {
                throw new IllegalStateException(engine + ": request " + i + " should be " + (expected ? "allowed" : "denied"));
            }
        }
    }

    @Benchmark
    public Decision keel(Keel s) {
        return s.program.decide(s.requests[s.next++ & (REQUESTS - 1)], s.report);
    }

    @Benchmark
    public boolean casbin(Casbin s) {
        Req r = s.requests[s.next++ & (REQUESTS - 1)];
        return s.enforcer.enforce(r.principal(), r.tenant(), r.path(), "GET");
    }
}
