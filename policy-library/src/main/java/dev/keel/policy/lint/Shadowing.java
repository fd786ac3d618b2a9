package dev.keel.policy.lint;

import dev.keel.policy.AuthorizationPolicy;
import dev.keel.policy.AuthorizationPolicy.Action;
import dev.keel.policy.Condition;
import dev.keel.policy.Operation;
import dev.keel.policy.ParsedPolicy;
import dev.keel.policy.Rule;
import dev.keel.policy.Source;
import dev.keel.policy.WorkloadSelector;
import java.util.List;
import java.util.Map;

/**
 * KEEL-L002: an ALLOW rule every request of which a DENY rule, applying to at least the same workloads,
 * denies first (Istio evaluates DENY before ALLOW). "Covers" is decided field by field and only where it
 * is certain: a DENY field that is absent, or whose values match everything the ALLOW field's values do
 * ({@code /admin*} covers {@code /admin/x}); a DENY negation only when the ALLOW rule's values are exact
 * and none of them is excluded, or the ALLOW rule carries the same negation. Policies attached by
 * {@code targetRef} and dry-run policies are left out.
 */
final class Shadowing {

    static final String REFERENCE = "https://istio.io/latest/docs/reference/config/security/authorization-policy/";

    private Shadowing() {
    }

    static void check(List<ParsedPolicy> authorizationPolicies, LintOptions options, Report report) {
        for (ParsedPolicy allowParsed : authorizationPolicies) {
            AuthorizationPolicy allow = (AuthorizationPolicy) allowParsed.policy();
            if (allow.action() != Action.ALLOW || !eligible(allow)) {
                continue;
            }
            for (int i = 0; i < allow.rules().size(); i++) {
                Rule allowRule = allow.rules().get(i);
                if (NeverMatches.rule(allowRule)) {
                    continue;
                }
                String shadow = shadowOf(allow, allowRule, authorizationPolicies, options);
                if (shadow != null) {
                    report.add(allowParsed, "spec.rules[" + i + "]", LintCode.SHADOWED_BY_DENY, "every request this rule"
                            + " allows is denied first by " + shadow + ": Istio evaluates DENY policies before ALLOW"
                            + " policies, so this rule has no effect", REFERENCE);
                }
            }
        }
    }

    private static String shadowOf(AuthorizationPolicy allow, Rule allowRule, List<ParsedPolicy> policies,
                                   LintOptions options) {
        for (ParsedPolicy denyParsed : policies) {
            AuthorizationPolicy deny = (AuthorizationPolicy) denyParsed.policy();
            if (deny.action() != Action.DENY || !eligible(deny) || !appliesToAllOf(deny, allow, options)) {
                continue;
            }
            for (int k = 0; k < deny.rules().size(); k++) {
                if (covers(deny.rules().get(k), allowRule)) {
                    String rulePath = "spec.rules[" + k + "]";
                    return "DENY rule " + rulePath + " of AuthorizationPolicy " + deny.metadata().qualifiedName() + " ("
                            + Report.where(denyParsed, rulePath) + ")";
                }
            }
        }
        return null;
    }

    private static boolean eligible(AuthorizationPolicy p) {
        return p.targetRef().isEmpty() && p.targetRefs().isEmpty() && !p.dryRun();
    }

    /** True when every workload {@code allow} applies to, {@code deny} applies to too. */
    static boolean appliesToAllOf(AuthorizationPolicy deny, AuthorizationPolicy allow, LintOptions options) {
        Map<String, String> denyLabels = labels(deny);
        Map<String, String> allowLabels = labels(allow);
        boolean sameNamespace = deny.metadata().namespace().equals(allow.metadata().namespace());
        boolean meshWide = deny.metadata().namespace().equals(options.rootNamespace());
        if (!sameNamespace && !meshWide) {
            return false;
        }
        // A selector selects the workloads whose labels include all of its own, so fewer labels select more.
        return allowLabels.entrySet().containsAll(denyLabels.entrySet());
    }

    private static Map<String, String> labels(AuthorizationPolicy p) {
        return p.selector().map(WorkloadSelector::matchLabels).orElse(Map.of());
    }

    /** True when every request {@code allow} matches, {@code deny} matches too. */
    static boolean covers(Rule deny, Rule allow) {
        if (!deny.from().isEmpty()) {
            if (allow.from().isEmpty()) {
                return false;
            }
            for (Source a : allow.from()) {
                if (deny.from().stream().noneMatch(d -> covers(Fields.SOURCE, d, a))) {
                    return false;
                }
            }
        }
        if (!deny.to().isEmpty()) {
            if (allow.to().isEmpty()) {
                return false;
            }
            for (Operation a : allow.to()) {
                if (deny.to().stream().noneMatch(d -> covers(Fields.OPERATION, d, a))) {
                    return false;
                }
            }
        }
        for (Condition d : deny.when()) {
            if (allow.when().stream().noneMatch(a -> covers(d, a))) {
                return false;
            }
        }
        return true;
    }

    private static <T> boolean covers(List<Fields.Pair<T>> pairs, T deny, T allow) {
        for (Fields.Pair<T> pair : pairs) {
            if (!covers(pair.match(), pair.values().apply(deny), pair.notValues().apply(deny), pair.values().apply(allow),
                    pair.notValues().apply(allow))) {
                return false;
            }
        }
        return true;
    }

    private static boolean covers(Condition deny, Condition allow) {
        return deny.key().equals(allow.key())
                && covers(Fields.match(deny), deny.values(), deny.notValues(), allow.values(), allow.notValues());
    }

    /** One field: every value the ALLOW side admits is admitted by the DENY side. */
    private static boolean covers(Match match, List<String> denyValues, List<String> denyNots, List<String> allowValues,
                                  List<String> allowNots) {
        if (!denyValues.isEmpty()) {
            if (allowValues.isEmpty()) {
                return false;
            }
            for (String a : allowValues) {
                if (!match.coveredByAny(denyValues, a)) {
                    return false;
                }
            }
        }
        for (String n : denyNots) {
            if (allowNots.contains(n)) {
                continue;
            }
            // Every value the ALLOW side matches must be one n does not match: certain only for exact values.
            if (allowValues.isEmpty()) {
                return false;
            }
            for (String a : allowValues) {
                if (!match.isExactValue(a) || match.covers(n, a)) {
                    return false;
                }
            }
        }
        return true;
    }
}
