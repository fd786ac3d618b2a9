package dev.keel.cli;

import dev.keel.policy.PolicyParser;
import dev.keel.policy.lint.LintFinding;
import dev.keel.policy.lint.LintOptions;
import dev.keel.policy.lint.PolicyLinter;
import dev.keel.policy.source.PolicyFiles;
import java.nio.file.Path;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.regex.Pattern;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code keel policy lint <path>}: the parser's errors and the linter's warnings for a directory (the same
 * files a directory source reads) or one file. Prints {@code file:line: severity CODE field: message}, or
 * JSON. Exit codes: 0 when nothing is refused (warnings allowed), 1 with {@code --strict} when there are
 * warnings, 2 when a file is refused or cannot be read.
 */
@Command(name = "lint", mixinStandardHelpOptions = true,
        description = {"Check policy files: errors Istio would refuse them for, and warnings for rules that can never"
                + " match, ALLOW rules shadowed by a broader DENY, HTTP-only fields on TCP ports, PERMISSIVE mTLS,"
                + " ALLOW policies that allow everything and principals outside the trust domain."},
        exitCodeListHeading = "Exit codes:%n",
        exitCodeList = {"0:no errors (warnings allowed unless --strict)", "1:warnings, with --strict",
                "2:a file is refused or cannot be read; or bad options"})
final class PolicyLintCommand implements Callable<Integer> {

    static final int WARNINGS = 1;
    static final int ERRORS = 2;
    private static final Pattern NAMESPACE = Pattern.compile("[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?");

    @Parameters(index = "0", paramLabel = "<path>", description = "a directory of *.yaml, *.yml and *.json files, or one file")
    Path path;

    @Option(names = "--trust-domain", paramLabel = "<td>", defaultValue = LintOptions.DEFAULT_TRUST_DOMAIN,
            description = "the mesh's trust domain (default: ${DEFAULT-VALUE})")
    String trustDomain;

    @Option(names = "--root-namespace", paramLabel = "<ns>", defaultValue = LintOptions.DEFAULT_ROOT_NAMESPACE,
            description = "Istio's root namespace (default: ${DEFAULT-VALUE})")
    String rootNamespace;

    @Option(names = "--tcp-port", paramLabel = "<port>", split = ",",
            description = "a port served as plain TCP, not HTTP; repeat or separate with commas")
    Set<Integer> tcpPorts = new LinkedHashSet<>();

    @Option(names = "--default-namespace", paramLabel = "<ns>", defaultValue = PolicyParser.DEFAULT_NAMESPACE,
            description = "for policies without metadata.namespace (default: ${DEFAULT-VALUE})")
    String defaultNamespace;

    @Option(names = "--output", paramLabel = "text|json", defaultValue = "text",
            description = "text (default) or json")
    String format;

    @Option(names = "--strict", description = "exit 1 when there are warnings")
    boolean strict;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() {
        LintOptions options;
        try {
            options = new LintOptions(trustDomain, rootNamespace, tcpPorts);
        } catch (IllegalArgumentException e) {
            throw new CommandLine.ParameterException(spec.commandLine(), e.getMessage());
        }
        if (!format.equals("text") && !format.equals("json")) {
            throw new CommandLine.ParameterException(spec.commandLine(), "--output: \"" + format
                    + "\" (expected: text or json)");
        }
        if (!NAMESPACE.matcher(defaultNamespace).matches()) {
            throw new CommandLine.ParameterException(spec.commandLine(), "--default-namespace: \"" + defaultNamespace
                    + "\" is not a Kubernetes namespace name");
        }
        PolicyFiles.Result files = PolicyFiles.read(path, defaultNamespace);
        List<LintFinding> findings = PolicyLinter.lint(files, options);
        long errors = findings.stream().filter(f -> f.severity() == LintFinding.Severity.ERROR).count();
        long warnings = findings.size() - errors;
        if (format.equals("json")) {
            System.out.println(json(findings));
        } else {
            findings.forEach(System.out::println);
            int policies = files.files().values().stream().filter(r -> r.isOk()).mapToInt(r -> r.parsedPolicies().size()).sum();
            System.out.println(files.files().size() + " file(s), " + policies + " polic" + (policies == 1 ? "y" : "ies")
                    + ": " + errors + " error(s), " + warnings + " warning(s)");
        }
        if (errors > 0) {
            return ERRORS;
        }
        return strict && warnings > 0 ? WARNINGS : 0;
    }

    /** The findings as a JSON array of objects with source, line, severity, code, field and message. */
    static String json(List<LintFinding> findings) {
        StringBuilder b = new StringBuilder("[");
        for (int i = 0; i < findings.size(); i++) {
            LintFinding f = findings.get(i);
            b.append(i == 0 ? "\n  " : ",\n  ")
                    .append("{\"source\": ").append(string(f.source()))
                    .append(", \"line\": ").append(f.line())
                    .append(", \"severity\": ").append(string(f.severity().toString()))
                    .append(", \"code\": ").append(string(f.code().code()))
                    .append(", \"field\": ").append(string(f.fieldPath()))
                    .append(", \"message\": ").append(string(f.message())).append('}');
        }
        return b.append(findings.isEmpty() ? "]" : "\n]").toString();
    }

    private static String string(String s) {
        StringBuilder b = new StringBuilder("\"");
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"':
                    b.append("\\\"");
                    break;
                case '\\':
                    b.append("\\\\");
                    break;
                case '\n':
                    b.append("\\n");
                    break;
                default:
                    if (c < 0x20) {
                        b.append(String.format("\\u%04x", (int) c));
                    } else {
                        b.append(c);
                    }
            }
        }
        return b.append('"').toString();
    }
}
