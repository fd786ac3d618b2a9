package dev.keel.policy.catalog;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import dev.keel.policy.ParseResult;
import dev.keel.policy.PolicyParser;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.stream.Collectors;

/**
 * Ready-made policies, each with a paragraph on what it does, when to use it and the Istio semantics that
 * matter, and parameters with defaults. {@link #instantiate} fills an entry's template in and returns YAML
 * that {@link PolicyParser} reads without error; bad or missing parameters are refused with a message
 * naming the parameter. The built-in entries ({@link #builtIn()}) live as resources under
 * {@code dev/keel/policy/catalog/}. Immutable and thread-safe.
 */
public final class PolicyCatalog {

    private static final String RESOURCES = "/dev/keel/policy/catalog/";
    private static volatile PolicyCatalog builtIn;

    private final List<CatalogEntry> entries;

    private PolicyCatalog(List<CatalogEntry> entries) {
        this.entries = List.copyOf(entries);
    }

    /** Keel's catalog: deny-all, allow-same-namespace, strict-mtls, require-jwt, allow-health-checks, ... */
    public static PolicyCatalog builtIn() {
        PolicyCatalog catalog = builtIn;
        if (catalog == null) {
            catalog = load();
            builtIn = catalog;
        }
        return catalog;
    }

    /** In the order they are listed. */
    public List<CatalogEntry> entries() {
        return entries;
    }

    public Optional<CatalogEntry> entry(String id) {
        Objects.requireNonNull(id, "id");
        return entries.stream().filter(e -> e.id().equals(id)).findFirst();
    }

    /**
     * The entry {@code id}.
     *
     * @throws IllegalArgumentException when there is none; the message lists the entries
     */
    public CatalogEntry require(String id) {
        return entry(id).orElseThrow(() -> new IllegalArgumentException("no catalog entry \"" + id + "\""
                + Suggestions.didYouMean(id, ids()) + " (entries: " + String.join(", ", ids()) + ")"));
    }

    /**
     * The YAML of entry {@code id} with {@code parameters} (name to value; absent ones take their
     * defaults). The result parses without error.
     *
     * @throws IllegalArgumentException for an unknown entry or parameter, a missing required parameter, a
     *                                  value of the wrong form, or values that make a policy Istio refuses;
     *                                  the message says which and how to fix it
     */
    public String instantiate(String id, Map<String, String> parameters) {
        Objects.requireNonNull(parameters, "parameters");
        CatalogEntry entry = require(id);
        Map<String, String> values = Template.values(entry, parameters);
        String yaml = Template.render(entry, values);
        ParseResult result = PolicyParser.parse(entry.id() + ".yaml", yaml);
        if (!result.isOk()) {
            throw new IllegalArgumentException("the parameters of " + entry.id() + " make a policy Istio would refuse: "
                    + result.errors().stream().map(e -> (e.fieldPath().isEmpty() ? "" : e.fieldPath() + ": ") + e.message())
                    .collect(Collectors.joining("; ")));
        }
        return yaml;
    }

    private List<String> ids() {
        return entries.stream().map(CatalogEntry::id).collect(Collectors.toList());
    }

    // ------------------------------------------------------------------------------------------ loading

    private static PolicyCatalog load() {
        ObjectMapper yaml = new ObjectMapper(new YAMLFactory());
        JsonNode index;
        try {
            index = yaml.readTree(resource("catalog.yaml"));
        } catch (IOException e) {
            throw new UncheckedIOException("the built-in catalog index is unreadable", e);
        }
        List<CatalogEntry> entries = new ArrayList<>();
        for (JsonNode e : index) {
            List<CatalogParameter> parameters = new ArrayList<>();
            for (JsonNode p : e.path("parameters")) {
                JsonNode def = p.get("default");
                parameters.add(new CatalogParameter(p.path("name").asText(), p.path("description").asText(),
                        CatalogParameter.Type.of(p.path("type").asText()),
                        def == null || def.isNull() ? Optional.empty() : Optional.of(def.asText())));
            }
            entries.add(new CatalogEntry(e.path("id").asText(), e.path("title").asText(), e.path("explanation").asText(),
                    parameters, resource(e.path("template").asText())));
        }
        return new PolicyCatalog(entries);
    }

    private static String resource(String name) {
        try (InputStream in = PolicyCatalog.class.getResourceAsStream(RESOURCES + name)) {
            if (in == null) {
                throw new IllegalStateException("the built-in catalog resource " + RESOURCES + name + " is missing");
            }
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException("the built-in catalog resource " + name + " is unreadable", e);
        }
    }
}
