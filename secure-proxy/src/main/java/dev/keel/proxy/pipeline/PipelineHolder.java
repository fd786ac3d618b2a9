package dev.keel.proxy.pipeline;

import dev.keel.jwt.JwksCache;
import dev.keel.policy.source.PolicySet;
import dev.keel.policy.source.PolicySource;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicReference;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The pipeline in force, swapped atomically when the policies change. A policy set that does not
 * compile is refused whole and the last good pipeline stays in force ({@link #errors()} says why).
 * Requests read {@link #current()} once and use that pipeline to the end, so a swap never mixes two
 * policy versions in one request. Thread-safe.
 */
public final class PipelineHolder implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(PipelineHolder.class);

    private final AtomicReference<Pipeline> current;
    private final PipelineSettings settings;
    private final JwksCache jwks;
    private volatile List<String> errors = List.of();
    private volatile PolicySource.Registration registration;

    private PipelineHolder(Pipeline initial, PipelineSettings settings, JwksCache jwks) {
        this.current = new AtomicReference<>(initial);
        this.settings = settings;
        this.jwks = jwks;
    }

    /** A holder that starts with {@code initial} and changes only through {@link #apply}. */
    public static PipelineHolder of(Pipeline initial, PipelineSettings settings, JwksCache jwks) {
        return new PipelineHolder(Objects.requireNonNull(initial, "initial"), Objects.requireNonNull(settings, "settings"),
                Objects.requireNonNull(jwks, "jwks"));
    }

    /** A holder with no policies at all: nothing selects the workload, every request is allowed by authorization. */
    public static PipelineHolder withoutPolicies(PipelineSettings settings, JwksCache jwks) {
        Pipeline.Compiled empty = Pipeline.compile(0, List.of(), settings, jwks);
        return of(empty.pipeline(), settings, jwks);
    }

    /**
     * A holder that follows {@code source}: compiled from its current set now (fail closed until one is
     * loaded), then from every set it publishes. {@link #close()} stops following; the source stays open.
     */
    public static PipelineHolder following(PolicySource source, PipelineSettings settings, JwksCache jwks) {
        Objects.requireNonNull(source, "source");
        PipelineHolder holder = of(Pipeline.notLoaded(settings), settings, jwks);
        holder.registration = source.onChange(holder::apply);
        holder.apply(source.current());
        return holder;
    }

    /** The pipeline in force. */
    public Pipeline current() {
        return current.get();
    }

    /** Why the last refused set was refused; empty after a good one. */
    public List<String> errors() {
        return errors;
    }

    /** Compiles {@code set} and puts it in force if it compiles and is newer; true when it did. */
    public boolean apply(PolicySet set) {
        if (!set.isLoaded()) {
            return false;
        }
        synchronized (this) {
            Pipeline inForce = current.get();
            if (inForce.isLoaded() && set.version() <= inForce.version()) {
                return false;
            }
            Pipeline.Compiled compiled = Pipeline.compile(set.version(), set.policies(), settings, jwks);
            if (!compiled.isOk()) {
                errors = compiled.errors();
                LOG.warn("refused policy version {}; version {} stays in force: {}", set.version(), inForce.version(),
                        compiled.errors());
                return false;
            }
            errors = List.of();
            current.set(compiled.pipeline());
            LOG.info("policy version {} in force: {}", set.version(), compiled.pipeline());
            return true;
        }
    }

    @Override
    public void close() {
        PolicySource.Registration r = registration;
        if (r != null) {
            r.close();
        }
    }
}
