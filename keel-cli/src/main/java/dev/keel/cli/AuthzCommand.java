package dev.keel.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** {@code keel authz}: Istio AuthorizationPolicy decisions, offline. */
@Command(name = "authz", mixinStandardHelpOptions = true,
        description = "Istio AuthorizationPolicy decisions: what the proxy would decide for a request, and why.",
        subcommands = {AuthzCheckCommand.class})
final class AuthzCommand implements Runnable {

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(System.out);
    }
}
