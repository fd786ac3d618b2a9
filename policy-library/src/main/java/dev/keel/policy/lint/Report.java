package dev.keel.policy.lint;

import dev.keel.policy.ParsedPolicy;
import java.util.ArrayList;
import java.util.List;

/** Collects findings, locating each by the policy's field positions. Not thread-safe; one per lint. */
final class Report {

    private final List<LintFinding> findings = new ArrayList<>();

    void add(ParsedPolicy policy, String fieldPath, LintCode code, String message, String reference) {
        findings.add(new LintFinding(code.severity(), policy.sourceName(), policy.positionOf(fieldPath).line(), fieldPath,
                code, message + " (see " + reference + ")"));
    }

    List<LintFinding> findings() {
        return findings;
    }

    static String quote(String s) {
        return "\"" + s.replace("\\", "\\\\").replace("\"", "\\\"") + "\"";
    }

    static String quoteAll(List<String> values) {
        List<String> quoted = new ArrayList<>();
        values.forEach(v -> quoted.add(quote(v)));
        return String.join(", ", quoted);
    }

    static String where(ParsedPolicy p, String fieldPath) {
        int line = p.positionOf(fieldPath).line();
        return p.sourceName() + (line > 0 ? ":" + line : "");
    }
}
