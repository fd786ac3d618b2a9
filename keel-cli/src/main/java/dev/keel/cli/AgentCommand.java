package dev.keel.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** {@code keel agent}: the node agent. */
@Command(name = "agent", mixinStandardHelpOptions = true,
        description = "The node agent: attests this node to the CA and serves the SPIFFE Workload API to its workloads.",
        subcommands = {AgentRunCommand.class})
final class AgentCommand implements Runnable {

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(System.out);
    }
}
