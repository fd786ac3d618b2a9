package dev.keel.cli;

import dev.keel.cli.internal.up.ChildProcess;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/** The {@code keel} command. */
@Command(name = "keel", mixinStandardHelpOptions = true, version = "keel 0.1.0",
        description = "Keel: a zero-trust service mesh built around its certificate authority.",
        subcommands = {CaCommand.class, AgentCommand.class, SvidCommand.class, ProxyCommand.class, PolicyCommand.class,
                AuthzCommand.class, UpCommand.class, StatusCommand.class, AuditCommand.class})
public final class Keel implements Runnable {

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    public static void main(String[] args) {
        ChildProcess.followParent(System.getenv());
        System.exit(run(args));
    }

    /** Runs the command line and returns the exit code; tests call this instead of {@link #main}. */
    public static int run(String... args) {
        CommandLine line = new CommandLine(new Keel());
        line.setExecutionExceptionHandler((e, cmd, parsed) -> {
            cmd.getErr().println("keel: " + (e.getMessage() == null ? e.toString() : e.getMessage()));
            return 1;
        });
        return line.execute(args);
    }

    @Override
    public void run() {
        spec.commandLine().usage(System.out);
    }
}
