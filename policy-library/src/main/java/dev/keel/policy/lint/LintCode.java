package dev.keel.policy.lint;

/**
 * What a {@link LintFinding} is about. The codes are stable: scripts and suppressions may rely on them.
 * Each names the Istio documentation that explains the behaviour.
 */
public enum LintCode {
    /** The file is refused: the parser's or validator's located error, or a policy defined twice. */
    INVALID("KEEL-E001", LintFinding.Severity.ERROR, "Istio would refuse this policy"),
    /** A value, source, operation, condition or rule that no request can match. */
    NEVER_MATCHES("KEEL-L001", LintFinding.Severity.WARNING, "can never match"),
    /** An ALLOW rule whose every request a DENY rule for the same workloads denies first. */
    SHADOWED_BY_DENY("KEEL-L002", LintFinding.Severity.WARNING, "shadowed by a broader DENY rule"),
    /** HTTP-only fields on a port served as plain TCP. */
    HTTP_FIELDS_ON_TCP("KEEL-L003", LintFinding.Severity.WARNING, "HTTP-only fields on a TCP port"),
    /** A PeerAuthentication that accepts plaintext (PERMISSIVE, DISABLE, or UNSET mesh-wide). */
    PERMISSIVE_MTLS("KEEL-L004", LintFinding.Severity.WARNING, "mutual TLS not required"),
    /** PeerAuthentications, but none mesh-wide, so the mesh default PERMISSIVE applies elsewhere. */
    NO_MESH_WIDE_STRICT("KEEL-L005", LintFinding.Severity.WARNING, "no mesh-wide STRICT mutual TLS"),
    /** An ALLOW rule that matches every request, which makes the workload's other ALLOW policies moot. */
    ALLOWS_EVERYTHING("KEEL-L006", LintFinding.Severity.WARNING, "ALLOW policy allows everything"),
    /** A principal in a trust domain other than the mesh's. */
    FOREIGN_TRUST_DOMAIN("KEEL-L007", LintFinding.Severity.WARNING, "principal outside the trust domain");

    private final String code;
    private final LintFinding.Severity severity;
    private final String summary;

    LintCode(String code, LintFinding.Severity severity, String summary) {
        this.code = code;
        this.severity = severity;
        this.summary = summary;
    }

    /** {@code KEEL-L001}, ... */
    public String code() {
        return code;
    }

    public LintFinding.Severity severity() {
        return severity;
    }

    public String summary() {
        return summary;
    }

    @Override
    public String toString() {
        return code;
    }
}
