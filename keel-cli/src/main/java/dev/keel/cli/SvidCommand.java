package dev.keel.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** {@code keel svid}: a workload's view of the Workload API. */
@Command(name = "svid", mixinStandardHelpOptions = true,
        description = "Fetch or watch this process's SVIDs from the node agent's SPIFFE Workload API.",
        subcommands = {SvidFetchCommand.class, SvidWatchCommand.class})
final class SvidCommand implements Runnable {

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(System.out);
    }
}
