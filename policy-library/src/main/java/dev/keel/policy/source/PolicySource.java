package dev.keel.policy.source;

import dev.keel.policy.PolicyError;
import java.util.List;
import java.util.function.Consumer;

/**
 * Where the policies in force come from, kept current: a directory ({@link DirectoryPolicySource}) or
 * Kubernetes ({@link KubernetesPolicySource}). A bad update never replaces a good set; it is reported in
 * {@link #errors()} while the last good policies stay in force.
 *
 * <p>Thread-safe. {@link #current()} and {@link #errors()} never block. Listeners run on one thread
 * dedicated to the source, one call at a time, in version order, never twice with the same version; a
 * listener must not block for long, since the next snapshot waits for it (the source keeps loading
 * meanwhile and the listener then gets the latest snapshot, skipping any in between).
 */
public interface PolicySource extends AutoCloseable {

    /** The latest snapshot; {@link PolicySet#notLoaded()} until the first good load. */
    PolicySet current();

    /**
     * Why the latest attempt to load was refused (file, line, field path, message), or what is wrong with
     * objects kept at their last good version; empty when everything the source sees is in force.
     */
    List<PolicyError> errors();

    /**
     * Calls {@code listener} with every new snapshot; if one is loaded already, the listener first gets
     * the current one. Exceptions thrown by a listener are logged and do not affect others.
     *
     * @return closing it removes the listener
     */
    Registration onChange(Consumer<? super PolicySet> listener);

    /**
     * Stops watching and stops the listener thread. The last snapshot stays readable. Idempotent; safe to
     * call from a listener.
     */
    @Override
    void close();

    /** A listener registration; {@link #close()} removes the listener. Idempotent. */
    interface Registration extends AutoCloseable {
        @Override
        void close();
    }
}
