package dev.keel.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** {@code keel policy}: Istio security policies. */
@Command(name = "policy", mixinStandardHelpOptions = true,
        description = "Istio security policies: ready-made ones from the catalog, and lint for your own.",
        subcommands = {PolicyCatalogCommand.class, PolicyLintCommand.class})
final class PolicyCommand implements Runnable {

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(System.out);
    }
}
