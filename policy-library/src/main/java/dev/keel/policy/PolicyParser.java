package dev.keel.policy;

import dev.keel.policy.internal.Loc;
import dev.keel.policy.internal.Names;
import dev.keel.policy.internal.PolicyFileReader;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.stream.Collectors;

/**
 * Reads Istio security policies from YAML or JSON text, exactly as Istio would: the API server's schema
 * checks (unknown fields, types, enums, required fields, the CRD's limits and CEL rules) and istiod's
 * validation, plus Kubernetes' metadata rules. Never throws for bad input: the {@link ParseResult} holds
 * the policies or every error, each with line, column and field path.
 *
 * <p>Input: YAML with one or more documents separated by {@code ---}, or JSON (when the text starts
 * with '[', or with '{' followed by '"' or '}'), one or more concatenated values. Each document is a
 * {@code security.istio.io} object or a Kubernetes {@code v1 List} of objects. Documents of other API
 * groups (a Service, a VirtualService) are skipped and listed in {@link ParseResult#skipped()}; unknown
 * {@code security.istio.io} kinds and versions (such as {@code v1alpha1}) and the removed
 * {@code rbac.istio.io} and {@code authentication.istio.io} APIs are errors. YAML anchors and aliases are
 * expanded (with a bound); merge keys ({@code <<}) are not supported. Limits: {@value #MAX_TEXT_LENGTH} characters of text, 64
 * levels of nesting, 200,000 values per document after alias expansion; past 100 errors, reading stops
 * with a last "too many errors".
 *
 * <p>Stateless and thread-safe.
 */
public final class PolicyParser {

    /** The namespace of a policy without {@code metadata.namespace}, as with {@code kubectl apply}. */
    public static final String DEFAULT_NAMESPACE = "default";

    /** The longest text read; longer text is one error. */
    public static final int MAX_TEXT_LENGTH = 4 * 1024 * 1024;

    private PolicyParser() {
    }

    /** {@link #parse(String, String, String)} with namespace {@value #DEFAULT_NAMESPACE}. */
    public static ParseResult parse(String sourceName, String text) {
        return parse(sourceName, text, DEFAULT_NAMESPACE);
    }

    /**
     * Parses and validates every policy in {@code text}.
     *
     * @param sourceName       names the text in errors, e.g. a file path
     * @param defaultNamespace for policies without {@code metadata.namespace}
     * @throws IllegalArgumentException when {@code defaultNamespace} is not a Kubernetes namespace name
     */
    public static ParseResult parse(String sourceName, String text, String defaultNamespace) {
        Objects.requireNonNull(sourceName, "sourceName");
        Objects.requireNonNull(text, "text");
        Objects.requireNonNull(defaultNamespace, "defaultNamespace");
        if (!Names.isDns1123Label(defaultNamespace)) {
            throw new IllegalArgumentException("defaultNamespace: \"" + defaultNamespace
                    + "\" (expected: a Kubernetes namespace name, lower-case letters, digits and '-')");
        }
        PolicyFileReader.Outcome outcome = PolicyFileReader.read(sourceName, text, defaultNamespace);
        List<ParsedPolicy> parsed = outcome.items().stream()
                .map(item -> new ParsedPolicy(item.policy(), sourceName, item.documentIndex(),
                        positions(item.positions())))
                .collect(Collectors.toList());
        return ParseResult.of(parsed, outcome.errors(), outcome.skipped());
    }

    private static Map<String, ParsedPolicy.Position> positions(Map<String, Loc> locations) {
        Map<String, ParsedPolicy.Position> out = new HashMap<>();
        locations.forEach((path, loc) -> out.put(path, new ParsedPolicy.Position(loc.line(), loc.column())));
        return out;
    }
}
