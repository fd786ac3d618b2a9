package dev.keel.policy.internal;

/** A 1-based line and column in the source text; {@link #NONE} when there is no text. */
public record Loc(int line, int column) {
    public static final Loc NONE = new Loc(0, 0);
}
