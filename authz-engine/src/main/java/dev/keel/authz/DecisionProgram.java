package dev.keel.authz;

import dev.keel.policy.AuthorizationPolicy;
import dev.keel.policy.AuthorizationPolicy.Action;
import dev.keel.policy.Rule;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.TreeSet;

/**
 * The AuthorizationPolicies that apply to one workload, compiled: Istio's evaluation ("Authorization
 * Policy" reference, {@code security.istio.io/v1}) with CUSTOM first, then DENY, then ALLOW; no ALLOW
 * policy for the workload means allow, ALLOW policies that all fail to match mean deny; AUDIT and
 * dry-run ({@code istio.io/dry-run: "true"}) policies are evaluated and reported, never enforced.
 *
 * <p>Compiled once per policy update ({@link #compile}); each rule is compiled for HTTP and for TCP
 * (see {@link Protocol}) and indexed ({@link RuleTable}). {@link #decide(AuthzRequest)} and
 * {@link #decide(AuthzRequest, DecisionReport)} allocate nothing unless a CUSTOM rule matches and the
 * extension provider is called; {@link #explain} is the slow path that says why.
 *
 * <p>Immutable and thread-safe. {@code decide} blocks only while an {@link ExternalAuthorizer} answers.
 */
public final class DecisionProgram {

    private static final int CUSTOM = 0;
    private static final int DENY = 1;
    private static final int ALLOW = 2;
    private static final int AUDIT = 3;
    private static final int DRY_DENY = 4;
    private static final int DRY_ALLOW = 5;

    private static final Decision DRY_RUN_NO_ALLOW_MATCHED = new Decision(false, Decision.Reason.NO_ALLOW_POLICY_MATCHED,
            Action.ALLOW, null, null, -1, true, "dry-run: no dry-run ALLOW policy matched: would deny");

    private final Workload workload;
    private final AuthzConfig config;
    private final boolean loaded;
    private final List<AuthorizationPolicy> applied;
    private final RuleTable[] http = new RuleTable[6];
    private final RuleTable[] tcp = new RuleTable[6];
    private final List<List<CompiledRule>> httpByPolicy = new ArrayList<>();
    private final List<List<CompiledRule>> tcpByPolicy = new ArrayList<>();
    private final boolean hasAllow;
    private final boolean hasDryAllow;
    private final ExternalAuthorizer authorizer;
    private final int ruleCount;

    private DecisionProgram(Workload workload, AuthzConfig config, boolean loaded, List<AuthorizationPolicy> applied) {
        this.workload = workload;
        this.config = config;
        this.loaded = loaded;
        this.applied = List.copyOf(applied);
        List<List<CompiledRule>> httpBuckets = new ArrayList<>();
        List<List<CompiledRule>> tcpBuckets = new ArrayList<>();
        for (int i = 0; i < 6; i++) {
            httpBuckets.add(new ArrayList<>());
            tcpBuckets.add(new ArrayList<>());
        }
        boolean allow = false;
        boolean dryAllow = false;
        TreeSet<String> providers = new TreeSet<>();
        int count = 0;
        for (AuthorizationPolicy p : this.applied) {
            int bucket = bucket(p);
            if (bucket == ALLOW) {
                allow = true;
            } else if (bucket == DRY_ALLOW) {
                dryAllow = true;
            } else if (bucket == CUSTOM) {
                providers.add(p.provider().map(AuthorizationPolicy.ExtensionProvider::name).orElse(""));
            }
            List<CompiledRule> h = new ArrayList<>();
            List<CompiledRule> t = new ArrayList<>();
            for (int i = 0; i < p.rules().size(); i++) {
                Rule rule = p.rules().get(i);
                h.add(withDecisions(Compiler.compile(p, i, rule, Protocol.HTTP)));
                t.add(withDecisions(Compiler.compile(p, i, rule, Protocol.TCP)));
                count++;
            }
            httpBuckets.get(bucket).addAll(h);
            tcpBuckets.get(bucket).addAll(t);
            httpByPolicy.add(h);
            tcpByPolicy.add(t);
        }
        for (int i = 0; i < 6; i++) {
            http[i] = new RuleTable(httpBuckets.get(i));
            tcp[i] = new RuleTable(tcpBuckets.get(i));
        }
        this.hasAllow = allow;
        this.hasDryAllow = dryAllow;
        this.ruleCount = count;
        // Istio allows one provider per workload; with more, or an unknown one, CUSTOM fails closed.
        this.authorizer = providers.size() == 1 ? config.extensionProviders().get(providers.first()) : null;
    }

    /**
     * Compiles the policies that apply to {@code workload}: those in its namespace or in the root
     * namespace whose selector matches its labels. Policies attached by {@code targetRef}/{@code targetRefs}
     * (gateways, waypoints) do not apply to a workload's own proxy. Policies are evaluated in
     * namespace/name order, rules in file order; the first match in that order is the one reported.
     *
     * @throws IllegalArgumentException for a policy Istio's validation would refuse (validate first)
     */
    public static DecisionProgram compile(List<AuthorizationPolicy> policies, Workload workload, AuthzConfig config) {
        Objects.requireNonNull(policies, "policies");
        Objects.requireNonNull(workload, "workload");
        Objects.requireNonNull(config, "config");
        List<AuthorizationPolicy> applied = new ArrayList<>();
        for (AuthorizationPolicy p : policies) {
            if (applies(p, workload, config.rootNamespace())) {
                applied.add(p);
            }
        }
        applied.sort(Comparator.comparing((AuthorizationPolicy p) -> p.metadata().namespace())
                .thenComparing(p -> p.metadata().name()));
        return new DecisionProgram(workload, config, true, applied);
    }

    /** The program before any policy set is loaded: every request is denied (fail closed). */
    public static DecisionProgram notLoaded(Workload workload, AuthzConfig config) {
        return new DecisionProgram(Objects.requireNonNull(workload, "workload"), Objects.requireNonNull(config, "config"),
                false, List.of());
    }

    /** Istio's policy selection for a workload's proxy. */
    public static boolean applies(AuthorizationPolicy p, Workload workload, String rootNamespace) {
        if (p.targetRef().isPresent() || !p.targetRefs().isEmpty()) {
            return false;
        }
        String ns = p.metadata().namespace();
        if (!ns.equals(rootNamespace) && !ns.equals(workload.namespace())) {
            return false;
        }
        if (p.selector().isEmpty()) {
            return true;
        }
        for (Map.Entry<String, String> e : p.selector().get().matchLabels().entrySet()) {
            if (!e.getValue().equals(workload.labels().get(e.getKey()))) {
                return false;
            }
        }
        return true;
    }

    private static int bucket(AuthorizationPolicy p) {
        return switch (p.action()) {
            case CUSTOM -> CUSTOM;
            case DENY -> p.dryRun() ? DRY_DENY : DENY;
            case ALLOW -> p.dryRun() ? DRY_ALLOW : ALLOW;
            case AUDIT -> AUDIT;
        };
    }

    private static CompiledRule withDecisions(CompiledRule r) {
        AuthorizationPolicy p = r.policy;
        String ns = p.metadata().namespace();
        String name = p.metadata().name();
        String where = p.action() + " policy " + ns + "/" + name + ", spec.rules[" + r.ruleIndex + "] matched";
        boolean dry = p.dryRun();
        switch (p.action()) {
            case ALLOW -> r.decision = dry
                    ? new Decision(true, Decision.Reason.DRY_RUN_POLICY_MATCHED, Action.ALLOW, ns, name, r.ruleIndex, true,
                            "dry-run: would allow by " + where)
                    : new Decision(true, Decision.Reason.ALLOW_POLICY_MATCHED, Action.ALLOW, ns, name, r.ruleIndex, false,
                            "allowed by " + where);
            case DENY -> r.decision = dry
                    ? new Decision(false, Decision.Reason.DRY_RUN_POLICY_MATCHED, Action.DENY, ns, name, r.ruleIndex, true,
                            "dry-run: would deny by " + where)
                    : new Decision(false, Decision.Reason.DENY_POLICY_MATCHED, Action.DENY, ns, name, r.ruleIndex, false,
                            "denied by " + where);
            case AUDIT -> r.decision = new Decision(true, Decision.Reason.AUDIT_POLICY_MATCHED, Action.AUDIT, ns, name,
                    r.ruleIndex, false, "audited by " + where);
            case CUSTOM -> {
                String provider = p.provider().map(AuthorizationPolicy.ExtensionProvider::name).orElse("");
                r.decision = new Decision(true, Decision.Reason.CUSTOM_ALLOWED, Action.CUSTOM, ns, name, r.ruleIndex,
                        false, "extension provider \"" + provider + "\" allowed (" + where + ")");
                r.customDenied = new Decision(false, Decision.Reason.CUSTOM_DENIED, Action.CUSTOM, ns, name, r.ruleIndex,
                        false, "denied by extension provider \"" + provider + "\" (" + where + ")");
                r.customError = new Decision(false, Decision.Reason.CUSTOM_ERROR, Action.CUSTOM, ns, name, r.ruleIndex,
                        false, "denied (fail closed): extension provider \"" + provider
                                + "\" failed, timed out, is not configured, or is not the only provider (" + where + ")");
            }
        }
        return r;
    }

    /** The enforced decision; audit and dry-run policies are not evaluated. */
    public Decision decide(AuthzRequest request) {
        return evaluate(request, null);
    }

    /** The enforced decision, with the audit, dry-run and CUSTOM outcomes written to {@code report}. */
    public Decision decide(AuthzRequest request, DecisionReport report) {
        Objects.requireNonNull(report, "report");
        return evaluate(request, report);
    }

    private Decision evaluate(AuthzRequest r, DecisionReport report) {
        if (report != null) {
            report.reset();
        }
        if (!loaded) {
            if (report != null) {
                report.set(Decision.NOT_LOADED, null, null, null, null);
            }
            return Decision.NOT_LOADED;
        }
        RuleTable[] t = r.protocol() == Protocol.TCP ? tcp : http;
        Decision decision = null;
        Decision custom = null;
        CompiledRule c = t[CUSTOM].firstMatch(r);
        if (c != null) {
            ExternalAuthorizer.Result result;
            if (authorizer == null) {
                result = ExternalAuthorizer.Result.ERROR;
            } else {
                try {
                    result = authorizer.check(r);
                } catch (RuntimeException e) {
                    result = ExternalAuthorizer.Result.ERROR;
                }
            }
            if (result == ExternalAuthorizer.Result.ALLOW) {
                custom = c.decision;
            } else {
                custom = result == ExternalAuthorizer.Result.DENY ? c.customDenied : c.customError;
                decision = custom;
            }
        }
        if (decision == null) {
            CompiledRule d = t[DENY].firstMatch(r);
            if (d != null) {
                decision = d.decision;
            } else if (!hasAllow) {
                decision = Decision.NO_ALLOW_POLICY;
            } else {
                CompiledRule a = t[ALLOW].firstMatch(r);
                decision = a != null ? a.decision : Decision.NO_ALLOW_POLICY_MATCHED;
            }
        }
        if (report != null) {
            CompiledRule audit = t[AUDIT].firstMatch(r);
            CompiledRule dryDeny = t[DRY_DENY].firstMatch(r);
            Decision dryAllow = null;
            if (hasDryAllow) {
                CompiledRule a = t[DRY_ALLOW].firstMatch(r);
                dryAllow = a != null ? a.decision : DRY_RUN_NO_ALLOW_MATCHED;
            }
            report.set(decision, audit == null ? null : audit.decision, dryDeny == null ? null : dryDeny.decision, dryAllow,
                    custom);
        }
        return decision;
    }

    /** Decides (calling the CUSTOM provider if a CUSTOM rule matches) and traces every applied policy. */
    public Explanation explain(AuthzRequest request) {
        DecisionReport report = new DecisionReport();
        decide(request, report);
        List<List<CompiledRule>> byPolicy = request.protocol() == Protocol.TCP ? tcpByPolicy : httpByPolicy;
        List<Explanation.PolicyTrace> traces = new ArrayList<>();
        for (int i = 0; i < applied.size(); i++) {
            AuthorizationPolicy p = applied.get(i);
            List<Explanation.RuleTrace> rules = new ArrayList<>();
            for (CompiledRule rule : byPolicy.get(i)) {
                rules.add(new Explanation.RuleTrace(rule.ruleIndex, rule.matches(request), rule.trace(request)));
            }
            traces.add(new Explanation.PolicyTrace(p.metadata().namespace(), p.metadata().name(), p.action(), p.dryRun(),
                    rules));
        }
        return new Explanation(report.decision(), report.audit(), report.dryRunDeny(), report.dryRunAllow(),
                report.custom(), request.protocol(), traces);
    }

    /** The policies that apply to the workload, in evaluation order. */
    public List<AuthorizationPolicy> appliedPolicies() {
        return applied;
    }

    /** False for {@link #notLoaded}. */
    public boolean isLoaded() {
        return loaded;
    }

    public Workload workload() {
        return workload;
    }

    public AuthzConfig config() {
        return config;
    }

    /** The number of rules compiled (each for HTTP and TCP). */
    public int ruleCount() {
        return ruleCount;
    }

    @Override
    public String toString() {
        return "DecisionProgram[" + workload.namespace() + " " + workload.labels() + ", " + applied.size() + " policies, "
                + ruleCount + " rules" + (loaded ? "" : ", not loaded") + "]";
    }
}
