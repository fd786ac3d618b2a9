package dev.keel.authz;

import dev.keel.policy.AuthorizationPolicy;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * One {@code spec.rules[i]} compiled for one protocol: at least one source, at least one operation and
 * every condition (empty lists place no constraint). Holds the decisions it produces, created once.
 * Immutable after compilation.
 */
final class CompiledRule {

    final AuthorizationPolicy policy;
    final int ruleIndex;
    final Clause[][] sources;
    final Clause[][] operations;
    final Clause[] conditions;
    /** Non-null when the rule can never match on this protocol (an ALLOW rule with HTTP-only fields on TCP). */
    final String skipped;
    /** Fields dropped on TCP (DENY, AUDIT, CUSTOM rules with HTTP-only fields). */
    final List<String> ignored;

    // index hints, null when not usable
    Set<String> exactPaths;
    List<String> pathPrefixes;
    Set<String> exactMethods;
    Set<String> exactPrincipals;
    Set<String> exactNamespaces;

    Decision decision;
    Decision customDenied;
    Decision customError;

    int id;

    /**
     * With at most one source and one operation, the rule is one conjunction: their clauses and the
     * conditions in one array, so matching follows one reference less per clause; else null.
     */
    private final Clause[] conjunction;

    CompiledRule(AuthorizationPolicy policy, int ruleIndex, Clause[][] sources, Clause[][] operations, Clause[] conditions,
            String skipped, List<String> ignored) {
        this.policy = policy;
        this.ruleIndex = ruleIndex;
        this.sources = sources;
        this.operations = operations;
        this.conditions = conditions;
        this.skipped = skipped;
        this.ignored = ignored;
        if (sources.length <= 1 && operations.length <= 1) {
            List<Clause> all = new ArrayList<>();
            for (Clause[] g : sources) {
                all.addAll(List.of(g));
            }
            for (Clause[] g : operations) {
                all.addAll(List.of(g));
            }
            all.addAll(List.of(conditions));
            this.conjunction = all.toArray(new Clause[0]);
        } else {
            this.conjunction = null;
        }
    }

    boolean matches(AuthzRequest r) {
        if (skipped != null) {
            return false;
        }
        if (conjunction != null) {
            return all(conjunction, r);
        }
        if (sources.length > 0 && !any(sources, r)) {
            return false;
        }
        if (operations.length > 0 && !any(operations, r)) {
            return false;
        }
        return all(conditions, r);
    }

    private static boolean any(Clause[][] groups, AuthzRequest r) {
        for (Clause[] g : groups) {
            if (all(g, r)) {
                return true;
            }
        }
        return false;
    }

    private static boolean all(Clause[] clauses, AuthzRequest r) {
        for (Clause c : clauses) {
            if (!c.matches(r)) {
                return false;
            }
        }
        return true;
    }

    /** What matched or failed, for explanations (allocates). */
    List<String> trace(AuthzRequest r) {
        List<String> out = new ArrayList<>();
        if (skipped != null) {
            out.add(skipped);
            return out;
        }
        for (String i : ignored) {
            out.add(i + " ignored on a TCP connection (HTTP-only field)");
        }
        traceGroups("from", "source", sources, r, out);
        traceGroups("to", "operation", operations, r, out);
        for (Clause c : conditions) {
            out.add(c.matches(r) ? c.label() + " matched" : c.failure(r));
        }
        return out;
    }

    private static void traceGroups(String field, String item, Clause[][] groups, AuthzRequest r, List<String> out) {
        if (groups.length == 0) {
            return;
        }
        List<String> failures = new ArrayList<>();
        for (int i = 0; i < groups.length; i++) {
            Clause failed = null;
            for (Clause c : groups[i]) {
                if (!c.matches(r)) {
                    failed = c;
                    break;
                }
            }
            if (failed == null) {
                out.add(field + "[" + i + "]." + item + " matched");
                return;
            }
            failures.add(failed.failure(r));
        }
        out.add(field + ": no " + item + " matched: " + String.join("; ", failures));
    }
}
