package dev.keel.policy.source;

import dev.keel.policy.IstioPolicy;
import dev.keel.policy.ParsedPolicy;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;

/**
 * One complete, consistent snapshot of the policies a {@link PolicySource} enforces: the policies, a version
 * that grows by one with every new snapshot, and where each policy came from ({@link ParsedPolicy#sourceName()}
 * and position). A snapshot is never partial: a source publishes a new one only when it is whole.
 *
 * <p>{@link #notLoaded()} (version 0) is what a source holds before its first good load. It is not "no
 * policies": for authorization, no policies means allow, so a consumer must fail closed (refuse requests)
 * while {@link #isLoaded()} is false. Immutable and thread-safe.
 */
public final class PolicySet {

    private static final PolicySet NOT_LOADED = new PolicySet(0, List.of());

    private final long version;
    private final List<ParsedPolicy> parsedPolicies;

    private PolicySet(long version, List<ParsedPolicy> parsedPolicies) {
        this.version = version;
        this.parsedPolicies = List.copyOf(parsedPolicies);
    }

    /** The snapshot of a source that has not loaded yet; consumers must fail closed on it. */
    public static PolicySet notLoaded() {
        return NOT_LOADED;
    }

    /**
     * A loaded snapshot.
     *
     * @param version > 0, larger than the version of the snapshot it replaces
     */
    public static PolicySet of(long version, List<ParsedPolicy> policies) {
        Objects.requireNonNull(policies, "policies");
        if (version <= 0) {
            throw new IllegalArgumentException("version: " + version + " (expected: > 0; 0 is notLoaded())");
        }
        return new PolicySet(version, policies);
    }

    /** False only for {@link #notLoaded()}. */
    public boolean isLoaded() {
        return version > 0;
    }

    /** 0 before the first load, then 1, 2, ... for each snapshot the source publishes. */
    public long version() {
        return version;
    }

    /** The policies with where they came from, in a stable order (by source, then position). */
    public List<ParsedPolicy> parsedPolicies() {
        return parsedPolicies;
    }

    public List<IstioPolicy> policies() {
        return parsedPolicies.stream().map(ParsedPolicy::policy).collect(Collectors.toUnmodifiableList());
    }

    public <T extends IstioPolicy> List<T> policies(Class<T> type) {
        Objects.requireNonNull(type, "type");
        return parsedPolicies.stream().map(ParsedPolicy::policy).filter(type::isInstance).map(type::cast)
                .collect(Collectors.toUnmodifiableList());
    }

    /** The names of the sources (files, Kubernetes objects) the policies came from, sorted. */
    public Set<String> sources() {
        return parsedPolicies.stream().map(ParsedPolicy::sourceName)
                .collect(Collectors.collectingAndThen(Collectors.toCollection(TreeSet::new), java.util.Collections::unmodifiableSet));
    }

    public int size() {
        return parsedPolicies.size();
    }

    @Override
    public String toString() {
        return isLoaded() ? "PolicySet[version " + version + ", " + parsedPolicies.size() + " policies]" : "PolicySet[not loaded]";
    }
}
