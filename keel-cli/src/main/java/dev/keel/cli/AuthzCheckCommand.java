package dev.keel.cli;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import dev.keel.authz.AuthzConfig;
import dev.keel.authz.AuthzRequest;
import dev.keel.authz.Decision;
import dev.keel.authz.DecisionProgram;
import dev.keel.authz.Explanation;
import dev.keel.authz.OpaAuthorizer;
import dev.keel.authz.PathNormalization;
import dev.keel.authz.Protocol;
import dev.keel.authz.Workload;
import dev.keel.policy.AuthorizationPolicy;
import dev.keel.policy.PolicyError;
import dev.keel.policy.PolicyParser;
import dev.keel.policy.source.PolicyFiles;
import java.io.IOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code keel authz check}: compiles the AuthorizationPolicies under {@code --policies} for one workload
 * and decides one request described in a YAML or JSON file, as the proxy would, printing the decision
 * and its explanation. Exit codes: 0 allowed, 3 denied, 2 bad input.
 *
 * <p>The request file:
 * <pre>
 * protocol: http            # or tcp
 * source: {principal: cluster.local/ns/bar/sa/sleep, ip: 10.1.2.3, remoteIp: 203.0.113.9}
 * request:
 *   method: GET
 *   path: /api/items?x=1    # normalized with --path-normalization
 *   host: httpbin.foo
 *   headers: {x-tenant: acme}
 *   auth: {principal: https://issuer/alice, audiences: [api], presenter: app, claims: {groups: [admin]}}
 * destination: {ip: 10.0.0.9, port: 8000}
 * connection: {sni: outbound_.8000_._.httpbin.foo.svc.cluster.local}
 * </pre>
 */
@Command(name = "check", mixinStandardHelpOptions = true,
        description = {"Decide one request against AuthorizationPolicies as the workload's proxy would, and explain why:"
                + " CUSTOM, then DENY, then ALLOW; AUDIT and dry-run policies are reported."},
        exitCodeListHeading = "Exit codes:%n",
        exitCodeList = {"0:allowed", "3:denied", "2:bad input (policies refused, request file unreadable, bad options)"})
final class AuthzCheckCommand implements Callable<Integer> {

    static final int DENIED = 3;
    static final int BAD_INPUT = 2;

    private static final Set<String> TOP = Set.of("protocol", "source", "request", "destination", "connection");
    private static final Set<String> SOURCE = Set.of("principal", "namespace", "ip", "remoteIp");
    private static final Set<String> REQUEST = Set.of("method", "path", "host", "port", "headers", "auth");
    private static final Set<String> AUTH = Set.of("principal", "claims", "audiences", "presenter");
    private static final Set<String> DESTINATION = Set.of("ip", "port");
    private static final Set<String> CONNECTION = Set.of("sni");

    @Option(names = "--policies", required = true, paramLabel = "<file-or-dir>",
            description = "a policy file, or a directory of *.yaml, *.yml and *.json files")
    Path policies;

    @Option(names = "--workload", required = true, paramLabel = "ns=<ns>[,labels=k=v,...]",
            description = "the workload: its namespace and pod labels, e.g. ns=foo,labels=app=httpbin,version=v1")
    String workload;

    @Option(names = "--request", required = true, paramLabel = "<file>", description = "the request, YAML or JSON")
    Path request;

    @Option(names = "--root-namespace", paramLabel = "<ns>", defaultValue = AuthzConfig.DEFAULT_ROOT_NAMESPACE,
            description = "Istio's root namespace (default: ${DEFAULT-VALUE})")
    String rootNamespace;

    @Option(names = "--path-normalization", paramLabel = "<option>", defaultValue = "BASE",
            description = "NONE, BASE (default), MERGE_SLASHES or DECODE_AND_MERGE_SLASHES")
    PathNormalization pathNormalization;

    @Option(names = "--default-namespace", paramLabel = "<ns>", defaultValue = PolicyParser.DEFAULT_NAMESPACE,
            description = "for policies without metadata.namespace (default: ${DEFAULT-VALUE})")
    String defaultNamespace;

    @Option(names = "--provider", paramLabel = "<name>=<url>", split = ",",
            description = "a CUSTOM extension provider served by OPA, e.g. opa=http://127.0.0.1:8181/v1/data/keel/authz;"
                    + " without one, requests that match a CUSTOM policy are denied")
    Map<String, String> providers = new LinkedHashMap<>();

    @Option(names = "--output", paramLabel = "text|json", defaultValue = "text", description = "text (default) or json")
    String format;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() {
        if (!format.equals("text") && !format.equals("json")) {
            throw bad("--output: \"" + format + "\" (expected: text or json)");
        }
        Workload w = parseWorkload(workload);
        AuthzConfig config = AuthzConfig.defaults().withRootNamespace(rootNamespace).withPathNormalization(pathNormalization);
        for (Map.Entry<String, String> p : providers.entrySet()) {
            config = config.withExtensionProvider(p.getKey(), opa(p.getKey(), p.getValue()));
        }

        PolicyFiles.Result files;
        try {
            files = PolicyFiles.read(policies, defaultNamespace);
        } catch (IllegalArgumentException e) {
            throw bad(e.getMessage());
        }
        if (!files.isOk()) {
            for (PolicyError e : files.errors()) {
                System.err.println(e);
            }
            System.err.println("keel: the policies were refused with " + files.errors().size() + " error(s)");
            return BAD_INPUT;
        }
        List<AuthorizationPolicy> authz = new ArrayList<>();
        files.policies().forEach(p -> {
            if (p.policy() instanceof AuthorizationPolicy ap) {
                authz.add(ap);
            }
        });

        JsonNode doc;
        try {
            doc = new ObjectMapper(new YAMLFactory()).enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
                    .readTree(Files.readString(request));
        } catch (IOException e) {
            System.err.println("keel: " + request + ": " + e.getMessage());
            return BAD_INPUT;
        }
        AuthzRequest r;
        try {
            r = parseRequest(doc, pathNormalization);
        } catch (IllegalArgumentException e) {
            System.err.println("keel: " + request + ": " + e.getMessage());
            return BAD_INPUT;
        }
        if (r == null) {
            // the proxy answers 400 before authorization
            print(null, "the path is refused by " + pathNormalization + " normalization (the proxy answers 400)");
            return DENIED;
        }
        DecisionProgram program;
        try {
            program = DecisionProgram.compile(authz, w, config);
        } catch (IllegalArgumentException e) {
            System.err.println("keel: " + e.getMessage());
            return BAD_INPUT;
        }
        Explanation explanation = program.explain(r);
        print(explanation, null);
        return explanation.decision().allowed() ? 0 : DENIED;
    }

    private void print(Explanation e, String refused) {
        if (format.equals("text")) {
            System.out.print(e == null ? "DENY: " + refused + "\n" : e.render());
            return;
        }
        ObjectMapper json = new ObjectMapper();
        ObjectNode out = json.createObjectNode();
        if (e == null) {
            out.put("decision", "deny");
            out.put("reason", "BAD_REQUEST");
            out.put("summary", refused);
        } else {
            out.put("decision", e.decision().allowed() ? "allow" : "deny");
            decision(out, e.decision());
            out.put("protocol", e.protocol().name().toLowerCase(java.util.Locale.ROOT));
            reported(out, "audit", e.audit());
            reported(out, "dryRunDeny", e.dryRunDeny());
            reported(out, "dryRunAllow", e.dryRunAllow());
            reported(out, "custom", e.custom());
            ArrayNode policies = out.putArray("policies");
            for (Explanation.PolicyTrace p : e.policies()) {
                ObjectNode pn = policies.addObject();
                pn.put("namespace", p.namespace());
                pn.put("name", p.name());
                pn.put("action", p.action().name());
                pn.put("dryRun", p.dryRun());
                ArrayNode rules = pn.putArray("rules");
                for (Explanation.RuleTrace rt : p.rules()) {
                    ObjectNode rn = rules.addObject();
                    rn.put("index", rt.index());
                    rn.put("matched", rt.matched());
                    rt.details().forEach(rn.putArray("details")::add);
                }
            }
        }
        try {
            System.out.println(json.writerWithDefaultPrettyPrinter().writeValueAsString(out));
        } catch (IOException ex) {
            throw new IllegalStateException(ex);
        }
    }

    private static void decision(ObjectNode node, Decision d) {
        node.put("reason", d.reason().name());
        if (d.policy() != null) {
            node.put("policy", d.policy());
            node.put("action", d.action().name());
            node.put("ruleIndex", d.ruleIndex());
        }
        node.put("summary", d.summary());
    }

    private static void reported(ObjectNode out, String field, Decision d) {
        if (d != null) {
            ObjectNode n = out.putObject(field);
            n.put("allowed", d.allowed());
            decision(n, d);
        }
    }

    private OpaAuthorizer opa(String name, String url) {
        int at = url.indexOf("/v1/data/");
        if (at < 0 || !(url.startsWith("http://") || url.startsWith("https://"))) {
            throw bad("--provider " + name + ": \"" + url + "\" (expected: http(s)://host:port/v1/data/<path>)");
        }
        try {
            return OpaAuthorizer.builder(URI.create(url.substring(0, at)), url.substring(at + "/v1/data/".length())).build();
        } catch (IllegalArgumentException e) {
            throw bad("--provider " + name + ": " + e.getMessage());
        }
    }

    private Workload parseWorkload(String spec) {
        String ns = null;
        Map<String, String> labels = new LinkedHashMap<>();
        boolean inLabels = false;
        for (String part : spec.split(",")) {
            if (part.startsWith("ns=")) {
                ns = part.substring(3);
                inLabels = false;
                continue;
            }
            String label = part;
            if (part.startsWith("labels=")) {
                inLabels = true;
                label = part.substring("labels=".length());
                if (label.isEmpty()) {
                    continue;
                }
            }
            int eq = label.indexOf('=');
            if (!inLabels || eq <= 0) {
                throw bad("--workload: \"" + spec + "\" (expected: ns=<ns>[,labels=k=v,...])");
            }
            labels.put(label.substring(0, eq), label.substring(eq + 1));
        }
        if (ns == null || !ns.matches("[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?")) {
            throw bad("--workload: \"" + spec + "\" (expected: ns=<a Kubernetes namespace>[,labels=k=v,...])");
        }
        return Workload.of(ns, labels);
    }

    /** The request, or null when normalization refuses its path. */
    static AuthzRequest parseRequest(JsonNode doc, PathNormalization normalization) {
        if (doc == null || !doc.isObject()) {
            throw new IllegalArgumentException("expected a mapping with protocol, source, request, destination, connection");
        }
        only(doc, TOP, "");
        String protocolText = text(doc, "protocol", "");
        Protocol protocol = protocolText == null || protocolText.equalsIgnoreCase("http") ? Protocol.HTTP
                : protocolText.equalsIgnoreCase("tcp") ? Protocol.TCP : null;
        if (protocol == null) {
            throw new IllegalArgumentException("protocol: \"" + protocolText + "\" (expected: http or tcp)");
        }
        AuthzRequest.Builder b = AuthzRequest.builder(protocol);
        JsonNode source = object(doc, "source", SOURCE);
        if (source != null) {
            String principal = text(source, "principal", "source.");
            b.sourcePrincipal(principal);
            String namespace = text(source, "namespace", "source.");
            if (namespace != null) {
                String derived = AuthzRequest.builder(protocol).sourcePrincipal(principal).build().sourceNamespace();
                if (!namespace.equals(derived)) {
                    throw new IllegalArgumentException("source.namespace: \"" + namespace + "\" (expected: the namespace"
                            + " in source.principal, " + (derived == null ? "which has none" : "\"" + derived + "\"") + ")");
                }
            }
            b.sourceIp(text(source, "ip", "source.")).remoteIp(text(source, "remoteIp", "source."));
        }
        JsonNode req = object(doc, "request", REQUEST);
        int port = -1;
        if (req != null) {
            b.method(text(req, "method", "request.")).host(text(req, "host", "request."));
            String raw = text(req, "path", "request.");
            if (raw != null) {
                String path = normalization.normalize(raw);
                if (path == null) {
                    return null;
                }
                b.path(path);
            }
            port = port(req, "request.");
            JsonNode headers = req.get("headers");
            if (headers != null) {
                if (!headers.isObject()) {
                    throw new IllegalArgumentException("request.headers: expected a mapping of names to values");
                }
                for (Iterator<Map.Entry<String, JsonNode>> it = headers.fields(); it.hasNext(); ) {
                    Map.Entry<String, JsonNode> h = it.next();
                    if (!h.getValue().isValueNode()) {
                        throw new IllegalArgumentException("request.headers." + h.getKey() + ": expected a string");
                    }
                    b.header(h.getKey(), h.getValue().asText());
                }
            }
            JsonNode auth = object(req, "auth", AUTH);
            if (auth != null) {
                b.requestPrincipal(text(auth, "principal", "request.auth.")).presenter(text(auth, "presenter",
                        "request.auth."));
                JsonNode audiences = auth.get("audiences");
                if (audiences != null) {
                    List<String> list = new ArrayList<>();
                    if (audiences.isArray()) {
                        audiences.forEach(a -> list.add(a.asText()));
                    } else {
                        list.add(audiences.asText());
                    }
                    b.audiences(list);
                }
                JsonNode claims = auth.get("claims");
                if (claims != null) {
                    if (!claims.isObject()) {
                        throw new IllegalArgumentException("request.auth.claims: expected a mapping");
                    }
                    @SuppressWarnings("unchecked")
                    Map<String, Object> map = new ObjectMapper().convertValue(claims, Map.class);
                    b.claims(map);
                }
            }
        }
        JsonNode destination = object(doc, "destination", DESTINATION);
        if (destination != null) {
            b.destinationIp(text(destination, "ip", "destination."));
            int p = port(destination, "destination.");
            port = p >= 0 ? p : port;
        }
        b.destinationPort(port);
        JsonNode connection = object(doc, "connection", CONNECTION);
        if (connection != null) {
            b.sni(text(connection, "sni", "connection."));
        }
        return b.build();
    }

    private static JsonNode object(JsonNode parent, String field, Set<String> allowed) {
        JsonNode node = parent.get(field);
        if (node == null || node.isNull()) {
            return null;
        }
        if (!node.isObject()) {
            throw new IllegalArgumentException(field + ": expected a mapping");
        }
        only(node, allowed, field + ".");
        return node;
    }

    private static void only(JsonNode node, Set<String> allowed, String prefix) {
        for (Iterator<String> it = node.fieldNames(); it.hasNext(); ) {
            String name = it.next();
            if (!allowed.contains(name)) {
                throw new IllegalArgumentException(prefix + name + ": unknown field (expected one of: "
                        + String.join(", ", new java.util.TreeSet<>(allowed)) + ")");
            }
        }
    }

    private static String text(JsonNode node, String field, String prefix) {
        JsonNode v = node.get(field);
        if (v == null || v.isNull()) {
            return null;
        }
        if (!v.isValueNode()) {
            throw new IllegalArgumentException(prefix + field + ": expected a string");
        }
        return v.asText();
    }

    private static int port(JsonNode node, String prefix) {
        JsonNode v = node.get("port");
        if (v == null || v.isNull()) {
            return -1;
        }
        if (!v.canConvertToInt() || v.asInt() < 0 || v.asInt() > 65535) {
            if (v.isTextual() && v.asText().matches("[0-9]{1,5}") && Integer.parseInt(v.asText()) <= 65535) {
                return Integer.parseInt(v.asText());
            }
            throw new IllegalArgumentException(prefix + "port: " + v + " (expected: 0-65535)");
        }
        return v.asInt();
    }

    private CommandLine.ParameterException bad(String message) {
        return new CommandLine.ParameterException(spec.commandLine(), message);
    }
}
