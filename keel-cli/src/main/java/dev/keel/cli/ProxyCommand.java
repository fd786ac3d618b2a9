package dev.keel.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** {@code keel proxy}: the sidecar. */
@Command(name = "proxy", mixinStandardHelpOptions = true,
        description = "The secure proxy beside each workload: mTLS, JWT authentication and authorization on every request.",
        subcommands = {ProxyRunCommand.class})
final class ProxyCommand implements Runnable {

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(System.out);
    }
}
