package dev.keel.proxy.inbound;

/**
 * What a protocol adapter hands each whole request to: the filter pipeline (path normalization,
 * authentication, authorization, the app) in {@link RequestFlow}; a fake in the adapters' tests. The
 * implementation answers through {@code out} exactly once and releases the request's body. Event loop
 * only.
 */
interface RequestStages {

    void handle(InboundRequest request, ResponseWriter out);
}
