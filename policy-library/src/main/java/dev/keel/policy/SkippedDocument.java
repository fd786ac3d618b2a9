package dev.keel.policy;

import java.util.Objects;

/**
 * A document the parser passed over because it is not a {@code security.istio.io} object, such as a
 * {@code v1 Service} or a {@code networking.istio.io VirtualService} kept in the same file. Skipping is
 * not an error; removed Istio security APIs ({@code rbac.istio.io}, {@code authentication.istio.io}) and
 * unknown {@code security.istio.io} kinds are errors instead. Immutable and thread-safe.
 *
 * @param name {@code metadata.name} when it is a string, otherwise empty
 */
public record SkippedDocument(String sourceName, int line, int documentIndex, String apiVersion, String kind, String name) {

    public SkippedDocument {
        Objects.requireNonNull(sourceName, "sourceName");
        Objects.requireNonNull(apiVersion, "apiVersion");
        Objects.requireNonNull(kind, "kind");
        Objects.requireNonNull(name, "name");
    }

    @Override
    public String toString() {
        return sourceName + ":" + line + ": skipped " + apiVersion + " " + kind
                + (name.isEmpty() ? "" : " \"" + name + "\"") + " (not a security.istio.io policy)";
    }
}
