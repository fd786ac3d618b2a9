package dev.keel.policy.catalog;

import java.util.Locale;
import java.util.Objects;
import java.util.Optional;

/**
 * A parameter of a {@link CatalogEntry}. Immutable and thread-safe.
 *
 * @param defaultValue empty when the parameter is required
 */
public record CatalogParameter(String name, String description, Type type, Optional<String> defaultValue) {

    /** What a value must look like, and how it is written into the YAML. */
    public enum Type {
        /** A Kubernetes object name (DNS-1123 subdomain). */
        NAME,
        /** A Kubernetes namespace name (DNS-1123 label). */
        NAMESPACE,
        /** Any non-empty text on one line. */
        STRING,
        /** An {@code http} or {@code https} URL. */
        URL,
        /** Comma-separated, non-empty items. */
        LIST,
        /** Comma-separated {@code key=value} labels, possibly none. */
        LABELS;

        static Type of(String name) {
            return valueOf(name.toUpperCase(Locale.ROOT));
        }
    }

    public CatalogParameter {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(description, "description");
        Objects.requireNonNull(type, "type");
        Objects.requireNonNull(defaultValue, "defaultValue");
    }

    public boolean required() {
        return defaultValue.isEmpty();
    }
}
