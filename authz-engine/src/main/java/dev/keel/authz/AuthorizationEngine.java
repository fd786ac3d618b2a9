package dev.keel.authz;

import dev.keel.policy.AuthorizationPolicy;
import dev.keel.policy.ParsedPolicy;
import dev.keel.policy.PolicyError;
import dev.keel.policy.PolicyValidator;
import dev.keel.policy.source.PolicySet;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The authorization engine of one workload's proxy: holds the current {@link DecisionProgram} and swaps
 * it atomically when a new {@link PolicySet} arrives. A set that is not loaded, or has a policy that
 * fails Istio's validation or cannot be compiled, is refused and the last good program stays in force;
 * until a first good set arrives every request is denied (fail closed).
 *
 * <p>Thread-safe: {@link #decide} may run on any number of threads while {@link #update} runs.
 */
public final class AuthorizationEngine {

    private static final Logger LOG = LoggerFactory.getLogger(AuthorizationEngine.class);

    /** The outcome of an update: accepted, or refused with the reasons. */
    public record UpdateResult(boolean accepted, long version, List<String> errors) {
        public UpdateResult {
            errors = List.copyOf(errors);
        }
    }

    private final Workload workload;
    private final AuthzConfig config;
    /** The program and its version, published together. */
    private record State(DecisionProgram program, long version) {
    }

    private volatile State state;

    public AuthorizationEngine(Workload workload, AuthzConfig config) {
        this.workload = Objects.requireNonNull(workload, "workload");
        this.config = Objects.requireNonNull(config, "config");
        this.state = new State(DecisionProgram.notLoaded(workload, config), 0);
    }

    /** Validates and compiles {@code set}; on success it replaces the current program. */
    public UpdateResult update(PolicySet set) {
        Objects.requireNonNull(set, "set");
        if (!set.isLoaded()) {
            return refuse(set.toString(), List.of("the policy set is not loaded"));
        }
        List<AuthorizationPolicy> policies = new ArrayList<>();
        List<String> sources = new ArrayList<>();
        for (ParsedPolicy parsed : set.parsedPolicies()) {
            if (parsed.policy() instanceof AuthorizationPolicy ap) {
                policies.add(ap);
                sources.add(parsed.sourceName());
            }
        }
        return update(set.version(), policies, sources);
    }

    /**
     * Validates and compiles policies built in code (or taken from elsewhere) as version {@code version};
     * on success they replace the current program.
     *
     * @param version larger than the version in force
     */
    public UpdateResult update(long version, List<AuthorizationPolicy> policies) {
        Objects.requireNonNull(policies, "policies");
        return update(version, policies, java.util.Collections.nCopies(policies.size(), "<code>"));
    }

    private synchronized UpdateResult update(long newVersion, List<AuthorizationPolicy> policies, List<String> sources) {
        List<String> errors = new ArrayList<>();
        long version = state.version();
        if (newVersion <= version) {
            errors.add("version " + newVersion + " is not newer than the current version " + version);
        }
        for (int i = 0; i < policies.size(); i++) {
            AuthorizationPolicy ap = policies.get(i);
            for (PolicyError e : PolicyValidator.validate(ap)) {
                errors.add(sources.get(i) + ": " + ap.metadata().qualifiedName() + ": " + e.fieldPath() + ": "
                        + e.message());
            }
        }
        DecisionProgram compiled = null;
        if (errors.isEmpty()) {
            try {
                compiled = DecisionProgram.compile(policies, workload, config);
            } catch (IllegalArgumentException e) {
                errors.add(e.getMessage());
            }
        }
        if (!errors.isEmpty()) {
            return refuse("version " + newVersion, errors);
        }
        state = new State(compiled, newVersion);
        LOG.info("policy set version {} in force for {}: {}", newVersion, workload, compiled);
        return new UpdateResult(true, newVersion, List.of());
    }

    private UpdateResult refuse(String what, List<String> errors) {
        long version = state.version();
        LOG.warn("refused policy set {} for {}; keeping version {}: {}", what, workload, version, errors);
        return new UpdateResult(false, version, errors);
    }

    /** The program in force; a caller that decides many times may hold it for a batch. */
    public DecisionProgram program() {
        return state.program();
    }

    /** The version of the set in force, 0 before the first good one. */
    public long version() {
        return state.version();
    }

    public Decision decide(AuthzRequest request) {
        return state.program().decide(request);
    }

    public Decision decide(AuthzRequest request, DecisionReport report) {
        return state.program().decide(request, report);
    }

    public Explanation explain(AuthzRequest request) {
        return state.program().explain(request);
    }
}
