package dev.keel.policy;

/**
 * One {@code security.istio.io} object: an {@link AuthorizationPolicy}, a {@link RequestAuthentication}
 * or a {@link PeerAuthentication}. Immutable and thread-safe.
 */
public sealed interface IstioPolicy permits AuthorizationPolicy, RequestAuthentication, PeerAuthentication {

    /** The version it was written in; both versions mean the same. */
    ApiVersion apiVersion();

    /** Name, namespace (never empty: the parser fills in the default), labels and annotations. */
    PolicyMetadata metadata();

    PolicyKind kind();
}
