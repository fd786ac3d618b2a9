package dev.keel.authz;

import java.util.List;
import java.util.Map;
import java.util.function.Function;

/**
 * One field of a source, operation or condition, compiled: a probe that tests the request (a hash
 * lookup, a trie walk, a few comparisons) and a negation for the {@code not*} forms and
 * {@code notValues}. The label names the field as in the policy ({@code from[0].source.principals}),
 * for explanations. Immutable; {@link #matches} allocates nothing.
 */
class Clause {

    interface Probe {
        boolean test(AuthzRequest request);
    }

    /** The string attributes most rules use, read through a switch instead of a megamorphic call. */
    enum Attr {
        SOURCE_PRINCIPAL, REQUEST_PRINCIPAL, SOURCE_NAMESPACE, SOURCE_SERVICE_ACCOUNT, HOST, METHOD, PATH, SNI, PRESENTER;

        String of(AuthzRequest r) {
            switch (this) {
                case SOURCE_PRINCIPAL:
                    return r.sourcePrincipal();
                case REQUEST_PRINCIPAL:
                    return r.requestPrincipal();
                case SOURCE_NAMESPACE:
                    return r.sourceNamespace();
                case SOURCE_SERVICE_ACCOUNT:
                    return r.sourceServiceAccount();
                case HOST:
                    return r.host();
                case METHOD:
                    return r.method();
                case PATH:
                    return r.path();
                case SNI:
                    return r.sni();
                default:
                    return r.presenter();
            }
        }
    }

    /** A string attribute against a {@link StringSet}. */
    static final class OfString extends Clause {
        private final Attr attr;
        private final StringSet set;

        OfString(String label, boolean negated, Attr attr, StringSet set, Object policyValues) {
            super(label, negated, null, attr::of, policyValues);
            this.attr = attr;
            this.set = set;
        }

        @Override
        boolean matches(AuthzRequest request) {
            return set.matches(attr.of(request)) != negated;
        }
    }

    private final String label;
    final boolean negated;
    private final Probe probe;
    private final Function<AuthzRequest, Object> actual;
    private final Object policyValues;

    Clause(String label, boolean negated, Probe probe, Function<AuthzRequest, Object> actual, Object policyValues) {
        this.label = label;
        this.negated = negated;
        this.probe = probe;
        this.actual = actual;
        this.policyValues = policyValues;
    }

    boolean matches(AuthzRequest request) {
        return probe.test(request) != negated;
    }

    String label() {
        return label;
    }

    /** Why this clause failed for the request (explanations only; allocates). */
    String failure(AuthzRequest request) {
        Object value = actual.apply(request);
        String shown = value == null ? "absent" : "\"" + value + "\"";
        return label + (negated ? " excluded " : " did not match ") + "(request: " + shown + "; policy: " + policyValues
                + ")";
    }

    // ---- probes shared by the compiler and the tests' reference interpreter ----

    /** A claim by path; strings match directly, lists when any string element matches. */
    static boolean claimMatches(Map<String, Object> claims, String[] path, StringSet set) {
        Object v = claims;
        for (String key : path) {
            if (!(v instanceof Map)) {
                return false;
            }
            v = ((Map<?, ?>) v).get(key);
        }
        return valueMatches(v, set);
    }

    static Object claim(Map<String, Object> claims, String[] path) {
        Object v = claims;
        for (String key : path) {
            if (!(v instanceof Map)) {
                return null;
            }
            v = ((Map<?, ?>) v).get(key);
        }
        return v;
    }

    static boolean valueMatches(Object v, StringSet set) {
        if (v instanceof String) {
            return set.matches((String) v);
        }
        if (v instanceof List) {
            List<?> list = (List<?>) v;
            for (int i = 0; i < list.size(); i++) {
                Object e = list.get(i);
                if (e instanceof String && set.matches((String) e)) {
                    return true;
                }
            }
        }
        return false;
    }

    static boolean anyMatches(List<String> values, StringSet set) {
        for (int i = 0; i < values.size(); i++) {
            if (set.matches(values.get(i))) {
                return true;
            }
        }
        return false;
    }

    static boolean portIn(int port, int[] ports) {
        if (port < 0) {
            return false;
        }
        for (int p : ports) {
            if (p == port) {
                return true;
            }
        }
        return false;
    }
}
