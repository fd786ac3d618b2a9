package dev.keel.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.keel.ca.CaDirectory;
import dev.keel.ca.node.EntrySet;
import dev.keel.ca.node.EntrySpec;
import dev.keel.ca.node.InvalidEntryException;
import dev.keel.ca.node.RegistrationEntries;
import dev.keel.ca.node.RegistrationEntry;
import dev.keel.cli.internal.DurationConverter;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code keel ca entry}: registration entries, which bind a SPIFFE ID and a set of selectors to a
 * node (or every node). The running CA picks up changes without a restart.
 */
@Command(name = "entry", mixinStandardHelpOptions = true,
        description = {"Registration entries: which workloads (by selectors) on which nodes get which SPIFFE ID.",
                "Changes take effect on a running CA without a restart."},
        subcommands = {CaEntryCommand.Create.class, CaEntryCommand.ListEntries.class, CaEntryCommand.Delete.class})
final class CaEntryCommand implements Runnable {

    /** The store's field names, as the options that set them. */
    private static final Map<String, String> OPTIONS = Map.of(
            "spiffe_id", "--spiffe-id",
            "parent_id", "--parent-id",
            "selectors", "--selector",
            "x509_svid_ttl", "--x509-svid-ttl",
            "jwt_svid_ttl", "--jwt-svid-ttl",
            "hint", "--hint");

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(System.out);
    }

    static RegistrationEntries open(Path dataDir) throws IOException {
        return RegistrationEntries.open(dataDir, CaDirectory.readConfig(dataDir).trustDomain(), Clock.systemUTC());
    }

    /** Creates an entry and prints its id (alone on standard output, for scripts). */
    @Command(name = "create", mixinStandardHelpOptions = true,
            description = "Create a registration entry; prints its id.")
    static final class Create implements Callable<Integer> {

        @CommandLine.Spec
        CommandLine.Model.CommandSpec spec;

        @Mixin
        CaDataDir dataDir;

        @Option(names = "--spiffe-id", required = true,
                description = "The SPIFFE ID matching workloads get, in the CA's trust domain (not under /keel/)")
        String spiffeId;

        @ArgGroup(exclusive = true, multiplicity = "1")
        Parent parent;

        /** Exactly one of the two. */
        static final class Parent {
            @Option(names = "--parent-id", required = true,
                    description = "The node it is bound to: spiffe://<td>/keel/node/<name>")
            String parentId;

            @Option(names = "--all-nodes", required = true, description = "Bind it to every node")
            boolean allNodes;
        }

        @Option(names = "--selector", required = true,
                description = "type:value a workload must match, e.g. unix:uid:1000 (repeat: a workload must match all)")
        List<String> selectors;

        @Option(names = "--x509-svid-ttl", defaultValue = "0s", converter = DurationConverter.class,
                description = "X.509-SVID lifetime for this entry; 0s for the CA default (at most 90d)")
        Duration x509SvidTtl;

        @Option(names = "--jwt-svid-ttl", defaultValue = "0s", converter = DurationConverter.class,
                description = "JWT-SVID lifetime for this entry; 0s for the CA default (at most 1h)")
        Duration jwtSvidTtl;

        @Option(names = "--hint", defaultValue = "", description = "Operator hint passed to workloads (at most 1024 characters)")
        String hint;

        @Override
        public Integer call() throws Exception {
            RegistrationEntries entries = open(dataDir.path);
            String parentId = parent.allNodes ? RegistrationEntry.ALL_NODES : parent.parentId;
            RegistrationEntry entry;
            try {
                entry = entries.create(new EntrySpec(spiffeId, parentId, selectors, x509SvidTtl, jwtSvidTtl, hint));
            } catch (InvalidEntryException e) {
                String option = OPTIONS.get(e.field());
                if (option == null) {
                    throw e; // "entry: duplicates entry ..." is not a bad option value
                }
                throw new CommandLine.ParameterException(spec.commandLine(), option + ": " + e.reason());
            }
            System.out.println(entry.id());
            System.err.println("created entry " + entry.id() + ": " + entry.spiffeId() + " for "
                    + (entry.parentId().equals(RegistrationEntry.ALL_NODES) ? "every node" : entry.parentId()));
            return 0;
        }
    }

    /** Lists entries, optionally filtered. */
    @Command(name = "list", mixinStandardHelpOptions = true, description = "List registration entries.")
    static final class ListEntries implements Callable<Integer> {

        enum Output { text, json }

        @Mixin
        CaDataDir dataDir;

        @Option(names = "--parent-id", description = "Only entries with this parent ID (* for the every-node entries)")
        String parentId;

        @Option(names = "--spiffe-id", description = "Only entries with this SPIFFE ID")
        String spiffeId;

        @Option(names = "--output", defaultValue = "text", description = "text or json (default: ${DEFAULT-VALUE})")
        Output output;

        @Override
        public Integer call() throws Exception {
            EntrySet set = open(dataDir.path).read();
            List<RegistrationEntry> shown = set.entries().stream()
                    .filter(e -> parentId == null || e.parentId().equals(parentId))
                    .filter(e -> spiffeId == null || e.spiffeId().toString().equals(spiffeId))
                    .toList();
            if (output == Output.json) {
                System.out.println(json(set.revision(), shown));
                return 0;
            }
            for (RegistrationEntry entry : shown) {
                System.out.println("Entry ID:      " + entry.id());
                System.out.println("SPIFFE ID:     " + entry.spiffeId());
                System.out.println("Parent ID:     " + entry.parentId());
                System.out.println("Selectors:     " + String.join("\n               ", entry.selectors()));
                System.out.println("X509-SVID TTL: " + ttl(entry.x509SvidTtl()));
                System.out.println("JWT-SVID TTL:  " + ttl(entry.jwtSvidTtl()));
                if (!entry.hint().isEmpty()) {
                    System.out.println("Hint:          " + entry.hint());
                }
                System.out.println("Created:       " + entry.createdAt());
                System.out.println();
            }
            System.out.println(shown.size() + " entr" + (shown.size() == 1 ? "y" : "ies") + " (store revision "
                    + set.revision() + ")");
            return 0;
        }

        private static String ttl(Duration ttl) {
            return ttl.isZero() ? "default" : ttl.toSeconds() + "s";
        }

        /** The wire protocol's field names, so scripts read the same shape the agents get. */
        private static String json(long revision, List<RegistrationEntry> entries) throws IOException {
            ObjectMapper mapper = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
            ObjectNode root = mapper.createObjectNode();
            root.put("revision", revision);
            ArrayNode array = root.putArray("entries");
            for (RegistrationEntry entry : entries) {
                ObjectNode node = array.addObject();
                node.put("id", entry.id());
                node.put("spiffe_id", entry.spiffeId().toString());
                node.put("parent_id", entry.parentId());
                entry.selectors().forEach(node.putArray("selectors")::add);
                node.put("x509_svid_ttl_seconds", entry.x509SvidTtl().toSeconds());
                node.put("jwt_svid_ttl_seconds", entry.jwtSvidTtl().toSeconds());
                node.put("hint", entry.hint());
                node.put("created_at", entry.createdAt().toString());
            }
            return mapper.writeValueAsString(root);
        }
    }

    /** Deletes an entry; exit 1 when there is none with that id. */
    @Command(name = "delete", mixinStandardHelpOptions = true,
            description = "Delete a registration entry. Exit 0: deleted; 1: no such entry.")
    static final class Delete implements Callable<Integer> {

        @Mixin
        CaDataDir dataDir;

        @Parameters(index = "0", paramLabel = "ID", description = "The entry id, as 'keel ca entry create' printed it")
        String id;

        @Override
        public Integer call() throws Exception {
            if (!open(dataDir.path).delete(id)) {
                System.err.println("keel: entry " + id + ": no such entry in " + dataDir.path.resolve(RegistrationEntries.FILE));
                return 1;
            }
            System.out.println("deleted entry " + id);
            return 0;
        }
    }
}
