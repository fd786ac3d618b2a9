package dev.keel.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** {@code keel ca}: the certificate authority. */
@Command(name = "ca", mixinStandardHelpOptions = true,
        description = "The certificate authority: create it, run it, issue and inspect certificates, verify its audit log, "
                + "revoke certificates and sign CRLs, manage node join tokens and registration entries.",
        subcommands = {CaInitCommand.class, CaServeCommand.class, CaIssueCommand.class, CaInspectCommand.class,
                CaRevokeCommand.class, CaCrlCommand.class, CaAuditCommand.class, CaTokenCommand.class,
                CaEntryCommand.class})
final class CaCommand implements Runnable {

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(System.out);
    }
}
