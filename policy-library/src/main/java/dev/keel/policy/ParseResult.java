package dev.keel.policy;

import java.util.List;
import java.util.Objects;
import java.util.stream.Collectors;

/**
 * What {@link PolicyParser} made of one file: every policy in it, or, if anything in the file is wrong,
 * every error and no policy at all. A file is taken whole or not at all, so that a bad update can never
 * half-replace a good set. Documents of other kinds are listed in {@link #skipped()} either way.
 * Immutable and thread-safe.
 */
public final class ParseResult {

    private final List<ParsedPolicy> parsed;
    private final List<PolicyError> errors;
    private final List<SkippedDocument> skipped;

    private ParseResult(List<ParsedPolicy> parsed, List<PolicyError> errors, List<SkippedDocument> skipped) {
        this.parsed = List.copyOf(parsed);
        this.errors = List.copyOf(errors);
        this.skipped = List.copyOf(skipped);
    }

    static ParseResult of(List<ParsedPolicy> parsed, List<PolicyError> errors, List<SkippedDocument> skipped) {
        Objects.requireNonNull(parsed, "parsed");
        Objects.requireNonNull(errors, "errors");
        Objects.requireNonNull(skipped, "skipped");
        return errors.isEmpty()
                ? new ParseResult(parsed, List.of(), skipped)
                : new ParseResult(List.of(), errors, skipped);
    }

    /** True when the file had no error. An ok result may hold no policy (an empty file). */
    public boolean isOk() {
        return errors.isEmpty();
    }

    /** The errors, in file order; empty when {@link #isOk()}. */
    public List<PolicyError> errors() {
        return errors;
    }

    /**
     * The policies in file order.
     *
     * @throws IllegalStateException when the file had errors: a refused file must not read as "no
     *                               policies", which for authorization means "allow"
     */
    public List<IstioPolicy> policies() {
        return parsedPolicies().stream().map(ParsedPolicy::policy).collect(Collectors.toUnmodifiableList());
    }

    /** The policies of one kind, in file order; throws like {@link #policies()}. */
    public <T extends IstioPolicy> List<T> policies(Class<T> type) {
        Objects.requireNonNull(type, "type");
        return policies().stream().filter(type::isInstance).map(type::cast).collect(Collectors.toUnmodifiableList());
    }

    /** The policies with their positions; throws like {@link #policies()}. */
    public List<ParsedPolicy> parsedPolicies() {
        if (!isOk()) {
            throw new IllegalStateException("the file was refused with " + errors.size() + " error(s), first: "
                    + errors.get(0));
        }
        return parsed;
    }

    /** Documents that are not security.istio.io objects, passed over. */
    public List<SkippedDocument> skipped() {
        return skipped;
    }

    @Override
    public String toString() {
        return isOk()
                ? "ParseResult[ok, " + parsed.size() + " policies, " + skipped.size() + " skipped]"
                : "ParseResult[" + errors.size() + " errors: " + errors + "]";
    }
}
