package dev.keel.policy.lint;

import dev.keel.policy.AuthorizationPolicy;
import dev.keel.policy.AuthorizationPolicy.Action;
import dev.keel.policy.Condition;
import dev.keel.policy.Operation;
import dev.keel.policy.ParsedPolicy;
import dev.keel.policy.Rule;
import dev.keel.policy.Source;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * KEEL-L001: values, sources, operations, conditions and rules that no request can match. Only certain
 * cases: a value its own negation excludes ({@code paths: [/a]} with {@code notPaths: [/a*]}), an HTTP
 * method in lower case, port 0, a principal whose namespace the same source excludes, a
 * {@code destination.port} condition no operation's port can satisfy.
 */
final class NeverMatches {

    static final String REFERENCE = "https://istio.io/latest/docs/concepts/security/#value-matching";
    private static final Set<String> METHODS = Set.of("GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE",
            "PATCH");

    private NeverMatches() {
    }

    /** A value that never matches, and why. */
    record Dead(int index, String value, String reason) {
    }

    /** True when no request can match {@code rule}. */
    static boolean rule(Rule rule) {
        return !rule.from().isEmpty() && rule.from().stream().allMatch(NeverMatches::source)
                || !rule.to().isEmpty() && rule.to().stream().allMatch(NeverMatches::operation)
                || rule.when().stream().anyMatch(NeverMatches::condition)
                || portConflict(rule) >= 0;
    }

    static boolean source(Source s) {
        for (Fields.Pair<Source> pair : Fields.SOURCE) {
            List<String> values = pair.values().apply(s);
            if (!values.isEmpty() && dead(pair, s).size() == values.size()) {
                return true;
            }
        }
        return false;
    }

    static boolean operation(Operation o) {
        for (Fields.Pair<Operation> pair : Fields.OPERATION) {
            List<String> values = pair.values().apply(o);
            if (!values.isEmpty() && dead(pair, o).size() == values.size()) {
                return true;
            }
        }
        return false;
    }

    static boolean condition(Condition c) {
        return !c.values().isEmpty() && dead(c).size() == c.values().size();
    }

    static void check(ParsedPolicy parsed, AuthorizationPolicy policy, Report report) {
        for (int i = 0; i < policy.rules().size(); i++) {
            Rule rule = policy.rules().get(i);
            String rulePath = "spec.rules[" + i + "]";
            String ruleConsequence = rule(rule) ? " and rule " + rulePath + " never matches" + effect(policy.action()) : "";
            for (int j = 0; j < rule.from().size(); j++) {
                Source s = rule.from().get(j);
                String path = rulePath + ".from[" + j + "].source";
                for (Fields.Pair<Source> pair : Fields.SOURCE) {
                    report(parsed, path, "source", pair.name(), pair.values().apply(s), dead(pair, s), ruleConsequence, report);
                }
            }
            for (int j = 0; j < rule.to().size(); j++) {
                Operation o = rule.to().get(j);
                String path = rulePath + ".to[" + j + "].operation";
                for (Fields.Pair<Operation> pair : Fields.OPERATION) {
                    report(parsed, path, "operation", pair.name(), pair.values().apply(o), dead(pair, o), ruleConsequence,
                            report);
                }
            }
            for (int k = 0; k < rule.when().size(); k++) {
                Condition c = rule.when().get(k);
                report(parsed, rulePath + ".when[" + k + "]", "condition", "values", c.values(), dead(c), ruleConsequence,
                        report);
            }
            int conflict = portConflict(rule);
            if (conflict >= 0) {
                report.add(parsed, rulePath + ".when[" + conflict + "]", LintCode.NEVER_MATCHES, "destination.port "
                        + Report.quoteAll(rule.when().get(conflict).values()) + " is none of the ports the rule's operations"
                        + " allow, and both must hold, so rule " + rulePath + " never matches" + effect(policy.action()),
                        REFERENCE);
            }
        }
    }

    private static void report(ParsedPolicy parsed, String elementPath, String element, String field, List<String> values,
                               List<Dead> dead, String ruleConsequence, Report report) {
        boolean all = !values.isEmpty() && dead.size() == values.size();
        for (Dead d : dead) {
            String consequence = all
                    ? "; no value of " + field + " can match, so this " + element + " never matches" + ruleConsequence
                    : "";
            report.add(parsed, elementPath + "." + field + "[" + d.index() + "]", LintCode.NEVER_MATCHES,
                    Report.quote(d.value()) + " never matches: " + d.reason() + consequence, REFERENCE);
        }
    }

    private static String effect(Action action) {
        switch (action) {
            case ALLOW:
                return " (it allows nothing)";
            case DENY:
                return " (it denies nothing)";
            default:
                return "";
        }
    }

    static <T> List<Dead> dead(Fields.Pair<T> pair, T element) {
        List<String> values = pair.values().apply(element);
        List<String> nots = pair.notValues().apply(element);
        List<Dead> dead = new ArrayList<>();
        for (int i = 0; i < values.size(); i++) {
            String v = values.get(i);
            String reason = excludedBy(pair.match(), nots, v, pair.notName());
            if (reason == null && pair.name().equals("methods")) {
                reason = methodCase(v);
            }
            if (reason == null && pair.name().equals("ports") && Match.port(v) == 0) {
                reason = "no connection goes to port 0";
            }
            if (reason == null && pair.name().equals("principals") && element instanceof Source) {
                reason = principalNamespace((Source) element, v);
            }
            if (reason != null) {
                dead.add(new Dead(i, v, reason));
            }
        }
        return dead;
    }

    static List<Dead> dead(Condition c) {
        List<Dead> dead = new ArrayList<>();
        for (int i = 0; i < c.values().size(); i++) {
            String reason = excludedBy(Fields.match(c), c.notValues(), c.values().get(i), "notValues");
            if (reason != null) {
                dead.add(new Dead(i, c.values().get(i), reason));
            }
        }
        return dead;
    }

    private static String excludedBy(Match match, List<String> nots, String value, String notName) {
        for (String n : nots) {
            if (match.covers(n, value)) {
                return n.equals(value) ? "it is also listed in " + notName
                        : notName + " " + Report.quote(n) + " excludes everything it matches";
            }
        }
        return null;
    }

    private static String methodCase(String method) {
        String upper = method.toUpperCase(Locale.ROOT);
        return !method.equals(upper) && METHODS.contains(upper)
                ? "HTTP methods are case-sensitive and requests carry " + Report.quote(upper) : null;
    }

    /** A principal {@code <td>/ns/<namespace>/sa/<name>} whose namespace the same source rules out. */
    private static String principalNamespace(Source s, String principal) {
        if (!Match.isExact(principal)) {
            return null;
        }
        String[] parts = principal.split("/", -1);
        if (parts.length != 5 || !parts[1].equals("ns") || !parts[3].equals("sa")) {
            return null;
        }
        String namespace = parts[2];
        if (!s.namespaces().isEmpty() && !Match.PATTERN.coveredByAny(s.namespaces(), namespace)) {
            return "its namespace " + Report.quote(namespace) + " is not in the same source's namespaces "
                    + Report.quoteAll(s.namespaces());
        }
        for (String n : s.notNamespaces()) {
            if (Match.PATTERN.covers(n, namespace)) {
                return "its namespace " + Report.quote(namespace) + " is excluded by the same source's notNamespaces "
                        + Report.quote(n);
            }
        }
        return null;
    }

    /**
     * The index of a {@code destination.port} condition whose values are all outside the ports every
     * operation of the rule requires, or -1.
     */
    static int portConflict(Rule rule) {
        if (rule.to().isEmpty() || rule.to().stream().anyMatch(o -> o.ports().isEmpty())) {
            return -1;
        }
        Set<Long> ports = new HashSet<>();
        rule.to().forEach(o -> o.ports().forEach(p -> ports.add(Match.port(p))));
        for (int k = 0; k < rule.when().size(); k++) {
            Condition c = rule.when().get(k);
            if (c.key().equals("destination.port") && !c.values().isEmpty()
                    && c.values().stream().noneMatch(v -> ports.contains(Match.port(v)))) {
                return k;
            }
        }
        return -1;
    }
}
