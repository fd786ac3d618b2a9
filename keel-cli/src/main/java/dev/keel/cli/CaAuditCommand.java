package dev.keel.cli;

import dev.keel.ca.CaDirectory;
import dev.keel.ca.audit.AuditLogVerifier;
import dev.keel.ca.audit.VerificationReport;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code keel ca audit}: the CA's hash-chained audit log. */
@Command(name = "audit", mixinStandardHelpOptions = true, description = "The CA's audit log.",
        subcommands = {CaAuditCommand.Verify.class})
final class CaAuditCommand implements Runnable {

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(System.out);
    }

    /** Checks the chain; exits 0 when intact, 4 when it was tampered with or damaged. */
    @Command(name = "verify", mixinStandardHelpOptions = true,
            description = "Verify the hash chain of an audit log; name every edited, removed or truncated line. "
                    + "Exit 0: intact; 4: damaged.")
    static final class Verify implements Callable<Integer> {

        @Option(names = "--data-dir", defaultValue = ".keel/ca", description = "CA data directory (default: ${DEFAULT-VALUE})")
        Path dataDir;

        @Parameters(index = "0", arity = "0..1", description = "Audit log file (default: <data-dir>/audit.log)")
        Path file;

        @Override
        public Integer call() {
            Path log = file != null ? file : dataDir.resolve(CaDirectory.AUDIT_LOG);
            VerificationReport report = AuditLogVerifier.verify(log);
            if (report.ok()) {
                System.out.println(log + ": " + report.summary());
                return 0;
            }
            System.out.println(log + ": " + report.summary());
            for (VerificationReport.Problem problem : report.problems()) {
                System.out.println("  " + problem);
            }
            return 4;
        }
    }
}
