package dev.keel.cli;

import dev.keel.ca.CaDirectory;
import dev.keel.ca.node.CreatedJoinToken;
import dev.keel.ca.node.JoinTokenInfo;
import dev.keel.ca.node.JoinTokens;
import dev.keel.cli.internal.DurationConverter;
import dev.keel.identity.TrustDomain;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code keel ca token}: one-time join tokens that node agents trade for their node SVID. */
@Command(name = "token", mixinStandardHelpOptions = true,
        description = "One-time join tokens: a node agent trades one for its node identity (AttestNode).",
        subcommands = {CaTokenCommand.Create.class, CaTokenCommand.ListTokens.class})
final class CaTokenCommand implements Runnable {

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(System.out);
    }

    static JoinTokens open(Path dataDir) throws java.io.IOException {
        TrustDomain trustDomain = CaDirectory.readConfig(dataDir).trustDomain();
        return JoinTokens.open(dataDir, trustDomain, Clock.systemUTC());
    }

    /** Creates a token and prints it: the only time it is ever shown. */
    @Command(name = "create", mixinStandardHelpOptions = true,
            description = {"Create a one-time join token for a node and print it.",
                    "The token is shown only here (the CA keeps its SHA-256); it attests one node, once."})
    static final class Create implements Callable<Integer> {

        @CommandLine.Spec
        CommandLine.Model.CommandSpec spec;

        @Mixin
        CaDataDir dataDir;

        @Option(names = "--node", description = "Node name: its identity is spiffe://<td>/keel/node/<name> "
                + "(letters, digits, '.', '-', '_'; default: a generated join-<12 hex>)")
        String node;

        @Option(names = "--ttl", defaultValue = "1h", converter = DurationConverter.class,
                description = "How long the token may be used (default: ${DEFAULT-VALUE}; at most 7d)")
        Duration ttl;

        @Override
        public Integer call() throws Exception {
            JoinTokens tokens = open(dataDir.path);
            CreatedJoinToken created;
            try {
                created = node == null ? tokens.create(ttl) : tokens.create(node, ttl);
            } catch (IllegalArgumentException e) {
                // The store's messages start with the field ("node: ...", "ttl: ..."), which is the option's name.
                throw new CommandLine.ParameterException(spec.commandLine(), "--" + e.getMessage());
            }
            System.out.println("token:   " + created.token());
            System.out.println("node:    " + created.nodeId());
            System.out.println("expires: " + created.expiresAt() + " (in "
                    + DurationConverter.human(Duration.between(Instant.now(), created.expiresAt())) + ")");
            System.err.println("Give the token to the node agent; it cannot be shown again (listed as "
                    + created.tokenId() + ").");
            return 0;
        }
    }

    /** Lists tokens without their secrets. */
    @Command(name = "list", mixinStandardHelpOptions = true,
            description = "List join tokens (id, node, status, expiry); never their secrets.")
    static final class ListTokens implements Callable<Integer> {

        @Mixin
        CaDataDir dataDir;

        @Override
        public Integer call() throws Exception {
            List<JoinTokenInfo> tokens = open(dataDir.path).list();
            Instant now = Instant.now();
            System.out.printf("%-8s  %-8s  %-20s  %s%n", "ID", "STATUS", "EXPIRES", "NODE");
            for (JoinTokenInfo token : tokens) {
                System.out.printf("%-8s  %-8s  %-20s  %s%n", token.tokenId(),
                        token.status(now).name().toLowerCase(Locale.ROOT), token.expiresAt(), token.nodeId());
            }
            return 0;
        }
    }
}
