package dev.keel.policy.internal;

import java.util.List;
import java.util.Map;

/**
 * A YAML or JSON value with its position. {@link #weight()} counts the nodes the value expands to, aliases
 * included, so that an alias bomb is refused before anything walks it.
 */
sealed interface Node permits Node.Mapping, Node.Sequence, Node.Scalar {

    Loc loc();

    long weight();

    /** "a string", "a list", ... for messages. */
    String describe();

    /** A mapping entry: the key, where the key is, and the value. */
    record Field(String key, Loc keyLoc, Node value) {
    }

    /** Entries in file order; a repeated key keeps its first value, the repeats are in {@code duplicates}. */
    record Mapping(Loc loc, Map<String, Field> fields, List<Field> duplicates, long weight) implements Node {
        @Override
        public String describe() {
            return "a mapping";
        }
    }

    record Sequence(Loc loc, List<Node> items, long weight) implements Node {
        @Override
        public String describe() {
            return "a list";
        }
    }

    enum ScalarType {
        STRING("a string"), NUMBER("a number"), TRUE("a boolean"), FALSE("a boolean"), NULL("null"), OTHER("a binary value");

        final String description;

        ScalarType(String description) {
            this.description = description;
        }
    }

    /** A scalar; {@code text} is as written (for numbers and booleans too). */
    record Scalar(Loc loc, ScalarType type, String text) implements Node {
        @Override
        public long weight() {
            return 1;
        }

        @Override
        public String describe() {
            return type.description;
        }
    }
}
