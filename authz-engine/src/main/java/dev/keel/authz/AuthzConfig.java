package dev.keel.authz;

import java.util.Map;
import java.util.Objects;

/**
 * The mesh-wide settings the engine needs (Istio's MeshConfig): the root namespace whose policies apply
 * to every workload ({@code rootNamespace}, default {@value #DEFAULT_ROOT_NAMESPACE}), the path
 * normalization applied before matching ({@code pathNormalization}, default {@link PathNormalization#BASE}),
 * and the extension providers CUSTOM policies name ({@code extensionProviders}, by name). Immutable
 * and thread-safe; the authorizers must be thread-safe too.
 */
public record AuthzConfig(String rootNamespace, PathNormalization pathNormalization,
        Map<String, ExternalAuthorizer> extensionProviders) {

    /** Istio's default root namespace. */
    public static final String DEFAULT_ROOT_NAMESPACE = "istio-system";

    public AuthzConfig {
        Objects.requireNonNull(rootNamespace, "rootNamespace");
        Objects.requireNonNull(pathNormalization, "pathNormalization");
        extensionProviders = Map.copyOf(Objects.requireNonNull(extensionProviders, "extensionProviders"));
    }

    /** Root namespace {@value #DEFAULT_ROOT_NAMESPACE}, BASE normalization, no extension provider. */
    public static AuthzConfig defaults() {
        return new AuthzConfig(DEFAULT_ROOT_NAMESPACE, PathNormalization.BASE, Map.of());
    }

    public AuthzConfig withRootNamespace(String namespace) {
        return new AuthzConfig(namespace, pathNormalization, extensionProviders);
    }

    public AuthzConfig withPathNormalization(PathNormalization normalization) {
        return new AuthzConfig(rootNamespace, normalization, extensionProviders);
    }

    public AuthzConfig withExtensionProvider(String name, ExternalAuthorizer authorizer) {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(authorizer, "authorizer");
        java.util.Map<String, ExternalAuthorizer> copy = new java.util.HashMap<>(extensionProviders);
        copy.put(name, authorizer);
        return new AuthzConfig(rootNamespace, pathNormalization, copy);
    }
}
