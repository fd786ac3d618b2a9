package dev.keel.policy.lint;

import dev.keel.policy.AuthorizationPolicy;
import dev.keel.policy.AuthorizationPolicy.Action;
import dev.keel.policy.Condition;
import dev.keel.policy.Operation;
import dev.keel.policy.ParsedPolicy;
import dev.keel.policy.Rule;
import dev.keel.policy.Source;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;

/** The checks of one AuthorizationPolicy's rules that need no other policy: L003, L006, L007. */
final class RuleChecks {

    static final String TCP_REFERENCE = "https://istio.io/latest/docs/tasks/security/authorization/authz-tcp/";
    static final String ALLOW_ALL_REFERENCE =
            "https://istio.io/latest/docs/concepts/security/#allow-nothing-deny-all-and-allow-all-policy";
    static final String TRUST_DOMAIN_REFERENCE =
            "https://istio.io/latest/docs/tasks/security/authorization/authz-td-migration/";
    private static final Set<String> WILDCARD_OPERATION_FIELDS = Set.of("hosts", "methods", "paths");

    private RuleChecks() {
    }

    static void check(ParsedPolicy parsed, AuthorizationPolicy policy, LintOptions options, Report report) {
        for (int i = 0; i < policy.rules().size(); i++) {
            Rule rule = policy.rules().get(i);
            String path = "spec.rules[" + i + "]";
            if (!options.tcpPorts().isEmpty()) {
                httpFieldsOnTcp(parsed, policy.action(), rule, path, options.tcpPorts(), report);
            }
            if (policy.action() == Action.ALLOW && !policy.dryRun()) {
                allowsEverything(parsed, rule, path, report);
            }
            trustDomains(parsed, rule, path, options.trustDomain(), report);
        }
    }

    // ------------------------------------------------------------------------------------------ L003

    /*
     * Only rules that name a TCP port (operation ports, destination.port) are checked. A DENY rule with
     * HTTP-only fields and no port denies all TCP traffic of its workloads too, but the options cannot say
     * which workloads serve the TCP ports, and warning on every such rule would flag ordinary HTTP policies.
     */

    private static void httpFieldsOnTcp(ParsedPolicy parsed, Action action, Rule rule, String path, Set<Integer> tcpPorts,
                                        Report report) {
        if (action != Action.ALLOW && action != Action.DENY) {
            return;
        }
        List<String[]> httpFields = httpFields(rule, path);
        if (httpFields.isEmpty()) {
            return;
        }
        Set<String> rulePorts = new TreeSet<>();
        rule.to().forEach(o -> rulePorts.addAll(o.ports()));
        rule.when().stream().filter(c -> c.key().equals("destination.port")).forEach(c -> rulePorts.addAll(c.values()));
        Set<Integer> hit = new TreeSet<>();
        for (String port : rulePorts) {
            long p = Match.port(port);
            if (p > 0 && p <= 65535 && tcpPorts.contains((int) p)) {
                hit.add((int) p);
            }
        }
        String names = httpFields.stream().map(f -> f[1]).distinct().collect(Collectors.joining(", "));
        String at = httpFields.get(0)[0];
        if (action == Action.ALLOW && !hit.isEmpty()) {
            report.add(parsed, at, LintCode.HTTP_FIELDS_ON_TCP, "this ALLOW rule uses HTTP-only " + names
                    + " on TCP port " + ports(hit) + ": Istio cannot evaluate them on plain TCP and ignores the whole"
                    + " ALLOW rule there, so it never allows a connection to " + ports(hit), TCP_REFERENCE);
        } else if (action == Action.DENY && !hit.isEmpty()) {
            report.add(parsed, at, LintCode.HTTP_FIELDS_ON_TCP, "this DENY rule uses HTTP-only " + names
                    + ", which Istio ignores for TCP traffic; that makes the rule broader there: on TCP port "
                    + ports(hit) + " it denies every connection that matches its other fields"
                    + (onlyHttpFields(rule) ? ", which here is every connection" : ""), TCP_REFERENCE);
        }
    }

    private static String ports(Set<Integer> ports) {
        return ports.stream().map(String::valueOf).collect(Collectors.joining(", "));
    }

    /** The HTTP-only fields the rule uses, in rule order: path and name (a condition's key). */
    private static List<String[]> httpFields(Rule rule, String path) {
        List<String[]> fields = new ArrayList<>();
        for (int j = 0; j < rule.from().size(); j++) {
            for (Fields.Pair<Source> pair : Fields.SOURCE) {
                if (pair.httpOnly()) {
                    String base = path + ".from[" + j + "].source.";
                    if (!pair.values().apply(rule.from().get(j)).isEmpty()) {
                        fields.add(new String[] {base + pair.name(), pair.name()});
                    }
                    if (!pair.notValues().apply(rule.from().get(j)).isEmpty()) {
                        fields.add(new String[] {base + pair.notName(), pair.notName()});
                    }
                }
            }
        }
        for (int j = 0; j < rule.to().size(); j++) {
            for (Fields.Pair<Operation> pair : Fields.OPERATION) {
                if (pair.httpOnly()) {
                    String base = path + ".to[" + j + "].operation.";
                    if (!pair.values().apply(rule.to().get(j)).isEmpty()) {
                        fields.add(new String[] {base + pair.name(), pair.name()});
                    }
                    if (!pair.notValues().apply(rule.to().get(j)).isEmpty()) {
                        fields.add(new String[] {base + pair.notName(), pair.notName()});
                    }
                }
            }
        }
        for (int k = 0; k < rule.when().size(); k++) {
            if (Fields.isHttpOnly(rule.when().get(k))) {
                fields.add(new String[] {path + ".when[" + k + "].key", rule.when().get(k).key()});
            }
        }
        return fields;
    }

    /** True when every constraint of the rule is HTTP-only, so for TCP nothing of it is left. */
    private static boolean onlyHttpFields(Rule rule) {
        boolean sources = rule.from().stream().allMatch(s -> Fields.SOURCE.stream().allMatch(p -> p.httpOnly()
                || p.values().apply(s).isEmpty() && p.notValues().apply(s).isEmpty()));
        boolean operations = rule.to().stream().allMatch(o -> Fields.OPERATION.stream().allMatch(p -> p.httpOnly()
                || p.values().apply(o).isEmpty() && p.notValues().apply(o).isEmpty()));
        return sources && operations && rule.when().stream().allMatch(Fields::isHttpOnly);
    }

    // ------------------------------------------------------------------------------------------ L006

    private static void allowsEverything(ParsedPolicy parsed, Rule rule, String path, Report report) {
        if (!rule.from().isEmpty() || !rule.when().isEmpty()) {
            return;
        }
        if (rule.to().isEmpty()) {
            report.add(parsed, path, LintCode.ALLOWS_EVERYTHING, "this rule has no from, to or when, so it matches every"
                    + " request: the policy allows everything to its workloads, making their other ALLOW policies"
                    + " moot (only CUSTOM and DENY policies still apply)", ALLOW_ALL_REFERENCE);
        } else if (rule.to().stream().allMatch(RuleChecks::onlyWildcards)) {
            report.add(parsed, path, LintCode.ALLOWS_EVERYTHING, "this rule's operations only use \"*\" (any value), so"
                    + " it matches every HTTP request: the policy allows all HTTP traffic to its workloads, making their"
                    + " other ALLOW policies moot for HTTP", ALLOW_ALL_REFERENCE);
        }
    }

    private static boolean onlyWildcards(Operation o) {
        for (Fields.Pair<Operation> pair : Fields.OPERATION) {
            List<String> values = pair.values().apply(o);
            if (!pair.notValues().apply(o).isEmpty()) {
                return false;
            }
            if (!values.isEmpty() && !(WILDCARD_OPERATION_FIELDS.contains(pair.name()) && values.contains("*"))) {
                return false;
            }
        }
        return true;
    }

    // ------------------------------------------------------------------------------------------ L007

    private static void trustDomains(ParsedPolicy parsed, Rule rule, String path, String trustDomain, Report report) {
        for (int j = 0; j < rule.from().size(); j++) {
            Source s = rule.from().get(j);
            String base = path + ".from[" + j + "].source.";
            principals(parsed, base + "principals", s.principals(), trustDomain, report);
            principals(parsed, base + "notPrincipals", s.notPrincipals(), trustDomain, report);
        }
        for (int k = 0; k < rule.when().size(); k++) {
            Condition c = rule.when().get(k);
            if (c.key().equals("source.principal")) {
                principals(parsed, path + ".when[" + k + "].values", c.values(), trustDomain, report);
                principals(parsed, path + ".when[" + k + "].notValues", c.notValues(), trustDomain, report);
            }
        }
    }

    private static void principals(ParsedPolicy parsed, String path, List<String> values, String trustDomain,
                                   Report report) {
        for (int i = 0; i < values.size(); i++) {
            String v = values.get(i);
            String domain = trustDomainOf(v);
            if (domain != null && !domain.equals(trustDomain)) {
                report.add(parsed, path + "[" + i + "]", LintCode.FOREIGN_TRUST_DOMAIN, Report.quote(v)
                        + " is in trust domain " + Report.quote(domain) + ", not the mesh's " + Report.quote(trustDomain)
                        + ": principals are matched against the peer's SPIFFE ID, so it matches no workload of this"
                        + " mesh unless " + Report.quote(domain) + " is a trust domain alias or a federated domain",
                        TRUST_DOMAIN_REFERENCE);
            }
        }
    }

    /** The trust domain a principal names for certain, or null (any-domain patterns, "*"). */
    private static String trustDomainOf(String principal) {
        if (principal.startsWith("*")) {
            return null;
        }
        int slash = principal.indexOf('/');
        if (slash <= 0) {
            return null;
        }
        String domain = principal.substring(0, slash);
        return domain.contains("*") ? null : domain;
    }
}
