package dev.keel.authz;

import dev.keel.policy.AuthorizationPolicy;
import java.util.List;
import java.util.Objects;

/**
 * Why a request got its decision: the report (enforced decision, audit, dry-run, CUSTOM) and, for
 * every policy that applies to the workload, every rule with what matched or the first field that
 * failed in each source and operation. Produced on demand by {@link DecisionProgram#explain}, which
 * allocates; immutable and thread-safe.
 */
public record Explanation(Decision decision, Decision audit, Decision dryRunDeny, Decision dryRunAllow, Decision custom,
        Protocol protocol, List<PolicyTrace> policies) {

    /** One applied policy, in evaluation order. */
    public record PolicyTrace(String namespace, String name, AuthorizationPolicy.Action action, boolean dryRun,
            List<RuleTrace> rules) {
        public PolicyTrace {
            rules = List.copyOf(rules);
        }
    }

    /**
     * One rule: whether it matched, and the details ("from[0].source matched", "to: no operation
     * matched: to[0].operation.methods did not match (request: "POST"; policy: [GET])").
     */
    public record RuleTrace(int index, boolean matched, List<String> details) {
        public RuleTrace {
            details = List.copyOf(details);
        }
    }

    public Explanation {
        Objects.requireNonNull(decision, "decision");
        Objects.requireNonNull(protocol, "protocol");
        policies = List.copyOf(policies);
    }

    /** Multi-line text for people. */
    public String render() {
        StringBuilder b = new StringBuilder();
        b.append(decision.allowed() ? "ALLOW" : "DENY").append(": ").append(decision.summary()).append('\n');
        if (custom != null) {
            b.append("custom: ").append(custom.summary()).append('\n');
        }
        if (audit != null) {
            b.append("audit: ").append(audit.summary()).append('\n');
        }
        if (dryRunDeny != null) {
            b.append("dry-run: ").append(dryRunDeny.summary()).append('\n');
        }
        if (dryRunAllow != null) {
            b.append("dry-run: ").append(dryRunAllow.summary()).append('\n');
        }
        if (policies.isEmpty()) {
            b.append("no policy applies to the workload\n");
        }
        for (PolicyTrace p : policies) {
            b.append(p.action()).append(p.dryRun() ? " (dry-run)" : "").append(' ').append(p.namespace()).append('/')
                    .append(p.name()).append('\n');
            if (p.rules().isEmpty()) {
                b.append("  no rules: matches nothing\n");
            }
            for (RuleTrace r : p.rules()) {
                b.append("  spec.rules[").append(r.index()).append("] ").append(r.matched() ? "matched" : "did not match")
                        .append('\n');
                for (String d : r.details()) {
                    b.append("    ").append(d).append('\n');
                }
            }
        }
        return b.toString();
    }
}
