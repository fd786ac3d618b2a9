package dev.keel.policy;

import java.util.List;

/**
 * Istio's {@code Rule}: a request matches when it matches at least one source, at least one operation and
 * every condition; an empty list places no constraint, so a rule with all three empty matches every
 * request. Istio wraps each source in {@code from: [{source: ...}]} and each operation in
 * {@code to: [{operation: ...}]}; the wrappers carry nothing else, so the record holds the
 * {@link Source} and {@link Operation} values directly. Immutable and thread-safe.
 *
 * @param from {@code from[].source}
 * @param to   {@code to[].operation}
 * @param when {@code when}
 */
public record Rule(List<Source> from, List<Operation> to, List<Condition> when) {

    public Rule {
        from = Models.list(from, "from");
        to = Models.list(to, "to");
        when = Models.list(when, "when");
    }

    /** {@code {}}: the rule that matches every request. */
    public static Rule matchAll() {
        return new Rule(List.of(), List.of(), List.of());
    }
}
