package dev.keel.proxy;

import java.util.Optional;
import java.util.function.Consumer;

/**
 * Where the proxy's SVID and bundles come from: the node agent's Workload API in production, a
 * fixed value in tests. Thread-safe.
 */
public interface IdentitySource {

    /** The latest material; empty until the first one arrived. */
    Optional<X509Material> current();

    /** Calls {@code listener} with every new material until the handle is closed; must not block. */
    AutoCloseable subscribe(Consumer<X509Material> listener);
}
