package dev.keel.authz;

import dev.keel.policy.AuthorizationPolicy;
import java.util.Objects;

/**
 * The answer for one request, as a value: allowed or not, why ({@link Reason}), and the policy and rule
 * that decided, if one did. Decisions are created when a program is compiled and shared between
 * requests, so producing one costs nothing; the per-request detail (which source or condition failed)
 * is in {@link DecisionProgram#explain(AuthzRequest)}. Immutable and thread-safe.
 */
public final class Decision {

    /** Why a request was allowed or denied, in Istio's evaluation order. */
    public enum Reason {
        /** No policy set has been loaded yet: fail closed. */
        NOT_LOADED,
        /** A CUSTOM policy matched and its provider allowed; DENY and ALLOW policies decide next (reported only). */
        CUSTOM_ALLOWED,
        /** A CUSTOM policy matched and its extension provider denied the request. */
        CUSTOM_DENIED,
        /** A CUSTOM policy matched and its provider failed, timed out or is not configured: fail closed. */
        CUSTOM_ERROR,
        /** A DENY policy matched. */
        DENY_POLICY_MATCHED,
        /** No ALLOW policy applies to the workload, so the request is allowed. */
        NO_ALLOW_POLICY,
        /** An ALLOW policy matched. */
        ALLOW_POLICY_MATCHED,
        /** ALLOW policies apply to the workload and none matched. */
        NO_ALLOW_POLICY_MATCHED,
        /** An AUDIT policy matched (reported only, never the enforced decision). */
        AUDIT_POLICY_MATCHED,
        /** A dry-run policy matched (reported only, never the enforced decision). */
        DRY_RUN_POLICY_MATCHED;
    }

    static final Decision NOT_LOADED = new Decision(false, Reason.NOT_LOADED, null, null, null, -1, false,
            "no policy set loaded yet: denied (fail closed)");
    static final Decision NO_ALLOW_POLICY = new Decision(true, Reason.NO_ALLOW_POLICY, null, null, null, -1, false,
            "no ALLOW policy applies to the workload: allowed");
    static final Decision NO_ALLOW_POLICY_MATCHED = new Decision(false, Reason.NO_ALLOW_POLICY_MATCHED, null, null, null,
            -1, false, "ALLOW policies apply to the workload and none matched: denied");

    private final boolean allowed;
    private final Reason reason;
    private final AuthorizationPolicy.Action action;
    private final String policyNamespace;
    private final String policyName;
    private final int ruleIndex;
    private final boolean dryRun;
    private final String summary;

    Decision(boolean allowed, Reason reason, AuthorizationPolicy.Action action, String policyNamespace, String policyName,
            int ruleIndex, boolean dryRun, String summary) {
        this.allowed = allowed;
        this.reason = Objects.requireNonNull(reason, "reason");
        this.action = action;
        this.policyNamespace = policyNamespace;
        this.policyName = policyName;
        this.ruleIndex = ruleIndex;
        this.dryRun = dryRun;
        this.summary = Objects.requireNonNull(summary, "summary");
    }

    /** True when the request may proceed. For audit and dry-run reports: what the policy would do. */
    public boolean allowed() {
        return allowed;
    }

    public Reason reason() {
        return reason;
    }

    /** The action of the deciding policy, or null when no policy decided ({@link Reason#NO_ALLOW_POLICY}, ...). */
    public AuthorizationPolicy.Action action() {
        return action;
    }

    /** The deciding policy's namespace, or null. */
    public String policyNamespace() {
        return policyNamespace;
    }

    /** The deciding policy's name, or null. */
    public String policyName() {
        return policyName;
    }

    /** {@code namespace/name} of the deciding policy, or null. */
    public String policy() {
        return policyName == null ? null : policyNamespace + "/" + policyName;
    }

    /** The 0-based index in {@code spec.rules} of the rule that matched, or -1. */
    public int ruleIndex() {
        return ruleIndex;
    }

    /** True for the report of a dry-run policy. */
    public boolean dryRun() {
        return dryRun;
    }

    /** One line for logs and the CLI, e.g. {@code denied by DENY policy foo/deny-admin, spec.rules[0] matched}. */
    public String summary() {
        return summary;
    }

    @Override
    public String toString() {
        return summary;
    }
}
