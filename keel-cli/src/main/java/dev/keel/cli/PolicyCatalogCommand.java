package dev.keel.cli;

import dev.keel.policy.catalog.CatalogEntry;
import dev.keel.policy.catalog.CatalogParameter;
import dev.keel.policy.catalog.PolicyCatalog;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code keel policy catalog}: without an id, lists the entries; with one, prints the entry's YAML with the
 * {@code --set} values. {@code keel policy catalog show <id>} explains an entry. Exit 0, or 2 for an
 * unknown entry or a bad parameter.
 */
@Command(name = "catalog", mixinStandardHelpOptions = true,
        description = {"Ready-made policies.",
                "  keel policy catalog                          list the entries",
                "  keel policy catalog show <id>                explain one and its parameters",
                "  keel policy catalog <id> [--set k=v]... [-o file]   print (or write) its YAML"},
        subcommands = PolicyCatalogCommand.Show.class)
final class PolicyCatalogCommand implements Callable<Integer> {

    static final int BAD_PARAMETERS = 2;

    @Parameters(index = "0", arity = "0..1", paramLabel = "<id>", description = "the entry to instantiate")
    String id;

    @Option(names = "--set", paramLabel = "key=value", description = "a parameter value; repeat for more")
    Map<String, String> values = new LinkedHashMap<>();

    @Option(names = {"-o", "--output"}, paramLabel = "<file>", description = "write the YAML to this file instead of stdout")
    Path output;

    @Override
    public Integer call() throws IOException {
        PolicyCatalog catalog = PolicyCatalog.builtIn();
        if (id == null) {
            int width = catalog.entries().stream().mapToInt(e -> e.id().length()).max().orElse(0);
            for (CatalogEntry e : catalog.entries()) {
                System.out.println(String.format("%-" + width + "s  %s", e.id(), e.title()));
            }
            System.out.println();
            System.out.println("Explain one: keel policy catalog show <id>; use one: keel policy catalog <id> --set key=value");
            return 0;
        }
        String yaml;
        try {
            yaml = catalog.instantiate(id, values);
        } catch (IllegalArgumentException e) {
            System.err.println("keel policy catalog: " + e.getMessage());
            return BAD_PARAMETERS;
        }
        if (output == null) {
            System.out.print(yaml);
        } else {
            Files.writeString(output, yaml, StandardCharsets.UTF_8);
            System.err.println("wrote " + id + " to " + output);
        }
        return 0;
    }

    /** {@code keel policy catalog show <id>}. */
    @Command(name = "show", mixinStandardHelpOptions = true,
            description = "Explain a catalog entry: what it does, when to use it, and its parameters.")
    static final class Show implements Callable<Integer> {

        @Parameters(index = "0", paramLabel = "<id>")
        String id;

        @Override
        public Integer call() {
            PolicyCatalog catalog = PolicyCatalog.builtIn();
            CatalogEntry entry;
            try {
                entry = catalog.require(id);
            } catch (IllegalArgumentException e) {
                System.err.println("keel policy catalog show: " + e.getMessage());
                return BAD_PARAMETERS;
            }
            System.out.println(entry.id() + ": " + entry.title());
            System.out.println();
            System.out.println(wrap(entry.explanation(), 100));
            System.out.println();
            System.out.println("Parameters (--set name=value):");
            int width = entry.parameters().stream().mapToInt(p -> p.name().length()).max().orElse(0);
            for (CatalogParameter p : entry.parameters()) {
                String def = p.defaultValue().map(d -> d.isEmpty() ? "default: empty" : "default: " + d).orElse("required");
                System.out.println(String.format("  %-" + width + "s  %s (%s)", p.name(), p.description(), def));
            }
            return 0;
        }

        /** Word-wraps a paragraph for the terminal. */
        static String wrap(String text, int width) {
            StringBuilder out = new StringBuilder();
            StringBuilder line = new StringBuilder();
            for (String word : text.split("\\s+")) {
                if (line.length() > 0 && line.length() + 1 + word.length() > width) {
                    out.append(line).append('\n');
                    line.setLength(0);
                }
                if (line.length() > 0) {
                    line.append(' ');
                }
                line.append(word);
            }
            return out.append(line).toString();
        }
    }
}
