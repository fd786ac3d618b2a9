package dev.keel.policy.internal;

import dev.keel.policy.ApiVersion;
import dev.keel.policy.IstioPolicy;
import dev.keel.policy.PolicyError;
import dev.keel.policy.PolicyKind;
import dev.keel.policy.SkippedDocument;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Collectors;

/**
 * Reads one file: documents, Kubernetes {@code v1 List}s, the {@code security.istio.io} objects in them,
 * and every error on the way. Documents of other API groups are skipped and listed; the security APIs
 * Istio removed are errors, so that nobody believes an {@code rbac.istio.io} file is being enforced.
 */
public final class PolicyFileReader {

    /** A policy that read without error, with its document and the positions of its fields. */
    public record Item(IstioPolicy policy, int documentIndex, Map<String, Loc> positions) {
    }

    /** Everything read from one file; the caller keeps the policies only when there is no error. */
    public record Outcome(List<Item> items, List<PolicyError> errors, List<SkippedDocument> skipped) {
    }

    private static final List<String> REMOVED_GROUPS = List.of("rbac.istio.io", "authentication.istio.io");
    private static final List<String> LIST_FIELDS = List.of("apiVersion", "kind", "items", "metadata");

    private final String sourceName;
    private final String defaultNamespace;
    private final List<Item> items = new ArrayList<>();
    private final List<PolicyError> errors = new ArrayList<>();
    private final List<SkippedDocument> skipped = new ArrayList<>();
    private final Map<String, String> seen = new HashMap<>();

    private PolicyFileReader(String sourceName, String defaultNamespace) {
        this.sourceName = sourceName;
        this.defaultNamespace = defaultNamespace;
    }

    public static Outcome read(String sourceName, String text, String defaultNamespace) {
        PolicyFileReader reader = new PolicyFileReader(sourceName, defaultNamespace);
        reader.readAll(text);
        return new Outcome(List.copyOf(reader.items), List.copyOf(reader.errors), List.copyOf(reader.skipped));
    }

    private void readAll(String text) {
        if (text.length() > TreeReader.MAX_TEXT) {
            errors.add(new PolicyError(sourceName, 1, 1, 0, "", "the text is longer than " + TreeReader.MAX_TEXT
                    + " characters"));
            return;
        }
        TreeReader reader = null;
        try {
            // A byte order mark, which editors on Windows write, is not part of the text (JSON refuses it).
            reader = TreeReader.open(text.startsWith("\uFEFF") ? text.substring(1) : text);
            TreeReader.Document document;
            while ((document = reader.next()) != null) {
                int first = errors.size();
                for (TreeReader.Problem problem : document.problems()) {
                    errors.add(new PolicyError(sourceName, problem.loc().line(), problem.loc().column(), document.index(),
                            problem.path(), problem.message()));
                }
                Node root = document.root();
                boolean empty = root instanceof Node.Scalar && ((Node.Scalar) root).type() == Node.ScalarType.NULL;
                if (!empty) {
                    object(root, "", document.index());
                }
                // In file order within the document (binding and validation find them in other orders).
                errors.subList(first, errors.size()).sort(Comparator.comparingInt(PolicyError::line)
                        .thenComparingInt(PolicyError::column));
                if (errors.size() > Problems.MAX_ERRORS) {
                    errors.subList(Problems.MAX_ERRORS, errors.size()).clear();
                    errors.add(new PolicyError(sourceName, 0, 0, document.index(), "", "too many errors; stopped after "
                            + Problems.MAX_ERRORS));
                    return;
                }
            }
        } catch (TreeReader.Failure f) {
            errors.add(new PolicyError(sourceName, f.loc.line(), f.loc.column(),
                    reader == null ? 0 : reader.documentIndex(), "", f.getMessage()));
        } finally {
            if (reader != null) {
                reader.close();
            }
        }
    }

    private void object(Node node, String prefix, int documentIndex) {
        Problems p = new Problems(sourceName, documentIndex, prefix, errors);
        Binder binder = new Binder(p);
        if (!(node instanceof Node.Mapping)) {
            p.at("", node.loc(), "expected a Kubernetes object (a mapping with apiVersion and kind), got " + node.describe());
            return;
        }
        Node.Mapping m = (Node.Mapping) node;
        Binder.Fields top = binder.new Fields("", m);
        String apiVersion = top.requiredString("apiVersion");
        String kind = top.requiredString("kind");
        if (apiVersion == null || kind == null) {
            return;
        }
        int slash = apiVersion.indexOf('/');
        String group = slash < 0 ? "" : apiVersion.substring(0, slash);
        if (apiVersion.equals("v1") && kind.equals("List")) {
            Binder.Fields list = binder.fields("", m, LIST_FIELDS);
            Node itemsNode = list.get("items");
            List<Node> children = itemsNode == null ? List.of() : binder.asList("items", itemsNode);
            if (children != null) {
                for (int i = 0; i < children.size(); i++) {
                    object(children.get(i), join(prefix, Paths.index("items", i)), documentIndex);
                }
            }
            return;
        }
        if (group.equals(ApiVersion.GROUP)) {
            policy(m, apiVersion, kind, p, binder, documentIndex);
        } else if (REMOVED_GROUPS.contains(group)) {
            p.at("apiVersion", m.fields().get("apiVersion").value().loc(), Paths.quote(apiVersion)
                    + " is a security API that Istio removed in 1.6; write it as a security.istio.io/v1 AuthorizationPolicy,"
                    + " RequestAuthentication or PeerAuthentication");
        } else {
            String name = "";
            Node.Field metadata = m.fields().get("metadata");
            if (metadata != null && metadata.value() instanceof Node.Mapping) {
                Node.Field n = ((Node.Mapping) metadata.value()).fields().get("name");
                if (n != null && n.value() instanceof Node.Scalar
                        && ((Node.Scalar) n.value()).type() == Node.ScalarType.STRING) {
                    name = ((Node.Scalar) n.value()).text();
                }
            }
            skipped.add(new SkippedDocument(sourceName, m.loc().line(), documentIndex, apiVersion, kind, name));
        }
    }

    private void policy(Node.Mapping m, String apiVersion, String kind, Problems p, Binder binder, int documentIndex) {
        Optional<ApiVersion> version = ApiVersion.of(apiVersion);
        Optional<PolicyKind> policyKind = PolicyKind.of(kind);
        if (version.isEmpty()) {
            p.at("apiVersion", m.fields().get("apiVersion").value().loc(), Paths.quote(apiVersion)
                    + " is not supported (expected \"security.istio.io/v1\" or \"security.istio.io/v1beta1\")");
        }
        if (policyKind.isEmpty()) {
            List<String> kinds = Arrays.stream(PolicyKind.values()).map(PolicyKind::value).collect(Collectors.toList());
            p.at("kind", m.fields().get("kind").value().loc(), Paths.quote(kind) + " is not a security.istio.io kind "
                    + Suggest.hint(kind, kinds));
        }
        if (version.isEmpty() || policyKind.isEmpty()) {
            return;
        }
        IstioPolicy policy = binder.policy(m, version.get(), policyKind.get(), defaultNamespace);
        Validator.check(policy, p);
        if (p.count() > 0) {
            return;
        }
        String key = policy.kind() + " " + policy.metadata().qualifiedName();
        Loc loc = p.locate("metadata.name");
        String first = seen.putIfAbsent(key, "document " + documentIndex + ", line " + loc.line());
        if (first != null) {
            p.error("metadata.name", "duplicate " + policy.kind() + " " + Paths.quote(policy.metadata().qualifiedName())
                    + " (first in " + first + ")");
            return;
        }
        items.add(new Item(policy, documentIndex, Map.copyOf(p.locations())));
    }

    private static String join(String prefix, String path) {
        return prefix.isEmpty() ? path : prefix + "." + path;
    }
}
