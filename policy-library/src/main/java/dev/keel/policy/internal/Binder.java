package dev.keel.policy.internal;

import dev.keel.policy.ApiVersion;
import dev.keel.policy.AuthorizationPolicy;
import dev.keel.policy.ClaimToHeader;
import dev.keel.policy.Condition;
import dev.keel.policy.IstioPolicy;
import dev.keel.policy.JWTHeader;
import dev.keel.policy.JWTRule;
import dev.keel.policy.Operation;
import dev.keel.policy.PeerAuthentication;
import dev.keel.policy.PeerAuthentication.MutualTLS;
import dev.keel.policy.PolicyKind;
import dev.keel.policy.PolicyMetadata;
import dev.keel.policy.PolicyTargetReference;
import dev.keel.policy.RequestAuthentication;
import dev.keel.policy.Rule;
import dev.keel.policy.Source;
import dev.keel.policy.WorkloadSelector;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.BiFunction;
import java.util.stream.Collectors;

/**
 * Binds a located tree to the records, strictly, the way the Kubernetes API server with Istio's CRD
 * schema and istiod's decoding would: unknown fields, wrong types (a number where Istio wants a string,
 * a string where it wants a list), unknown enum values, nulls and missing required fields are reported
 * where they are written. What the records cannot express (an explicitly empty {@code from: []}, an
 * empty {@code portLevelMtls: {}}) is checked here too; every other rule is the {@link Validator}'s.
 *
 * <p>Binding goes on after an error so that all of a file's errors are found: a bad value is replaced by
 * a placeholder at the same index and its path is marked failed, which keeps the validator quiet there.
 */
final class Binder {

    static final List<String> TOP_LEVEL = List.of("apiVersion", "kind", "metadata", "spec", "status");

    /** Every ObjectMeta field; the parser reads name, namespace, labels and annotations and drops the rest. */
    static final List<String> METADATA = List.of("name", "namespace", "labels", "annotations", "generateName", "uid",
            "resourceVersion", "generation", "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds",
            "selfLink", "ownerReferences", "finalizers", "managedFields");

    private static final List<String> AUTHORIZATION_SPEC =
            List.of("selector", "targetRef", "targetRefs", "rules", "action", "provider");
    private static final List<String> REQUEST_AUTHENTICATION_SPEC = List.of("selector", "targetRef", "targetRefs", "jwtRules");
    private static final List<String> PEER_AUTHENTICATION_SPEC = List.of("selector", "mtls", "portLevelMtls");
    private static final List<String> SOURCE = List.of("principals", "notPrincipals", "requestPrincipals",
            "notRequestPrincipals", "namespaces", "notNamespaces", "serviceAccounts", "notServiceAccounts", "ipBlocks",
            "notIpBlocks", "remoteIpBlocks", "notRemoteIpBlocks");
    private static final List<String> OPERATION =
            List.of("hosts", "notHosts", "ports", "notPorts", "methods", "notMethods", "paths", "notPaths");
    private static final List<String> JWT_RULE = List.of("issuer", "audiences", "jwksUri", "jwks_uri", "jwks", "fromHeaders",
            "fromParams", "outputPayloadToHeader", "forwardOriginalToken", "outputClaimToHeaders", "timeout", "fromCookies",
            "spaceDelimitedClaims");
    private static final List<String> TARGET_REF = List.of("group", "kind", "name", "namespace");

    private static final Node.Mapping EMPTY = new Node.Mapping(Loc.NONE, Map.of(), List.of(), 1);
    private static final Source EMPTY_SOURCE = new Source(List.of(), List.of(), List.of(), List.of(), List.of(), List.of(),
            List.of(), List.of(), List.of(), List.of(), List.of(), List.of());
    private static final Operation EMPTY_OPERATION =
            new Operation(List.of(), List.of(), List.of(), List.of(), List.of(), List.of(), List.of(), List.of());
    private static final PolicyTargetReference EMPTY_REF = new PolicyTargetReference("", "", "", "");

    private final Problems p;

    Binder(Problems p) {
        this.p = p;
    }

    // ------------------------------------------------------------------------------------------ objects

    /** The policy in {@code root}, whose apiVersion and kind have been read already. */
    IstioPolicy policy(Node.Mapping root, ApiVersion version, PolicyKind kind, String defaultNamespace) {
        Fields top = fields("", root, TOP_LEVEL);
        PolicyMetadata metadata = metadata(top, defaultNamespace);
        Node specNode = top.get("spec");
        Node.Mapping spec = specNode == null ? EMPTY : asMapping("spec", specNode);
        if (spec == null) {
            spec = EMPTY;
        }
        switch (kind) {
            case AUTHORIZATION_POLICY:
                return authorizationPolicy(version, metadata, fields("spec", spec, AUTHORIZATION_SPEC));
            case REQUEST_AUTHENTICATION:
                return requestAuthentication(version, metadata, fields("spec", spec, REQUEST_AUTHENTICATION_SPEC));
            case PEER_AUTHENTICATION:
                return peerAuthentication(version, metadata, fields("spec", spec, PEER_AUTHENTICATION_SPEC));
            default:
                throw new AssertionError(kind);
        }
    }

    private PolicyMetadata metadata(Fields top, String defaultNamespace) {
        Node.Mapping m = top.requiredMapping("metadata");
        if (m == null) {
            return new PolicyMetadata("", defaultNamespace, Map.of(), Map.of());
        }
        Fields f = fields("metadata", m, METADATA);
        String name = f.requiredString("name");
        String namespace = f.string("namespace"); // "" means unset to kubectl too
        if (namespace.isEmpty()) {
            namespace = defaultNamespace;
        }
        return new PolicyMetadata(name == null ? "" : name, namespace, f.stringMap("labels"), f.stringMap("annotations"));
    }

    private AuthorizationPolicy authorizationPolicy(ApiVersion version, PolicyMetadata metadata, Fields spec) {
        return new AuthorizationPolicy(version, metadata, selector(spec), targetRef(spec), targetRefs(spec),
                objects(spec, "rules", this::rule, Rule.matchAll(), false),
                spec.enumeration("action", AuthorizationPolicy.Action.values(), AuthorizationPolicy.Action.ALLOW),
                spec.optionalMapping("provider").map(m -> {
                    Fields f = fields(spec.path("provider"), m, List.of("name"));
                    return new AuthorizationPolicy.ExtensionProvider(f.string("name"));
                }));
    }

    private Rule rule(String path, Node.Mapping m) {
        Fields f = fields(path, m, List.of("from", "to", "when"));
        return new Rule(
                objects(f, "from", (fromPath, from) -> {
                    Fields source = fields(fromPath, from, List.of("source"));
                    Node.Mapping s = source.requiredMapping("source");
                    return s == null ? EMPTY_SOURCE : source(source.path("source"), s);
                }, EMPTY_SOURCE, true),
                objects(f, "to", (toPath, to) -> {
                    Fields operation = fields(toPath, to, List.of("operation"));
                    Node.Mapping o = operation.requiredMapping("operation");
                    return o == null ? EMPTY_OPERATION : operation(operation.path("operation"), o);
                }, EMPTY_OPERATION, true),
                objects(f, "when", this::condition, new Condition("", List.of(), List.of()), false));
    }

    private Source source(String path, Node.Mapping m) {
        Fields f = fields(path, m, SOURCE);
        return new Source(f.strings("principals"), f.strings("notPrincipals"), f.strings("requestPrincipals"),
                f.strings("notRequestPrincipals"), f.strings("namespaces"), f.strings("notNamespaces"),
                f.strings("serviceAccounts"), f.strings("notServiceAccounts"), f.strings("ipBlocks"),
                f.strings("notIpBlocks"), f.strings("remoteIpBlocks"), f.strings("notRemoteIpBlocks"));
    }

    private Operation operation(String path, Node.Mapping m) {
        Fields f = fields(path, m, OPERATION);
        return new Operation(f.strings("hosts"), f.strings("notHosts"), f.strings("ports"), f.strings("notPorts"),
                f.strings("methods"), f.strings("notMethods"), f.strings("paths"), f.strings("notPaths"));
    }

    private Condition condition(String path, Node.Mapping m) {
        Fields f = fields(path, m, List.of("key", "values", "notValues"));
        String key = f.requiredString("key");
        return new Condition(key == null ? "" : key, f.strings("values"), f.strings("notValues"));
    }

    private RequestAuthentication requestAuthentication(ApiVersion version, PolicyMetadata metadata, Fields spec) {
        return new RequestAuthentication(version, metadata, selector(spec), targetRef(spec), targetRefs(spec),
                objects(spec, "jwtRules", this::jwtRule, new JWTRule("", List.of(), "", "", List.of(), List.of(), "", false,
                        List.of(), Optional.empty(), List.of(), List.of()), false));
    }

    private JWTRule jwtRule(String path, Node.Mapping m) {
        Fields f = fields(path, m, JWT_RULE);
        String jwksUri = f.string("jwksUri");
        if (f.has("jwks_uri")) {
            // protojson accepts a field's proto name too; the CRD lists this one.
            if (f.has("jwksUri")) {
                p.at(f.path("jwks_uri"), f.keyLoc("jwks_uri"), "jwks_uri is another name for jwksUri; set only one of them");
            } else {
                jwksUri = f.string("jwks_uri");
                p.record(f.path("jwksUri"), f.mapping.fields().get("jwks_uri").value().loc());
            }
        }
        Optional<Duration> timeout = Optional.empty();
        String timeoutText = f.has("timeout") ? f.string("timeout") : null;
        if (timeoutText != null && p.ok(f.path("timeout"))) {
            Duration d = GoDuration.parse(timeoutText);
            if (d == null) {
                p.at(f.path("timeout"), f.mapping.fields().get("timeout").value().loc(), Paths.quote(timeoutText)
                        + " is not a duration (expected a number with a unit, e.g. \"10s\", \"500ms\", \"1m30s\")");
            } else {
                timeout = Optional.of(d);
            }
        }
        return new JWTRule(f.string("issuer"), f.strings("audiences"), jwksUri, f.string("jwks"),
                objects(f, "fromHeaders", (hp, hm) -> {
                    Fields h = fields(hp, hm, List.of("name", "prefix"));
                    String name = h.requiredString("name");
                    return new JWTHeader(name == null ? "" : name, h.string("prefix"));
                }, new JWTHeader("", ""), false),
                f.strings("fromParams"), f.string("outputPayloadToHeader"), f.bool("forwardOriginalToken"),
                objects(f, "outputClaimToHeaders", (cp, cm) -> {
                    Fields c = fields(cp, cm, List.of("header", "claim"));
                    String header = c.requiredString("header");
                    String claim = c.requiredString("claim");
                    return new ClaimToHeader(header == null ? "" : header, claim == null ? "" : claim);
                }, new ClaimToHeader("", ""), false),
                timeout, f.strings("fromCookies"), f.strings("spaceDelimitedClaims"));
    }

    private PeerAuthentication peerAuthentication(ApiVersion version, PolicyMetadata metadata, Fields spec) {
        Optional<MutualTLS> mtls = spec.optionalMapping("mtls").map(m -> mutualTls(spec.path("mtls"), m));
        Map<Integer, MutualTLS> ports = new LinkedHashMap<>();
        Optional<Node.Mapping> portLevel = spec.optionalMapping("portLevelMtls");
        if (portLevel.isPresent()) {
            String path = spec.path("portLevelMtls");
            Node.Mapping m = portLevel.get();
            if (m.fields().isEmpty()) {
                // Istio: "port level mTLS, if defined, must have at least one element" (CRD: minProperties 1).
                p.at(path, m.loc(), "must list at least one port when set");
            }
            for (Node.Field field : m.fields().values()) {
                String portPath = Paths.field(path, field.key());
                p.record(portPath, field.keyLoc());
                int port = portNumber(field.key());
                if (port < 0) {
                    p.at(portPath, field.keyLoc(), Paths.quote(field.key()) + " is not a port number (expected 1..65535)");
                    continue;
                }
                if (ports.containsKey(port)) {
                    p.at(portPath, field.keyLoc(), "port " + port + " is listed twice");
                    continue;
                }
                Node.Mapping value = asMapping(portPath, field.value());
                ports.put(port, value == null ? new MutualTLS(MutualTLS.Mode.UNSET) : mutualTls(portPath, value));
            }
        }
        return new PeerAuthentication(version, metadata, selector(spec), mtls, ports);
    }

    private MutualTLS mutualTls(String path, Node.Mapping m) {
        Fields f = fields(path, m, List.of("mode"));
        return new MutualTLS(f.enumeration("mode", MutualTLS.Mode.values(), MutualTLS.Mode.UNSET));
    }

    /** A decimal port in 1..65535 (protojson's uint32 map key, the CRD's {@code 0 < int(key) <= 65535}), or -1. */
    private static int portNumber(String key) {
        if (key.isEmpty() || key.length() > 10) {
            return -1;
        }
        long n = 0;
        for (int i = 0; i < key.length(); i++) {
            char c = key.charAt(i);
            if (c < '0' || c > '9') {
                return -1;
            }
            n = n * 10 + (c - '0');
        }
        return n >= 1 && n <= 65535 ? (int) n : -1;
    }

    private Optional<WorkloadSelector> selector(Fields parent) {
        return parent.optionalMapping("selector").map(m -> {
            Fields f = fields(parent.path("selector"), m, List.of("matchLabels"));
            return new WorkloadSelector(f.stringMap("matchLabels"));
        });
    }

    private Optional<PolicyTargetReference> targetRef(Fields parent) {
        return parent.optionalMapping("targetRef").map(m -> targetRef(parent.path("targetRef"), m));
    }

    private List<PolicyTargetReference> targetRefs(Fields parent) {
        return objects(parent, "targetRefs", this::targetRef, EMPTY_REF, false);
    }

    private PolicyTargetReference targetRef(String path, Node.Mapping m) {
        Fields f = fields(path, m, TARGET_REF);
        String kind = f.requiredString("kind");
        String name = f.requiredString("name");
        return new PolicyTargetReference(f.string("group"), kind == null ? "" : kind, name == null ? "" : name,
                f.string("namespace"));
    }

    /**
     * A list of objects; a wrong element becomes {@code placeholder} so the indexes stay those of the text.
     * {@code notEmpty}: an explicit {@code []} is refused (Istio: "`from` must not be empty").
     */
    private <T> List<T> objects(Fields parent, String name, BiFunction<String, Node.Mapping, T> bind, T placeholder,
                                boolean notEmpty) {
        Node n = parent.get(name);
        if (n == null) {
            return List.of();
        }
        String path = parent.path(name);
        List<Node> items = asList(path, n);
        if (items == null) {
            return List.of();
        }
        if (notEmpty && items.isEmpty()) {
            p.at(path, n.loc(), "must not be empty (leave the field out to match any "
                    + (name.equals("from") ? "source" : "operation") + ")");
        }
        List<T> out = new ArrayList<>(items.size());
        for (int i = 0; i < items.size(); i++) {
            String itemPath = Paths.index(path, i);
            Node item = items.get(i);
            p.record(itemPath, item.loc());
            Node.Mapping m = asMapping(itemPath, item);
            out.add(m == null ? placeholder : bind.apply(itemPath, m));
        }
        return out;
    }

    // ------------------------------------------------------------------------------------------ values

    /** Reports the fields of {@code m} not in {@code known}, then gives access to the known ones. */
    Fields fields(String path, Node.Mapping m, List<String> known) {
        for (Node.Field f : m.fields().values()) {
            if (!known.contains(f.key())) {
                p.at(Paths.field(path, f.key()), f.keyLoc(), p.full() ? "" : unknownField(f.key(), known));
            }
        }
        return new Fields(path, m);
    }

    static String unknownField(String key, List<String> known) {
        if (key.equals("<<")) {
            return "YAML merge keys (\"<<\") are not supported; write the fields out";
        }
        List<String> visible = known.stream().filter(k -> !k.contains("_")).collect(Collectors.toList());
        return "unknown field " + Paths.quote(key) + " " + Suggest.hint(key, visible);
    }

    Node.Mapping asMapping(String path, Node n) {
        if (n instanceof Node.Mapping) {
            return (Node.Mapping) n;
        }
        typeError(path, n, "a mapping");
        return null;
    }

    List<Node> asList(String path, Node n) {
        if (n instanceof Node.Sequence) {
            return ((Node.Sequence) n).items();
        }
        typeError(path, n, "a list");
        return null;
    }

    String asString(String path, Node n) {
        if (n instanceof Node.Scalar && ((Node.Scalar) n).type() == Node.ScalarType.STRING) {
            return ((Node.Scalar) n).text();
        }
        typeError(path, n, "a string");
        return null;
    }

    private void typeError(String path, Node n, String expected) {
        String message = "expected " + expected + ", got " + n.describe();
        if (expected.equals("a string") && n instanceof Node.Scalar) {
            Node.ScalarType type = ((Node.Scalar) n).type();
            if (type == Node.ScalarType.NUMBER || type == Node.ScalarType.TRUE || type == Node.ScalarType.FALSE) {
                message += " (quote it: " + Paths.quote(((Node.Scalar) n).text()) + ")";
            }
        }
        p.at(path, n.loc(), message);
    }

    /** The known fields of one mapping, read on demand; reading a field records its position. */
    final class Fields {
        final String path;
        final Node.Mapping mapping;

        Fields(String path, Node.Mapping mapping) {
            this.path = path;
            this.mapping = mapping;
            p.record(path, mapping.loc());
        }

        String path(String name) {
            return Paths.field(path, name);
        }

        boolean has(String name) {
            return mapping.fields().containsKey(name);
        }

        Loc keyLoc(String name) {
            return mapping.fields().get(name).keyLoc();
        }

        Node get(String name) {
            Node.Field f = mapping.fields().get(name);
            if (f == null) {
                return null;
            }
            // A scalar is located where it is written; a mapping or list where its key is, which is
            // where a reader looks for "metadata:" or "rules:" (the block itself starts a line later).
            p.record(path(name), f.value() instanceof Node.Scalar ? f.value().loc() : f.keyLoc());
            return f.value();
        }

        private void missing(String name) {
            Loc loc = p.locate(path);
            p.failed(path, path(name), loc.line() > 0 ? loc : mapping.loc(), "missing required field \"" + name + "\"");
        }

        Node.Mapping requiredMapping(String name) {
            Node n = get(name);
            if (n == null) {
                missing(name);
                return null;
            }
            return asMapping(path(name), n);
        }

        Optional<Node.Mapping> optionalMapping(String name) {
            Node n = get(name);
            return n == null ? Optional.empty() : Optional.ofNullable(asMapping(path(name), n));
        }

        /** The string, or null (reported) when it is missing or not a string. */
        String requiredString(String name) {
            Node n = get(name);
            if (n == null) {
                missing(name);
                return null;
            }
            return asString(path(name), n);
        }

        /** The string, or "" when absent (proto3: the same) or wrong (reported). */
        String string(String name) {
            Node n = get(name);
            if (n == null) {
                return "";
            }
            String s = asString(path(name), n);
            return s == null ? "" : s;
        }

        List<String> strings(String name) {
            Node n = get(name);
            if (n == null) {
                return List.of();
            }
            List<Node> items = asList(path(name), n);
            if (items == null) {
                return List.of();
            }
            List<String> out = new ArrayList<>(items.size());
            for (int i = 0; i < items.size(); i++) {
                String itemPath = Paths.index(path(name), i);
                p.record(itemPath, items.get(i).loc());
                String s = asString(itemPath, items.get(i));
                out.add(s == null ? "" : s);
            }
            return out;
        }

        Map<String, String> stringMap(String name) {
            Node n = get(name);
            if (n == null) {
                return Map.of();
            }
            Node.Mapping m = asMapping(path(name), n);
            if (m == null) {
                return Map.of();
            }
            Map<String, String> out = new LinkedHashMap<>();
            for (Node.Field field : m.fields().values()) {
                String entryPath = Paths.field(path(name), field.key());
                p.record(entryPath, field.value().loc());
                String s = asString(entryPath, field.value());
                out.put(field.key(), s == null ? "" : s);
            }
            return out;
        }

        boolean bool(String name) {
            Node n = get(name);
            if (n == null) {
                return false;
            }
            if (n instanceof Node.Scalar) {
                Node.ScalarType type = ((Node.Scalar) n).type();
                if (type == Node.ScalarType.TRUE || type == Node.ScalarType.FALSE) {
                    return type == Node.ScalarType.TRUE;
                }
            }
            p.at(path(name), n.loc(), "expected a boolean (true or false), got " + n.describe());
            return false;
        }

        /** An enum by its exact (case-sensitive) name; {@code absent} when the field is not there. */
        <E extends Enum<E>> E enumeration(String name, E[] values, E absent) {
            Node n = get(name);
            if (n == null) {
                return absent;
            }
            String s = asString(path(name), n);
            if (s == null) {
                return absent;
            }
            for (E e : values) {
                if (e.name().equals(s)) {
                    return e;
                }
            }
            List<String> names = Arrays.stream(values).map(Enum::name).collect(Collectors.toList());
            String closest = Suggest.closest(s, names);
            p.at(path(name), n.loc(), Paths.quote(s) + " is not one of " + String.join(", ", names)
                    + (closest == null ? "" : " (did you mean \"" + closest + "\"?)"));
            return absent;
        }
    }
}
