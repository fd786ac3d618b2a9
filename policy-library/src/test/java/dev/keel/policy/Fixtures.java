package dev.keel.policy;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.Objects;
import java.util.stream.Collectors;

/** Test resources and small helpers shared by the parser tests. */
final class Fixtures {

    private Fixtures() {
    }

    static String load(String name) {
        try (InputStream in = Objects.requireNonNull(Fixtures.class.getResourceAsStream(name), name)) {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static ParseResult parseResource(String name) {
        return PolicyParser.parse(name, load(name));
    }

    /** {@code line: path: message}, the form the error tables use. */
    static String brief(PolicyError e) {
        return e.line() + ": " + (e.fieldPath().isEmpty() ? "" : e.fieldPath() + ": ") + e.message();
    }

    static String briefs(ParseResult result) {
        return result.errors().stream().map(Fixtures::brief).collect(Collectors.joining("\n"));
    }
}
