package dev.keel.policy.catalog;

import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * One ready-made policy of a {@link PolicyCatalog}. Immutable and thread-safe.
 *
 * @param id          how the CLI names it, e.g. {@code deny-all}
 * @param title       one line
 * @param explanation one paragraph: what it does, when to use it, the Istio semantics that matter
 * @param parameters  in the order to show them
 * @param template    the YAML with {@code ${parameter}} placeholders
 */
public record CatalogEntry(String id, String title, String explanation, List<CatalogParameter> parameters, String template) {

    public CatalogEntry {
        Objects.requireNonNull(id, "id");
        Objects.requireNonNull(title, "title");
        Objects.requireNonNull(explanation, "explanation");
        parameters = List.copyOf(parameters);
        Objects.requireNonNull(template, "template");
    }

    public Optional<CatalogParameter> parameter(String name) {
        return parameters.stream().filter(p -> p.name().equals(name)).findFirst();
    }
}
