package dev.keel.policy;

import java.util.Map;
import java.util.Objects;

/**
 * A policy with where it came from: the source, the document, and the position of each of its fields,
 * so that later checks (lint, catalog diffs) can point at a line. Immutable and thread-safe.
 */
public final class ParsedPolicy {

    /** A 1-based line and column; {@code 0:0} when unknown. */
    public record Position(int line, int column) {
        static final Position UNKNOWN = new Position(0, 0);
    }

    private final IstioPolicy policy;
    private final String sourceName;
    private final int documentIndex;
    private final Map<String, Position> positions;

    ParsedPolicy(IstioPolicy policy, String sourceName, int documentIndex, Map<String, Position> positions) {
        this.policy = Objects.requireNonNull(policy, "policy");
        this.sourceName = Objects.requireNonNull(sourceName, "sourceName");
        this.documentIndex = documentIndex;
        this.positions = Map.copyOf(positions);
    }

    public IstioPolicy policy() {
        return policy;
    }

    public String sourceName() {
        return sourceName;
    }

    /** The 0-based YAML document or JSON value. */
    public int documentIndex() {
        return documentIndex;
    }

    /** Where the object starts. */
    public Position position() {
        return positionOf("");
    }

    /**
     * Where a field is, by the path used in {@link PolicyError#fieldPath()} relative to the object
     * ({@code spec.rules[0].to[1].operation}); a field that is not written (a default) gets the position of
     * the nearest enclosing field that is.
     */
    public Position positionOf(String fieldPath) {
        Objects.requireNonNull(fieldPath, "fieldPath");
        String path = fieldPath;
        while (true) {
            Position p = positions.get(path);
            if (p != null) {
                return p;
            }
            if (path.isEmpty()) {
                return Position.UNKNOWN;
            }
            int cut = path.endsWith("\"]")
                    ? path.lastIndexOf("[\"")
                    : Math.max(path.lastIndexOf('.'), path.lastIndexOf('['));
            path = cut < 0 ? "" : path.substring(0, cut);
        }
    }

    @Override
    public String toString() {
        Position p = position();
        return sourceName + ":" + p.line() + ": " + policy.kind() + " " + policy.metadata().qualifiedName();
    }
}
