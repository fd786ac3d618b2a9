package dev.keel.policy.internal;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import com.fasterxml.jackson.dataformat.yaml.YAMLParser;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.yaml.snakeyaml.LoaderOptions;
import org.yaml.snakeyaml.error.Mark;
import org.yaml.snakeyaml.error.MarkedYAMLException;
import org.yaml.snakeyaml.error.YAMLException;

/**
 * Reads YAML (one or more {@code ---} documents) or JSON (one or more concatenated values) into located
 * {@link Node} trees, one document at a time, with Jackson's streaming parsers. Hostile input is bounded:
 * the text length (checked by the caller), the nesting depth, and the number of nodes a document expands
 * to through YAML aliases (a "billion laughs" is refused as soon as its expansion passes the limit,
 * without expanding it). Duplicate keys are reported, first value kept. Not thread-safe; one per text.
 */
final class TreeReader {

    /** Longest text read, in characters. */
    static final int MAX_TEXT = 4 * 1024 * 1024;
    /** Deepest nesting of mappings and lists; Istio policies need about ten. */
    static final int MAX_DEPTH = 64;
    /** Most nodes one document may expand to, aliases included. */
    static final long MAX_NODES = 200_000;

    private static final StreamReadConstraints CONSTRAINTS = StreamReadConstraints.builder()
            .maxNestingDepth(MAX_DEPTH + 16)
            .maxStringLength(MAX_TEXT)
            .maxNameLength(64 * 1024)
            .build();

    static final JsonFactory JSON = JsonFactory.builder().streamReadConstraints(CONSTRAINTS).build();

    private static final YAMLFactory YAML;

    static {
        LoaderOptions options = new LoaderOptions();
        options.setCodePointLimit(MAX_TEXT + 16);
        options.setNestingDepthLimit(MAX_DEPTH + 16);
        options.setAllowDuplicateKeys(true); // the reader reports them, with both lines
        YAML = YAMLFactory.builder()
                .loaderOptions(options)
                .streamReadConstraints(CONSTRAINTS)
                .enable(YAMLParser.Feature.EMPTY_STRING_AS_NULL) // "key:" is null, as in YAML; "key: ''" stays a string
                .build();
    }

    /** One document: its 0-based index, its root, and the problems found while reading it. */
    record Document(int index, Node root, List<Problem> problems) {
    }

    /** A problem in the text that does not stop reading (a duplicate key). */
    record Problem(String path, Loc loc, String message) {
    }

    /** A problem that stops reading the text: a syntax error or a limit. */
    static final class Failure extends Exception {
        private static final long serialVersionUID = 1L;
        final transient Loc loc;

        Failure(Loc loc, String message) {
            super(message, null, false, false);
            this.loc = loc;
        }
    }

    private final JsonParser parser;
    private final boolean yaml;
    private int index = -1;
    private int reading;
    private Map<String, Node> anchors = new HashMap<>();
    private long weight;
    private boolean hasDuplicates;
    private List<Problem> problems = new ArrayList<>();

    private TreeReader(JsonParser parser, boolean yaml) {
        this.parser = parser;
        this.yaml = yaml;
    }

    /** A reader for {@code text}, JSON or YAML as {@link #looksLikeJson} decides. */
    static TreeReader open(String text) throws Failure {
        boolean json = looksLikeJson(text);
        try {
            return json
                    ? new TreeReader(JSON.createParser(text), false)
                    : new TreeReader(YAML.createParser(text), true);
        } catch (IOException e) {
            throw new Failure(new Loc(1, 1), "cannot read: " + e.getMessage());
        }
    }

    /**
     * JSON when the text starts (after blanks) with '[' or with '{' followed by '"' or '}'; a YAML flow
     * mapping such as {@code {apiVersion: v1}} stays YAML.
     */
    static boolean looksLikeJson(String text) {
        int i = skipBlanks(text, 0);
        if (i >= text.length()) {
            return false;
        }
        if (text.charAt(i) == '[') {
            return true;
        }
        if (text.charAt(i) != '{') {
            return false;
        }
        int j = skipBlanks(text, i + 1);
        return j < text.length() && (text.charAt(j) == '"' || text.charAt(j) == '}');
    }

    private static int skipBlanks(String text, int from) {
        int i = from;
        while (i < text.length()) {
            char c = text.charAt(i);
            if (c != ' ' && c != '\t' && c != '\r' && c != '\n' && c != '\uFEFF') {
                break;
            }
            i++;
        }
        return i;
    }

    /** Releases the parser. */
    void close() {
        try {
            parser.close();
        } catch (IOException e) {
            // A parser over a String has nothing to release that can fail.
        }
    }

    /** The index of the document being read (for a failure between documents, the next one). */
    int documentIndex() {
        return reading;
    }

    /** The next document, or null at the end of the text. */
    Document next() throws Failure {
        reading = index + 1;
        anchors = new HashMap<>();
        weight = 0;
        problems = new ArrayList<>();
        JsonToken t = token();
        if (t == null) {
            return null;
        }
        index = reading;
        hasDuplicates = false;
        Node root = value(t, 0);
        if (hasDuplicates) {
            reportDuplicates(root, new ArrayList<>());
        }
        return new Document(index, root, List.copyOf(problems));
    }

    private Node value(JsonToken t, int depth) throws Failure {
        Loc loc = tokenLoc();
        if (t == null) {
            throw new Failure(loc, "unexpected end of input");
        }
        if (depth > MAX_DEPTH) {
            throw new Failure(loc, "nesting is deeper than " + MAX_DEPTH + " levels");
        }
        String anchor = anchor();
        Node node;
        switch (t) {
            case START_OBJECT:
                node = mapping(loc, depth);
                break;
            case START_ARRAY:
                node = sequence(loc, depth);
                break;
            case VALUE_STRING:
                if (yaml && ((YAMLParser) parser).isCurrentAlias()) {
                    return alias(loc);
                }
                node = scalar(loc, Node.ScalarType.STRING);
                break;
            case VALUE_NUMBER_INT:
            case VALUE_NUMBER_FLOAT:
                node = scalar(loc, Node.ScalarType.NUMBER);
                break;
            case VALUE_TRUE:
                node = scalar(loc, Node.ScalarType.TRUE);
                break;
            case VALUE_FALSE:
                node = scalar(loc, Node.ScalarType.FALSE);
                break;
            case VALUE_NULL:
                node = scalar(loc, Node.ScalarType.NULL);
                break;
            case VALUE_EMBEDDED_OBJECT:
                grow(loc, 1);
                node = new Node.Scalar(loc, Node.ScalarType.OTHER, "");
                break;
            default:
                throw new Failure(loc, "unexpected " + t);
        }
        if (anchor != null) {
            anchors.put(anchor, node);
        }
        return node;
    }

    private Node mapping(Loc loc, int depth) throws Failure {
        grow(loc, 1);
        Map<String, Node.Field> fields = new LinkedHashMap<>();
        List<Node.Field> duplicates = List.of();
        long w = 1;
        JsonToken t;
        while ((t = token()) != JsonToken.END_OBJECT) {
            if (t != JsonToken.FIELD_NAME) {
                throw new Failure(tokenLoc(), t == null ? "unexpected end of input" : "expected a field name");
            }
            String key = name();
            Loc keyLoc = tokenLoc();
            Node v = value(token(), depth + 1);
            w += v.weight();
            Node.Field field = new Node.Field(key, keyLoc, v);
            if (fields.putIfAbsent(key, field) != null) {
                if (duplicates.isEmpty()) {
                    duplicates = new ArrayList<>();
                }
                duplicates.add(field);
                hasDuplicates = true;
            }
        }
        return new Node.Mapping(loc, Collections.unmodifiableMap(fields), duplicates, w);
    }

    private Node sequence(Loc loc, int depth) throws Failure {
        grow(loc, 1);
        List<Node> items = new ArrayList<>();
        long w = 1;
        JsonToken t;
        while ((t = token()) != JsonToken.END_ARRAY) {
            Node v = value(t, depth + 1);
            w += v.weight();
            items.add(v);
        }
        return new Node.Sequence(loc, Collections.unmodifiableList(items), w);
    }

    /**
     * Reports every repeated key in the document, with its path. Paths are built only for the mappings
     * that have repeats, so the cost stays linear in the (bounded) size of the document.
     */
    private void reportDuplicates(Node node, List<Object> segments) {
        if (problems.size() > Problems.MAX_ERRORS) {
            return;
        }
        if (node instanceof Node.Mapping) {
            Node.Mapping m = (Node.Mapping) node;
            for (Node.Field d : m.duplicates()) {
                String path = path(segments);
                problems.add(new Problem(Paths.field(path, d.key()), d.keyLoc(), "duplicate field " + Paths.quote(d.key())
                        + " (first at line " + m.fields().get(d.key()).keyLoc().line() + ")"));
            }
            for (Node.Field f : m.fields().values()) {
                segments.add(f.key());
                reportDuplicates(f.value(), segments);
                segments.remove(segments.size() - 1);
            }
        } else if (node instanceof Node.Sequence) {
            List<Node> items = ((Node.Sequence) node).items();
            for (int i = 0; i < items.size(); i++) {
                segments.add(i);
                reportDuplicates(items.get(i), segments);
                segments.remove(segments.size() - 1);
            }
        }
    }

    private static String path(List<Object> segments) {
        String path = "";
        for (Object segment : segments) {
            path = segment instanceof Integer ? Paths.index(path, (Integer) segment) : Paths.field(path, (String) segment);
        }
        return path;
    }

    private Node scalar(Loc loc, Node.ScalarType type) throws Failure {
        grow(loc, 1);
        return new Node.Scalar(loc, type, text());
    }

    /** An alias is the anchored node itself, shared; its weight counts again. */
    private Node alias(Loc loc) throws Failure {
        String name = text();
        Node target = anchors.get(name);
        if (target == null) {
            throw new Failure(loc, "unknown YAML alias \"*" + name + "\"");
        }
        grow(loc, target.weight());
        return target;
    }

    private void grow(Loc loc, long nodes) throws Failure {
        weight += nodes;
        if (weight > MAX_NODES) {
            throw new Failure(loc, "the document expands to more than " + MAX_NODES
                    + " values (YAML aliases are expanded; is it an alias bomb?)");
        }
    }

    private String anchor() throws Failure {
        if (!yaml) {
            return null;
        }
        try {
            Object id = parser.getObjectId();
            return id == null ? null : id.toString();
        } catch (IOException e) {
            throw failure(e);
        }
    }

    private String text() throws Failure {
        try {
            String s = parser.getText();
            return s == null ? "" : s;
        } catch (IOException e) {
            throw failure(e);
        }
    }

    private String name() throws Failure {
        try {
            String s = parser.currentName();
            return s == null ? "" : s;
        } catch (IOException e) {
            throw failure(e);
        }
    }

    private JsonToken token() throws Failure {
        try {
            return parser.nextToken();
        } catch (IOException e) {
            throw failure(e);
        } catch (YAMLException e) {
            throw yamlFailure(e, null);
        }
    }

    private Loc tokenLoc() {
        return loc(parser.currentTokenLocation());
    }

    private static Loc loc(JsonLocation l) {
        return l == null ? new Loc(1, 1) : new Loc(Math.max(l.getLineNr(), 1), Math.max(l.getColumnNr(), 1));
    }

    private Failure failure(IOException e) {
        if (e.getCause() instanceof YAMLException) {
            return yamlFailure((YAMLException) e.getCause(), e);
        }
        JsonLocation location = null;
        String message = e.getMessage();
        if (e instanceof JsonProcessingException) {
            location = ((JsonProcessingException) e).getLocation();
            message = ((JsonProcessingException) e).getOriginalMessage();
        }
        return new Failure(loc(location != null ? location : parser.currentLocation()),
                (yaml ? "invalid YAML: " : "invalid JSON: ") + message);
    }

    private Failure yamlFailure(YAMLException e, IOException wrapper) {
        if (e instanceof MarkedYAMLException) {
            MarkedYAMLException m = (MarkedYAMLException) e;
            Mark mark = m.getProblemMark() != null ? m.getProblemMark() : m.getContextMark();
            String problem = m.getProblem() != null ? m.getProblem() : String.valueOf(m.getMessage());
            String context = m.getContext();
            Loc loc = mark != null ? new Loc(mark.getLine() + 1, mark.getColumn() + 1) : loc(parser.currentLocation());
            return new Failure(loc, "invalid YAML: " + (context != null ? context + ", " : "") + problem);
        }
        JsonLocation location = wrapper instanceof JsonProcessingException
                ? ((JsonProcessingException) wrapper).getLocation()
                : null;
        return new Failure(loc(location != null ? location : parser.currentLocation()),
                "invalid YAML: " + e.getMessage());
    }
}
