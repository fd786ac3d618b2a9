package dev.keel.policy;

import java.util.Objects;

/**
 * One reason a policy file is refused, located: the source, the 1-based line and column (0 for a policy
 * built in code, which has no text), the 0-based YAML document ({@code ---}) or JSON value it is in, the
 * field path ({@code spec.rules[0].from[1].source.ipBlocks[2]}; map keys that are not plain identifiers
 * are quoted, {@code metadata.annotations["istio.io/dry-run"]}; empty for a problem with the text
 * itself), and a message whose text is stable. Immutable and thread-safe.
 */
public record PolicyError(String sourceName, int line, int column, int documentIndex, String fieldPath, String message) {

    public PolicyError {
        Objects.requireNonNull(sourceName, "sourceName");
        Objects.requireNonNull(fieldPath, "fieldPath");
        Objects.requireNonNull(message, "message");
    }

    /** {@code source:line:column: path: message}, the form compilers use. */
    @Override
    public String toString() {
        StringBuilder b = new StringBuilder(sourceName);
        if (line > 0) {
            b.append(':').append(line).append(':').append(column);
        }
        b.append(": ");
        if (!fieldPath.isEmpty()) {
            b.append(fieldPath).append(": ");
        }
        return b.append(message).toString();
    }
}
