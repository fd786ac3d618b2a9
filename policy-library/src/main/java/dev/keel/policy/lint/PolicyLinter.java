package dev.keel.policy.lint;

import dev.keel.policy.AuthorizationPolicy;
import dev.keel.policy.ParseResult;
import dev.keel.policy.ParsedPolicy;
import dev.keel.policy.PeerAuthentication;
import dev.keel.policy.PolicyError;
import dev.keel.policy.source.PolicyFiles;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Objects;
import java.util.stream.Collectors;

/**
 * Finds what Istio accepts but probably does not do what was meant, with a stable code per kind of
 * finding ({@link LintCode}): rules that can never match, ALLOW rules shadowed by a broader DENY,
 * HTTP-only fields on TCP ports, PERMISSIVE mutual TLS, ALLOW policies that allow everything, principals
 * outside the trust domain. Every check is conservative: it reports only what is certain from the
 * policies given, so ordinary policies produce no finding. {@link #lint(PolicyFiles.Result, LintOptions)}
 * adds the parser's errors ({@link LintCode#INVALID}). Stateless and thread-safe.
 */
public final class PolicyLinter {

    private static final Comparator<LintFinding> ORDER = Comparator.comparing(LintFinding::source)
            .thenComparingInt(LintFinding::line).thenComparing(LintFinding::fieldPath).thenComparing(LintFinding::code);

    private PolicyLinter() {
    }

    /** The warnings about {@code policies}, considered together, ordered by source and line. */
    public static List<LintFinding> lint(List<ParsedPolicy> policies, LintOptions options) {
        Objects.requireNonNull(policies, "policies");
        Objects.requireNonNull(options, "options");
        Report report = new Report();
        List<ParsedPolicy> authorizationPolicies = new ArrayList<>();
        List<ParsedPolicy> peerAuthentications = new ArrayList<>();
        for (ParsedPolicy parsed : policies) {
            if (parsed.policy() instanceof AuthorizationPolicy) {
                AuthorizationPolicy ap = (AuthorizationPolicy) parsed.policy();
                authorizationPolicies.add(parsed);
                NeverMatches.check(parsed, ap, report);
                RuleChecks.check(parsed, ap, options, report);
            } else if (parsed.policy() instanceof PeerAuthentication) {
                peerAuthentications.add(parsed);
            }
        }
        Shadowing.check(authorizationPolicies, options, report);
        peerAuthentications.sort(Comparator.comparing(ParsedPolicy::sourceName).thenComparingInt(p -> p.position().line()));
        MtlsChecks.check(peerAuthentications, options, report);
        return report.findings().stream().sorted(ORDER).collect(Collectors.toUnmodifiableList());
    }

    /**
     * The errors of what was read, then the warnings about the files that were read without error. Since
     * a refused file's policies are missing, warnings that depend on other policies (shadowing, mesh-wide
     * mTLS) may differ once it is fixed.
     */
    public static List<LintFinding> lint(PolicyFiles.Result files, LintOptions options) {
        Objects.requireNonNull(files, "files");
        List<ParsedPolicy> good = new ArrayList<>();
        for (ParseResult r : files.files().values()) {
            if (r.isOk()) {
                good.addAll(r.parsedPolicies());
            }
        }
        List<LintFinding> findings = new ArrayList<>(errors(files.errors()));
        findings.addAll(lint(good, options));
        findings.sort(ORDER);
        return List.copyOf(findings);
    }

    /** Parser errors as findings of {@link LintCode#INVALID}. */
    public static List<LintFinding> errors(List<PolicyError> errors) {
        return errors.stream()
                .map(e -> new LintFinding(LintFinding.Severity.ERROR, e.sourceName(), e.line(), e.fieldPath(),
                        LintCode.INVALID, e.message()))
                .collect(Collectors.toUnmodifiableList());
    }
}
