package dev.keel.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** {@code keel audit}: compliance reports over a running mesh. */
@Command(name = "audit", mixinStandardHelpOptions = true, description = "Compliance reports over a running mesh.",
        subcommands = {AuditMtlsCommand.class})
final class AuditCommand implements Runnable {

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(System.out);
    }
}
