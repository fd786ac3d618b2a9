package dev.keel.authz;

/**
 * The full outcome of one evaluation, for access logs and metrics: the enforced decision and what was
 * only reported (the first matching AUDIT rule, the dry-run results, the CUSTOM provider's answer).
 * Reusable: {@link DecisionProgram#decide(AuthzRequest, DecisionReport)} overwrites every field, so a
 * proxy can keep one per worker thread and evaluate without allocating. Not thread-safe.
 */
public final class DecisionReport {

    private Decision decision;
    private Decision audit;
    private Decision dryRunDeny;
    private Decision dryRunAllow;
    private Decision custom;

    public DecisionReport() {
    }

    void reset() {
        decision = null;
        audit = null;
        dryRunDeny = null;
        dryRunAllow = null;
        custom = null;
    }

    void set(Decision decision, Decision audit, Decision dryRunDeny, Decision dryRunAllow, Decision custom) {
        this.decision = decision;
        this.audit = audit;
        this.dryRunDeny = dryRunDeny;
        this.dryRunAllow = dryRunAllow;
        this.custom = custom;
    }

    /** The enforced decision. */
    public Decision decision() {
        return decision;
    }

    /** The first AUDIT rule that matched (Istio marks the request for audit logging), or null. */
    public Decision audit() {
        return audit;
    }

    /**
     * What the dry-run DENY policies would do: the first that matched (a deny), or null when none
     * matched or there are none.
     */
    public Decision dryRunDeny() {
        return dryRunDeny;
    }

    /**
     * What the dry-run ALLOW policies would do, evaluated on their own as Istio's shadow ALLOW engine does:
     * the first that matched (an allow), {@link Decision.Reason#NO_ALLOW_POLICY_MATCHED} when none
     * matched, or null when there are no dry-run ALLOW policies.
     */
    public Decision dryRunAllow() {
        return dryRunAllow;
    }

    /**
     * The CUSTOM rule that sent the request to the extension provider, with the provider's answer in its
     * reason ({@link Decision.Reason#CUSTOM_DENIED}, {@link Decision.Reason#CUSTOM_ERROR}, or allowed);
     * null when no CUSTOM rule matched.
     */
    public Decision custom() {
        return custom;
    }

    @Override
    public String toString() {
        return "DecisionReport[" + decision + (audit != null ? "; audit: " + audit : "")
                + (dryRunDeny != null ? "; dry-run deny: " + dryRunDeny : "")
                + (dryRunAllow != null ? "; dry-run allow: " + dryRunAllow : "")
                + (custom != null ? "; custom: " + custom : "") + "]";
    }
}
