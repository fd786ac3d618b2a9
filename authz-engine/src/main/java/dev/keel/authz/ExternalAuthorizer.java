package dev.keel.authz;

/**
 * The extension provider a CUSTOM policy delegates to (Istio's {@code extensionProviders}). Called only
 * for requests that match a CUSTOM rule, before DENY and ALLOW are evaluated. Implementations must be
 * thread-safe and bound their own latency (a timeout); the call blocks, so the proxy calls the engine
 * from a worker, never from an event loop, when CUSTOM policies apply.
 */
public interface ExternalAuthorizer {

    /** The provider's answer. */
    enum Result {
        /** Continue with DENY and ALLOW policies. */
        ALLOW,
        /** Deny the request. */
        DENY,
        /** The provider could not answer; the engine denies (fail closed). */
        ERROR
    }

    /** Asks the provider; never throws (an exception counts as {@link Result#ERROR}). */
    Result check(AuthzRequest request);
}
