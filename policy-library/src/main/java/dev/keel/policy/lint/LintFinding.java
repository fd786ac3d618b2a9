package dev.keel.policy.lint;

import java.util.Locale;
import java.util.Objects;

/**
 * One thing the linter found, located like a compiler message. Immutable and thread-safe.
 *
 * @param source    the file (or other source name) of the policy
 * @param line      1-based; 0 when unknown
 * @param fieldPath as in {@link dev.keel.policy.PolicyError#fieldPath()}, e.g. {@code spec.rules[0].to[0].operation.methods};
 *                  empty for the file as a whole
 * @param message   what and why, with the Istio documentation to read
 */
public record LintFinding(Severity severity, String source, int line, String fieldPath, LintCode code, String message) {

    /** ERROR: Istio would refuse the policy. WARNING: accepted, but probably not what was meant. */
    public enum Severity {
        ERROR, WARNING;

        @Override
        public String toString() {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    public LintFinding {
        Objects.requireNonNull(severity, "severity");
        Objects.requireNonNull(source, "source");
        Objects.requireNonNull(fieldPath, "fieldPath");
        Objects.requireNonNull(code, "code");
        Objects.requireNonNull(message, "message");
    }

    /** {@code file:line: severity CODE field: message}. */
    @Override
    public String toString() {
        StringBuilder b = new StringBuilder(source);
        if (line > 0) {
            b.append(':').append(line);
        }
        b.append(": ").append(severity).append(' ').append(code.code()).append(' ');
        if (!fieldPath.isEmpty()) {
            b.append(fieldPath).append(": ");
        }
        return b.append(message).toString();
    }
}
