package dev.keel.authz;

import dev.keel.policy.AuthorizationPolicy;
import dev.keel.policy.Condition;
import dev.keel.policy.Operation;
import dev.keel.policy.Rule;
import dev.keel.policy.Source;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.function.Function;

/**
 * Turns one {@code spec.rules[i]} into a {@link CompiledRule} for one protocol, following Istio's
 * generator ({@code pilot/pkg/security/authz/model}): fields AND, values OR, {@code not*} fields and
 * {@code notValues} negated; on TCP an HTTP-only field makes an ALLOW rule match nothing and is
 * ignored in DENY, AUDIT and CUSTOM rules. Stateless.
 */
final class Compiler {

    private Compiler() {
    }

    private static final class Fields {
        final boolean tcp;
        final List<String> httpOnlyUsed = new ArrayList<>();

        Fields(boolean tcp) {
            this.tcp = tcp;
        }

        void str(List<Clause> out, String label, List<String> values, boolean negated, boolean httpOnly, boolean lowerCase,
                boolean paths, Function<AuthzRequest, String> attr) {
            if (values.isEmpty()) {
                return;
            }
            if (httpOnly && tcp) {
                httpOnlyUsed.add(label);
                return;
            }
            StringSet set = StringSet.of(values, lowerCase, paths);
            out.add(new Clause(label, negated, r -> set.matches(attr.apply(r)), attr::apply, values));
        }

        void str(List<Clause> out, String label, List<String> values, boolean negated, boolean httpOnly, boolean lowerCase,
                boolean paths, Clause.Attr attr) {
            if (values.isEmpty()) {
                return;
            }
            if (httpOnly && tcp) {
                httpOnlyUsed.add(label);
                return;
            }
            out.add(new Clause.OfString(label, negated, attr, StringSet.of(values, lowerCase, paths), values));
        }

        void ip(List<Clause> out, String label, List<String> values, boolean negated, Function<AuthzRequest, byte[]> attr,
                Function<AuthzRequest, Object> shown) {
            if (values.isEmpty()) {
                return;
            }
            CidrSet set = CidrSet.of(values);
            out.add(new Clause(label, negated, r -> set.contains(attr.apply(r)), shown, values));
        }

        void port(List<Clause> out, String label, List<String> values, boolean negated) {
            if (values.isEmpty()) {
                return;
            }
            int[] ports = new int[values.size()];
            for (int i = 0; i < ports.length; i++) {
                try {
                    ports[i] = Integer.parseInt(values.get(i));
                } catch (NumberFormatException e) {
                    throw new IllegalArgumentException(label + ": \"" + values.get(i) + "\" (expected: a port number)");
                }
            }
            out.add(new Clause(label, negated, r -> Clause.portIn(r.destinationPort(), ports),
                    r -> r.destinationPort() < 0 ? null : r.destinationPort(), values));
        }
    }

    static CompiledRule compile(AuthorizationPolicy policy, int ruleIndex, Rule rule, Protocol protocol) {
        Fields f = new Fields(protocol == Protocol.TCP);
        String ns = policy.metadata().namespace();

        Clause[][] sources = new Clause[rule.from().size()][];
        for (int i = 0; i < sources.length; i++) {
            Source s = rule.from().get(i);
            String b = "from[" + i + "].source.";
            List<Clause> cs = new ArrayList<>();
            f.str(cs, b + "principals", s.principals(), false, false, false, false, Clause.Attr.SOURCE_PRINCIPAL);
            f.str(cs, b + "notPrincipals", s.notPrincipals(), true, false, false, false, Clause.Attr.SOURCE_PRINCIPAL);
            f.str(cs, b + "requestPrincipals", s.requestPrincipals(), false, true, false, false,
                    Clause.Attr.REQUEST_PRINCIPAL);
            f.str(cs, b + "notRequestPrincipals", s.notRequestPrincipals(), true, true, false, false,
                    Clause.Attr.REQUEST_PRINCIPAL);
            f.str(cs, b + "namespaces", s.namespaces(), false, false, false, false, Clause.Attr.SOURCE_NAMESPACE);
            f.str(cs, b + "notNamespaces", s.notNamespaces(), true, false, false, false, Clause.Attr.SOURCE_NAMESPACE);
            f.str(cs, b + "serviceAccounts", serviceAccounts(s.serviceAccounts(), ns), false, false, false, false,
                    Clause.Attr.SOURCE_SERVICE_ACCOUNT);
            f.str(cs, b + "notServiceAccounts", serviceAccounts(s.notServiceAccounts(), ns), true, false, false, false,
                    Clause.Attr.SOURCE_SERVICE_ACCOUNT);
            f.ip(cs, b + "ipBlocks", s.ipBlocks(), false, AuthzRequest::sourceIpBytes, AuthzRequest::sourceIp);
            f.ip(cs, b + "notIpBlocks", s.notIpBlocks(), true, AuthzRequest::sourceIpBytes, AuthzRequest::sourceIp);
            f.ip(cs, b + "remoteIpBlocks", s.remoteIpBlocks(), false, AuthzRequest::remoteIpBytes, AuthzRequest::remoteIp);
            f.ip(cs, b + "notRemoteIpBlocks", s.notRemoteIpBlocks(), true, AuthzRequest::remoteIpBytes,
                    AuthzRequest::remoteIp);
            sources[i] = cs.toArray(new Clause[0]);
        }

        Clause[][] operations = new Clause[rule.to().size()][];
        for (int i = 0; i < operations.length; i++) {
            Operation o = rule.to().get(i);
            String b = "to[" + i + "].operation.";
            List<Clause> cs = new ArrayList<>();
            f.str(cs, b + "hosts", o.hosts(), false, true, true, false, Clause.Attr.HOST);
            f.str(cs, b + "notHosts", o.notHosts(), true, true, true, false, Clause.Attr.HOST);
            f.port(cs, b + "ports", o.ports(), false);
            f.port(cs, b + "notPorts", o.notPorts(), true);
            f.str(cs, b + "methods", o.methods(), false, true, false, false, Clause.Attr.METHOD);
            f.str(cs, b + "notMethods", o.notMethods(), true, true, false, false, Clause.Attr.METHOD);
            f.str(cs, b + "paths", o.paths(), false, true, false, true, Clause.Attr.PATH);
            f.str(cs, b + "notPaths", o.notPaths(), true, true, false, true, Clause.Attr.PATH);
            operations[i] = cs.toArray(new Clause[0]);
        }

        List<Clause> conditions = new ArrayList<>();
        for (int i = 0; i < rule.when().size(); i++) {
            Condition c = rule.when().get(i);
            condition(f, conditions, "when[" + i + "]", c.key(), c.values(), false);
            condition(f, conditions, "when[" + i + "]", c.key(), c.notValues(), true);
        }

        boolean tcp = protocol == Protocol.TCP;
        String skipped = null;
        List<String> ignored = List.of();
        if (tcp && !f.httpOnlyUsed.isEmpty()) {
            if (policy.action() == AuthorizationPolicy.Action.ALLOW) {
                skipped = "skipped on a TCP connection: an ALLOW rule with HTTP-only field(s) "
                        + String.join(", ", new HashSet<>(f.httpOnlyUsed).stream().sorted().toList())
                        + " matches nothing";
            } else {
                ignored = List.copyOf(f.httpOnlyUsed);
            }
        }
        CompiledRule compiled = new CompiledRule(policy, ruleIndex, sources, operations, conditions.toArray(new Clause[0]),
                skipped, ignored);
        hints(compiled, rule, tcp);
        return compiled;
    }

    private static List<String> serviceAccounts(List<String> values, String policyNamespace) {
        List<String> out = new ArrayList<>(values.size());
        for (String v : values) {
            out.add(v.indexOf('/') >= 0 ? v : policyNamespace + "/" + v);
        }
        return out;
    }

    private static void condition(Fields f, List<Clause> out, String at, String key, List<String> values, boolean negated) {
        if (values.isEmpty()) {
            return;
        }
        String label = at + "." + (negated ? "notValues" : "values") + " (" + key + ")";
        if (key.startsWith("request.headers[") && key.endsWith("]")) {
            String name = key.substring("request.headers[".length(), key.length() - 1).toLowerCase(Locale.ROOT);
            f.str(out, label, values, negated, true, false, false, r -> r.header(name));
            return;
        }
        if (key.startsWith("request.auth.claims[") && key.endsWith("]")) {
            String[] path = claimPath(key.substring("request.auth.claims".length()));
            if (f.tcp) {
                f.httpOnlyUsed.add(label);
                return;
            }
            StringSet set = StringSet.of(values, false, false);
            out.add(new Clause(label, negated, r -> Clause.claimMatches(r.claims(), path, set),
                    r -> Clause.claim(r.claims(), path), values));
            return;
        }
        switch (key) {
            case "source.ip" -> f.ip(out, label, values, negated, AuthzRequest::sourceIpBytes, AuthzRequest::sourceIp);
            case "remote.ip" -> f.ip(out, label, values, negated, AuthzRequest::remoteIpBytes, AuthzRequest::remoteIp);
            case "destination.ip" -> f.ip(out, label, values, negated, AuthzRequest::destinationIpBytes,
                    AuthzRequest::destinationIp);
            case "destination.port" -> f.port(out, label, values, negated);
            case "source.namespace" -> f.str(out, label, values, negated, false, false, false,
                    Clause.Attr.SOURCE_NAMESPACE);
            case "source.principal" -> f.str(out, label, values, negated, false, false, false,
                    Clause.Attr.SOURCE_PRINCIPAL);
            case "source.serviceAccount" -> f.str(out, label, values, negated, false, false, false,
                    Clause.Attr.SOURCE_SERVICE_ACCOUNT);
            case "connection.sni" -> f.str(out, label, values, negated, false, false, false, Clause.Attr.SNI);
            case "request.auth.principal" -> f.str(out, label, values, negated, true, false, false,
                    Clause.Attr.REQUEST_PRINCIPAL);
            case "request.auth.presenter" -> f.str(out, label, values, negated, true, false, false,
                    Clause.Attr.PRESENTER);
            case "request.auth.audiences" -> {
                if (f.tcp) {
                    f.httpOnlyUsed.add(label);
                    return;
                }
                StringSet set = StringSet.of(values, false, false);
                out.add(new Clause(label, negated, r -> Clause.anyMatches(r.audiences(), set),
                        r -> r.audiences().isEmpty() ? null : r.audiences(), values));
            }
            default -> throw new IllegalArgumentException(label + ": unsupported condition key \"" + key + "\"");
        }
    }

    /** {@code [a][b]} to {@code {"a", "b"}}. */
    static String[] claimPath(String brackets) {
        List<String> out = new ArrayList<>();
        int i = 0;
        while (i < brackets.length()) {
            if (brackets.charAt(i) != '[') {
                throw new IllegalArgumentException("claim key: \"" + brackets + "\" (expected: [name][name]...)");
            }
            int close = brackets.indexOf(']', i);
            if (close < 0) {
                throw new IllegalArgumentException("claim key: \"" + brackets + "\" (expected: [name][name]...)");
            }
            out.add(brackets.substring(i + 1, close));
            i = close + 1;
        }
        return out.toArray(new String[0]);
    }

    /** Records what an index may use: necessary conditions of the rule on exact values and prefixes. */
    private static void hints(CompiledRule c, Rule rule, boolean tcp) {
        if (c.skipped != null) {
            return;
        }
        if (!tcp && !rule.to().isEmpty()) {
            Set<String> exact = new HashSet<>();
            List<String> prefixes = new ArrayList<>();
            boolean ok = true;
            for (Operation o : rule.to()) {
                if (o.paths().isEmpty()) {
                    ok = false;
                    break;
                }
                for (String p : o.paths()) {
                    if (PathTemplate.isTemplate(p)) {
                        // the literal text before the first operator is a necessary prefix
                        String prefix = p.substring(0, p.indexOf('{'));
                        if (prefix.isEmpty()) {
                            ok = false;
                        } else {
                            prefixes.add(prefix);
                        }
                    } else if (p.startsWith("*")) {
                        ok = false;
                    } else if (p.endsWith("*")) {
                        String prefix = p.substring(0, p.length() - 1);
                        if (prefix.isEmpty() || prefix.indexOf('*') >= 0) {
                            ok = false;
                        } else {
                            prefixes.add(prefix);
                        }
                    } else {
                        exact.add(p);
                    }
                }
            }
            if (ok) {
                c.exactPaths = exact;
                c.pathPrefixes = prefixes;
                return;
            }
            Set<String> methods = new HashSet<>();
            ok = true;
            for (Operation o : rule.to()) {
                if (o.methods().isEmpty()) {
                    ok = false;
                    break;
                }
                for (String m : o.methods()) {
                    if (m.indexOf('*') >= 0) {
                        ok = false;
                    }
                    methods.add(m);
                }
            }
            if (ok) {
                c.exactMethods = methods;
                return;
            }
        }
        if (!rule.from().isEmpty()) {
            c.exactPrincipals = exactSourceValues(rule, Source::principals);
            if (c.exactPrincipals == null) {
                c.exactNamespaces = exactSourceValues(rule, Source::namespaces);
            }
        }
    }

    /** The values of a source field when every source lists only exact values for it; else null. */
    private static Set<String> exactSourceValues(Rule rule, Function<Source, List<String>> field) {
        Set<String> out = new HashSet<>();
        for (Source s : rule.from()) {
            List<String> values = field.apply(s);
            if (values.isEmpty()) {
                return null;
            }
            for (String v : values) {
                if (v.indexOf('*') >= 0) {
                    return null;
                }
                out.add(v);
            }
        }
        return out;
    }
}
