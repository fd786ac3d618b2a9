package dev.keel.authz;

import dev.keel.policy.AuthorizationPolicy;
import dev.keel.policy.AuthorizationPolicy.Action;
import dev.keel.policy.Condition;
import dev.keel.policy.Operation;
import dev.keel.policy.Rule;
import dev.keel.policy.Source;
import java.math.BigInteger;
import java.net.InetAddress;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * A direct, obviously-correct reading of Istio's semantics over the policy records, for the property
 * test: no compilation, no index, regular expressions for templates, BigInteger for CIDRs. Slow on purpose.
 */
final class ReferenceInterpreter {

    /** What the reference decides, in the same terms as {@link DecisionReport}. */
    record Outcome(boolean allowed, Decision.Reason reason, String policy, int rule, String audit, String dryRunDeny,
            String dryRunAllow, String custom) {
    }

    private record Hit(AuthorizationPolicy policy, int rule) {
        String id() {
            return policy.metadata().qualifiedName() + "#" + rule;
        }
    }

    private ReferenceInterpreter() {
    }

    static Outcome decide(List<AuthorizationPolicy> all, Workload w, AuthzConfig config, AuthzRequest r) {
        List<AuthorizationPolicy> applied = new ArrayList<>();
        for (AuthorizationPolicy p : all) {
            boolean nsOk = p.metadata().namespace().equals(config.rootNamespace())
                    || p.metadata().namespace().equals(w.namespace());
            boolean targeted = p.targetRef().isPresent() || !p.targetRefs().isEmpty();
            boolean selected = p.selector().isEmpty() || p.selector().get().matchLabels().entrySet().stream()
                    .allMatch(e -> e.getValue().equals(w.labels().get(e.getKey())));
            if (nsOk && !targeted && selected) {
                applied.add(p);
            }
        }
        applied.sort(Comparator.comparing((AuthorizationPolicy p) -> p.metadata().namespace())
                .thenComparing(p -> p.metadata().name()));

        String custom = null;
        Hit c = first(applied, Action.CUSTOM, false, r);
        if (c != null) {
            List<String> providers = applied.stream().filter(p -> p.action() == Action.CUSTOM)
                    .map(p -> p.provider().get().name()).distinct().toList();
            ExternalAuthorizer a = providers.size() == 1 ? config.extensionProviders().get(providers.get(0)) : null;
            ExternalAuthorizer.Result result = a == null ? ExternalAuthorizer.Result.ERROR : a.check(r);
            if (result != ExternalAuthorizer.Result.ALLOW) {
                Decision.Reason reason = result == ExternalAuthorizer.Result.DENY ? Decision.Reason.CUSTOM_DENIED
                        : Decision.Reason.CUSTOM_ERROR;
                custom = reason + " " + c.id();
                return finish(applied, r, new Outcome(false, reason, c.policy.metadata().qualifiedName(), c.rule, null,
                        null, null, custom));
            }
            custom = Decision.Reason.CUSTOM_ALLOWED + " " + c.id();
        }
        Hit d = first(applied, Action.DENY, false, r);
        Outcome o;
        if (d != null) {
            o = new Outcome(false, Decision.Reason.DENY_POLICY_MATCHED, d.policy.metadata().qualifiedName(), d.rule, null,
                    null, null, custom);
        } else if (applied.stream().noneMatch(p -> p.action() == Action.ALLOW && !p.dryRun())) {
            o = new Outcome(true, Decision.Reason.NO_ALLOW_POLICY, null, -1, null, null, null, custom);
        } else {
            Hit a = first(applied, Action.ALLOW, false, r);
            o = a == null ? new Outcome(false, Decision.Reason.NO_ALLOW_POLICY_MATCHED, null, -1, null, null, null, custom)
                    : new Outcome(true, Decision.Reason.ALLOW_POLICY_MATCHED, a.policy.metadata().qualifiedName(), a.rule,
                            null, null, null, custom);
        }
        return finish(applied, r, o);
    }

    private static Outcome finish(List<AuthorizationPolicy> applied, AuthzRequest r, Outcome o) {
        Hit audit = first(applied, Action.AUDIT, false, r);
        Hit dryDeny = first(applied, Action.DENY, true, r);
        String dryAllow = null;
        if (applied.stream().anyMatch(p -> p.action() == Action.ALLOW && p.dryRun())) {
            Hit a = first(applied, Action.ALLOW, true, r);
            dryAllow = a == null ? "none" : a.id();
        }
        return new Outcome(o.allowed(), o.reason(), o.policy(), o.rule(), audit == null ? null : audit.id(),
                dryDeny == null ? null : dryDeny.id(), dryAllow, o.custom());
    }

    private static Hit first(List<AuthorizationPolicy> applied, Action action, boolean dryRun, AuthzRequest r) {
        for (AuthorizationPolicy p : applied) {
            if (p.action() != action || (action != Action.CUSTOM && action != Action.AUDIT && p.dryRun() != dryRun)) {
                continue;
            }
            for (int i = 0; i < p.rules().size(); i++) {
                if (ruleMatches(p, p.rules().get(i), r)) {
                    return new Hit(p, i);
                }
            }
        }
        return null;
    }

    /** Istio's generator: an HTTP-only field on TCP makes an ALLOW rule match nothing and is dropped elsewhere. */
    private static boolean ruleMatches(AuthorizationPolicy p, Rule rule, AuthzRequest r) {
        boolean tcp = r.protocol() == Protocol.TCP;
        if (tcp && p.action() == Action.ALLOW && usesHttpOnly(rule)) {
            return false;
        }
        boolean from = rule.from().isEmpty() || rule.from().stream().anyMatch(s -> sourceMatches(p, s, r, tcp));
        boolean to = rule.to().isEmpty() || rule.to().stream().anyMatch(o -> operationMatches(o, r, tcp));
        boolean when = rule.when().stream().allMatch(c -> conditionMatches(c, r, tcp));
        return from && to && when;
    }

    private static boolean usesHttpOnly(Rule rule) {
        for (Source s : rule.from()) {
            if (!s.requestPrincipals().isEmpty() || !s.notRequestPrincipals().isEmpty()) {
                return true;
            }
        }
        for (Operation o : rule.to()) {
            if (!o.hosts().isEmpty() || !o.notHosts().isEmpty() || !o.methods().isEmpty() || !o.notMethods().isEmpty()
                    || !o.paths().isEmpty() || !o.notPaths().isEmpty()) {
                return true;
            }
        }
        for (Condition c : rule.when()) {
            if (httpOnlyKey(c.key()) && (!c.values().isEmpty() || !c.notValues().isEmpty())) {
                return true;
            }
        }
        return false;
    }

    private static boolean httpOnlyKey(String key) {
        return key.startsWith("request.");
    }

    /** Positive list: empty means no constraint; negative list: empty means no constraint. */
    private static boolean field(List<String> values, List<String> notValues, Object actual, Kind kind, boolean skip) {
        if (skip) {
            return true;
        }
        boolean pos = values.isEmpty() || values.stream().anyMatch(v -> kind.matches(v, actual));
        boolean neg = notValues.isEmpty() || notValues.stream().noneMatch(v -> kind.matches(v, actual));
        return pos && neg;
    }

    private interface Kind {
        boolean matches(String pattern, Object actual);
    }

    private static final Kind STRING = (p, a) -> a instanceof String && str(p, (String) a, false, false);
    private static final Kind HOST = (p, a) -> a instanceof String && str(p, (String) a, true, false);
    private static final Kind PATH = (p, a) -> a instanceof String && str(p, (String) a, false, true);
    private static final Kind IP = (p, a) -> a instanceof String && cidr(p, (String) a);
    private static final Kind PORT = (p, a) -> a instanceof Integer && (Integer) a >= 0 && Integer.parseInt(p) == (Integer) a;
    private static final Kind MULTI = (p, a) -> {
        if (a instanceof String) {
            return str(p, (String) a, false, false);
        }
        if (a instanceof List<?> l) {
            return l.stream().anyMatch(e -> e instanceof String && str(p, (String) e, false, false));
        }
        return false;
    };

    private static boolean str(String pattern, String value, boolean ignoreCase, boolean path) {
        if (ignoreCase) {
            pattern = pattern.toLowerCase(Locale.ROOT);
            value = value.toLowerCase(Locale.ROOT);
        }
        if (path && (pattern.contains("{*}") || pattern.contains("{**}"))) {
            StringBuilder regex = new StringBuilder();
            String rest = pattern;
            while (!rest.isEmpty()) {
                if (rest.startsWith("{**}")) {
                    regex.append(".*");
                    rest = rest.substring(4);
                } else if (rest.startsWith("{*}")) {
                    regex.append("[^/]+");
                    rest = rest.substring(3);
                } else {
                    regex.append(Pattern.quote(rest.substring(0, 1)));
                    rest = rest.substring(1);
                }
            }
            return Pattern.matches(regex.toString(), value);
        }
        if (pattern.equals("*")) {
            return true;
        }
        if (pattern.startsWith("*")) {
            return value.endsWith(pattern.substring(1));
        }
        if (pattern.endsWith("*")) {
            return value.startsWith(pattern.substring(0, pattern.length() - 1));
        }
        return value.equals(pattern);
    }

    private static boolean cidr(String block, String ip) {
        try {
            String[] parts = block.split("/");
            byte[] net = InetAddress.getByName(parts[0]).getAddress();
            byte[] addr = InetAddress.getByName(ip).getAddress();
            if (net.length != addr.length) {
                return false;
            }
            int bits = parts.length == 1 ? net.length * 8 : Integer.parseInt(parts[1]);
            int shift = net.length * 8 - bits;
            return new BigInteger(1, net).shiftRight(shift).equals(new BigInteger(1, addr).shiftRight(shift));
        } catch (java.net.UnknownHostException e) {
            throw new IllegalStateException(e);
        }
    }

    private static boolean sourceMatches(AuthorizationPolicy p, Source s, AuthzRequest r, boolean tcp) {
        String ns = p.metadata().namespace();
        List<String> sas = s.serviceAccounts().stream().map(v -> v.contains("/") ? v : ns + "/" + v).toList();
        List<String> notSas = s.notServiceAccounts().stream().map(v -> v.contains("/") ? v : ns + "/" + v).toList();
        return field(s.principals(), s.notPrincipals(), r.sourcePrincipal(), STRING, false)
                && field(s.requestPrincipals(), s.notRequestPrincipals(), r.requestPrincipal(), STRING, tcp)
                && field(s.namespaces(), s.notNamespaces(), r.sourceNamespace(), STRING, false)
                && field(sas, notSas, r.sourceServiceAccount(), STRING, false)
                && field(s.ipBlocks(), s.notIpBlocks(), r.sourceIp(), IP, false)
                && field(s.remoteIpBlocks(), s.notRemoteIpBlocks(), r.remoteIp(), IP, false);
    }

    private static boolean operationMatches(Operation o, AuthzRequest r, boolean tcp) {
        return field(o.hosts(), o.notHosts(), r.host(), HOST, tcp)
                && field(o.ports(), o.notPorts(), r.destinationPort(), PORT, false)
                && field(o.methods(), o.notMethods(), r.method(), STRING, tcp)
                && field(o.paths(), o.notPaths(), r.path(), PATH, tcp);
    }

    private static boolean conditionMatches(Condition c, AuthzRequest r, boolean tcp) {
        String key = c.key();
        if (tcp && httpOnlyKey(key)) {
            return true;
        }
        if (key.startsWith("request.headers[")) {
            String name = key.substring(16, key.length() - 1).toLowerCase(Locale.ROOT);
            return field(c.values(), c.notValues(), r.headers().get(name), STRING, false);
        }
        if (key.startsWith("request.auth.claims[")) {
            Object v = r.claims();
            for (String k : key.substring("request.auth.claims[".length(), key.length() - 1).split("\\]\\[")) {
                v = v instanceof Map<?, ?> m ? m.get(k) : null;
            }
            return field(c.values(), c.notValues(), v, MULTI, false);
        }
        return switch (key) {
            case "source.ip" -> field(c.values(), c.notValues(), r.sourceIp(), IP, false);
            case "remote.ip" -> field(c.values(), c.notValues(), r.remoteIp(), IP, false);
            case "destination.ip" -> field(c.values(), c.notValues(), r.destinationIp(), IP, false);
            case "destination.port" -> field(c.values(), c.notValues(), r.destinationPort(), PORT, false);
            case "source.namespace" -> field(c.values(), c.notValues(), r.sourceNamespace(), STRING, false);
            case "source.principal" -> field(c.values(), c.notValues(), r.sourcePrincipal(), STRING, false);
            case "connection.sni" -> field(c.values(), c.notValues(), r.sni(), STRING, false);
            case "request.auth.principal" -> field(c.values(), c.notValues(), r.requestPrincipal(), STRING, false);
            case "request.auth.presenter" -> field(c.values(), c.notValues(), r.presenter(), STRING, false);
            case "request.auth.audiences" -> field(c.values(), c.notValues(), r.audiences(), MULTI, false);
            default -> throw new IllegalArgumentException(key);
        };
    }
}
