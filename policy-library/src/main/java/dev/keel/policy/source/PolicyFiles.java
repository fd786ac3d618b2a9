package dev.keel.policy.source;

import dev.keel.policy.ParseResult;
import dev.keel.policy.ParsedPolicy;
import dev.keel.policy.PolicyError;
import dev.keel.policy.PolicyParser;
import java.io.IOException;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;

/**
 * Which files of a directory hold policies, and reading them all at once: the rules
 * {@link DirectoryPolicySource} and {@code keel policy lint} share.
 *
 * <p>A policy file is directly in the directory (subdirectories are not read, as with
 * {@code kubectl apply -f dir}), is named {@code *.yaml}, {@code *.yml} or {@code *.json}, and does not
 * start with '.': that leaves out editors' temporary files and the {@code ..data} and timestamped
 * directories of a mounted Kubernetes ConfigMap, whose files are read through their symbolic links.
 * Files are UTF-8, at most {@value #MAX_FILE_BYTES} bytes. A symbolic link to nothing is an error, not
 * an absent file, since it usually means a half-finished change. Stateless and thread-safe.
 */
public final class PolicyFiles {

    /** The largest file read; the parser reads at most as many characters. */
    public static final int MAX_FILE_BYTES = PolicyParser.MAX_TEXT_LENGTH;

    private PolicyFiles() {
    }

    /** True for names a directory's policies are read from. */
    public static boolean isPolicyFileName(String name) {
        String lower = name.toLowerCase(Locale.ROOT);
        return !name.startsWith(".") && (lower.endsWith(".yaml") || lower.endsWith(".yml") || lower.endsWith(".json"));
    }

    /**
     * Reads and parses every policy file of {@code path}, a directory or a single file. Policies without
     * {@code metadata.namespace} get {@code defaultNamespace}.
     */
    public static Result read(Path path, String defaultNamespace) {
        Objects.requireNonNull(path, "path");
        Objects.requireNonNull(defaultNamespace, "defaultNamespace");
        Texts texts = Files.isDirectory(path) ? readTexts(path) : readFile(path);
        return parse(texts, defaultNamespace);
    }

    /**
     * What reading found: the parse result of each file, in name order, and every error, including those
     * that are not one file's (a file that cannot be read, a policy defined in two files).
     * Immutable and thread-safe.
     */
    public static final class Result {

        private final Map<String, ParseResult> files;
        private final List<PolicyError> errors;
        private final List<ParsedPolicy> policies;

        Result(Map<String, ParseResult> files, List<PolicyError> errors, List<ParsedPolicy> policies) {
            this.files = Collections.unmodifiableMap(new LinkedHashMap<>(files));
            this.errors = List.copyOf(errors);
            this.policies = List.copyOf(policies);
        }

        /** By source name (the file's path), in name order; files that could not be read are absent. */
        public Map<String, ParseResult> files() {
            return files;
        }

        /** Every error, by file; empty when {@link #isOk()}. */
        public List<PolicyError> errors() {
            return errors;
        }

        public boolean isOk() {
            return errors.isEmpty();
        }

        /**
         * Every policy, in file order.
         *
         * @throws IllegalStateException when there are errors: a refused directory must not read as
         *                               "fewer policies"
         */
        public List<ParsedPolicy> policies() {
            if (!isOk()) {
                throw new IllegalStateException("the policies were refused with " + errors.size() + " error(s), first: "
                        + errors.get(0));
            }
            return policies;
        }
    }

    // ------------------------------------------------------------------------------------------ reading

    /**
     * The text of every policy file, by source name in name order, and the files that could not be read.
     * {@code racing} is set when a file vanished between listing and reading: the directory is changing
     * and the caller should read again rather than report.
     */
    record Texts(Map<String, String> texts, List<PolicyError> errors, boolean racing) {
    }

    static Texts readTexts(Path dir) {
        List<Path> files = new ArrayList<>();
        List<PolicyError> errors = new ArrayList<>();
        try (DirectoryStream<Path> stream = Files.newDirectoryStream(dir)) {
            for (Path p : stream) {
                if (isPolicyFileName(p.getFileName().toString())) {
                    files.add(p);
                }
            }
        } catch (NoSuchFileException e) {
            errors.add(ioError(dir, "the directory does not exist"));
            return new Texts(Map.of(), errors, false);
        } catch (IOException e) {
            errors.add(ioError(dir, "cannot list the directory: " + e));
            return new Texts(Map.of(), errors, false);
        }
        files.sort(null);
        Map<String, String> texts = new LinkedHashMap<>();
        for (Path file : files) {
            if (Files.isDirectory(file)) {
                continue;
            }
            if (Files.isSymbolicLink(file) && !Files.exists(file)) {
                errors.add(ioError(file, "a symbolic link to a file that does not exist"));
                continue;
            }
            try {
                texts.put(file.toString(), readText(file));
            } catch (NoSuchFileException e) {
                return new Texts(Map.of(), List.of(ioError(file, "the file disappeared while reading")), true);
            } catch (IOException e) {
                errors.add(ioError(file, message(e)));
            }
        }
        return new Texts(texts, errors, false);
    }

    private static Texts readFile(Path file) {
        try {
            return new Texts(Map.of(file.toString(), readText(file)), List.of(), false);
        } catch (NoSuchFileException e) {
            return new Texts(Map.of(), List.of(ioError(file, "the file does not exist")), false);
        } catch (IOException e) {
            return new Texts(Map.of(), List.of(ioError(file, message(e))), false);
        }
    }

    private static String readText(Path file) throws IOException {
        long size = Files.size(file);
        if (size > MAX_FILE_BYTES) {
            throw new IOException("the file is larger than " + MAX_FILE_BYTES + " bytes (" + size + ")");
        }
        byte[] bytes = Files.readAllBytes(file);
        try {
            return StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT).decode(ByteBuffer.wrap(bytes)).toString();
        } catch (CharacterCodingException e) {
            throw new IOException("the file is not valid UTF-8");
        }
    }

    private static String message(IOException e) {
        String m = e.getMessage();
        return m != null && m.startsWith("the file ") ? m : "cannot read the file: " + e;
    }

    private static PolicyError ioError(Path path, String message) {
        return new PolicyError(path.toString(), 0, 0, 0, "", message);
    }

    // ------------------------------------------------------------------------------------------ parsing

    static Result parse(Texts texts, String defaultNamespace) {
        Map<String, ParseResult> files = new LinkedHashMap<>();
        List<PolicyError> errors = new ArrayList<>(texts.errors());
        List<ParsedPolicy> policies = new ArrayList<>();
        Map<String, ParsedPolicy> byName = new HashMap<>();
        texts.texts().forEach((source, text) -> {
            ParseResult result = PolicyParser.parse(source, text, defaultNamespace);
            files.put(source, result);
            if (!result.isOk()) {
                errors.addAll(result.errors());
                return;
            }
            for (ParsedPolicy p : result.parsedPolicies()) {
                // Kubernetes holds one object per kind, namespace and name; two files defining one is
                // an ambiguity that "last one wins" would resolve silently.
                String key = p.policy().kind() + " " + p.policy().metadata().qualifiedName();
                ParsedPolicy first = byName.putIfAbsent(key, p);
                if (first != null) {
                    ParsedPolicy.Position at = p.positionOf("metadata.name");
                    errors.add(new PolicyError(source, at.line(), at.column(), p.documentIndex(), "metadata.name",
                            "duplicate " + key + ": also defined at " + first.sourceName() + ":"
                                    + first.positionOf("metadata.name").line()
                                    + "; Kubernetes keeps one object per kind, namespace and name"));
                }
                policies.add(p);
            }
        });
        return new Result(files, errors, errors.isEmpty() ? policies : List.of());
    }
}
