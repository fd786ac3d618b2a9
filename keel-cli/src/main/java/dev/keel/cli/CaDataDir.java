package dev.keel.cli;

import java.nio.file.Path;
import picocli.CommandLine.Option;

/** The CA data directory option of the {@code keel ca entry} and {@code keel ca token} subcommands (a picocli mixin). */
final class CaDataDir {

    @Option(names = {"--data-dir", "--dir"}, defaultValue = ".keel/ca",
            description = "CA data directory (default: ${DEFAULT-VALUE})")
    Path path;
}
