package dev.keel.policy;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * What Istio refuses, Keel refuses, saying where and why: one input per rule, each with the one error it
 * must produce ({@code line: field path: message}). The messages are the parser's stable texts.
 */
class InvalidPolicyTest {

    private static final String AP = "apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata:\n  name: p\n";
    private static final String RA = "apiVersion: security.istio.io/v1\nkind: RequestAuthentication\nmetadata:\n  name: r\n";
    private static final String PA = "apiVersion: security.istio.io/v1\nkind: PeerAuthentication\nmetadata:\n  name: m\n";

    /** An AuthorizationPolicy whose spec starts on line 6. */
    private static String ap(String spec) {
        return AP + "spec:\n" + indent(spec);
    }

    /** A RequestAuthentication whose first jwtRule starts on line 7. */
    private static String jwt(String rule) {
        return RA + "spec:\n  jwtRules:\n" + indent("- " + indent(rule).substring(2).stripLeading());
    }

    /** A PeerAuthentication whose spec starts on line 6. */
    private static String pa(String spec) {
        return PA + "spec:\n" + indent(spec);
    }

    /** One source, {@code spec.rules[0].from[0].source}, whose fields start on line 9. */
    private static String source(String fields) {
        return ap("rules:\n- from:\n  - source:\n" + indent(indent(indent(fields))));
    }

    /** One operation, {@code spec.rules[0].to[0].operation}, whose fields start on line 9. */
    private static String operation(String fields) {
        return ap("rules:\n- to:\n  - operation:\n" + indent(indent(indent(fields))));
    }

    /** One condition, {@code spec.rules[0].when[0]}, starting on line 8. */
    private static String when(String condition) {
        return ap("rules:\n- when:\n  - " + indent(indent(condition)).stripLeading());
    }

    private static String indent(String s) {
        return s.lines().map(l -> "  " + l).reduce("", (a, b) -> a + b + "\n");
    }

    static Stream<Arguments> invalid() {
        return Stream.of(
                // ---------------------------------------------------------------- strict reading
                row("misspelled field, with a suggestion",
                        source("principal: [\"cluster.local/ns/a/sa/b\"]"),
                        "9: spec.rules[0].from[0].source.principal: unknown field \"principal\" (did you mean \"principals\"?)"),
                row("proto name instead of the JSON name",
                        source("ip_blocks: [\"10.0.0.0/8\"]"),
                        "9: spec.rules[0].from[0].source.ip_blocks: unknown field \"ip_blocks\" (did you mean \"ipBlocks\"?)"),
                row("unknown field without a close name",
                        ap("color: blue"),
                        "6: spec.color: unknown field \"color\" (expected one of: selector, targetRef, targetRefs, rules, action, provider)"),
                row("unknown top-level field",
                        AP + "sepc: {}\n",
                        "5: sepc: unknown field \"sepc\" (did you mean \"spec\"?)"),
                row("unknown metadata field",
                        AP + "  namepsace: foo\n",
                        "5: metadata.namepsace: unknown field \"namepsace\" (did you mean \"namespace\"?)"),
                row("a string where Istio wants a list",
                        source("principals: cluster.local/ns/a/sa/b"),
                        "9: spec.rules[0].from[0].source.principals: expected a list, got a string"),
                row("a number where Istio wants a string",
                        operation("ports: [8080]"),
                        "9: spec.rules[0].to[0].operation.ports[0]: expected a string, got a number (quote it: \"8080\")"),
                row("a boolean where Istio wants a string",
                        ap("selector:\n  matchLabels:\n    canary: true"),
                        "8: spec.selector.matchLabels.canary: expected a string, got a boolean (quote it: \"true\")"),
                row("a mapping where Istio wants a list",
                        ap("rules: {to: []}"),
                        "6: spec.rules: expected a list, got a mapping"),
                row("null where a value is required",
                        ap("action:"),
                        "6: spec.action: expected a string, got null"),
                row("bad enum value, listing the allowed ones",
                        ap("action: allow"),
                        "6: spec.action: \"allow\" is not one of ALLOW, DENY, AUDIT, CUSTOM (did you mean \"ALLOW\"?)"),
                row("bad mTLS mode",
                        pa("mtls:\n  mode: STRICTER"),
                        "7: spec.mtls.mode: \"STRICTER\" is not one of UNSET, DISABLE, PERMISSIVE, STRICT (did you mean \"STRICT\"?)"),
                row("a boolean that is a string",
                        jwt("issuer: i\nforwardOriginalToken: \"yes\""),
                        "8: spec.jwtRules[0].forwardOriginalToken: expected a boolean (true or false), got a string"),
                row("duplicate key",
                        ap("action: ALLOW\naction: DENY"),
                        "7: spec.action: duplicate field \"action\" (first at line 6)"),
                row("missing name",
                        "apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata:\n  namespace: foo\n",
                        "3: metadata: missing required field \"name\""),
                row("missing apiVersion",
                        "kind: AuthorizationPolicy\nmetadata:\n  name: p\n",
                        "1: missing required field \"apiVersion\""),
                row("from without its source",
                        ap("rules:\n- from:\n  - {}"),
                        "8: spec.rules[0].from[0]: missing required field \"source\""),
                row("an empty from list",
                        ap("rules:\n- from: []"),
                        "7: spec.rules[0].from: must not be empty (leave the field out to match any source)"),
                row("an empty to list",
                        ap("rules:\n- to: []"),
                        "7: spec.rules[0].to: must not be empty (leave the field out to match any operation)"),
                row("YAML syntax error",
                        ap("rules:\n- to: [\n  - x"),
                        "8: invalid YAML: while parsing a flow node, expected the node content, but found '-'"),
                row("YAML merge key",
                        ap("<<: {action: DENY}"),
                        "6: spec[\"<<\"]: YAML merge keys (\"<<\") are not supported; write the fields out"),
                row("JSON type error",
                        "{\"apiVersion\": \"security.istio.io/v1\", \"kind\": \"PeerAuthentication\",\n"
                                + " \"metadata\": {\"name\": \"p\"}, \"spec\": {\"mtls\": {\"mode\": 3}}}",
                        "2: spec.mtls.mode: expected a string, got a number (quote it: \"3\")"),

                // ---------------------------------------------------------------- apiVersion and kind
                row("v1alpha1",
                        "apiVersion: security.istio.io/v1alpha1\nkind: AuthorizationPolicy\nmetadata:\n  name: p\n",
                        "1: apiVersion: \"security.istio.io/v1alpha1\" is not supported (expected \"security.istio.io/v1\" or"
                                + " \"security.istio.io/v1beta1\")"),
                row("unknown security.istio.io kind",
                        "apiVersion: security.istio.io/v1\nkind: AuthorizationPolicies\nmetadata:\n  name: p\n",
                        "2: kind: \"AuthorizationPolicies\" is not a security.istio.io kind (did you mean \"AuthorizationPolicy\"?)"),
                row("removed Istio RBAC",
                        "apiVersion: rbac.istio.io/v1alpha1\nkind: ServiceRole\nmetadata:\n  name: viewer\n",
                        "1: apiVersion: \"rbac.istio.io/v1alpha1\" is a security API that Istio removed in 1.6; write it as a"
                                + " security.istio.io/v1 AuthorizationPolicy, RequestAuthentication or PeerAuthentication"),
                row("not an object",
                        "- apiVersion: security.istio.io/v1\n",
                        "1: expected a Kubernetes object (a mapping with apiVersion and kind), got a list"),

                // ---------------------------------------------------------------- metadata
                row("invalid name",
                        "apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata:\n  name: Allow_All\n",
                        "4: metadata.name: \"Allow_All\" is not a valid name: lower-case letters, digits, '-' and '.', starting"
                                + " and ending with a letter or digit, at most 253 characters"),
                row("invalid label value",
                        AP + "  labels:\n    app: \"-bad-\"\n",
                        "6: metadata.labels.app: \"-bad-\" is not a valid label value: at most 63 letters, digits, '-', '_' and"
                                + " '.', starting and ending with a letter or digit"),
                row("dry-run on a PeerAuthentication",
                        PA + "  annotations:\n    istio.io/dry-run: \"true\"\n",
                        "6: metadata.annotations[\"istio.io/dry-run\"]: the istio.io/dry-run annotation is only supported on"
                                + " AuthorizationPolicy; remove it"),
                row("dry-run that is not a boolean",
                        AP + "  annotations:\n    istio.io/dry-run: \"maybe\"\n",
                        "6: metadata.annotations[\"istio.io/dry-run\"]: \"maybe\" is not a boolean (expected true or false)"),
                row("dry-run on an AUDIT policy",
                        AP + "  annotations:\n    istio.io/dry-run: \"true\"\nspec:\n  action: AUDIT\n  rules: [{}]\n",
                        "6: metadata.annotations[\"istio.io/dry-run\"]: the istio.io/dry-run annotation only supports action"
                                + " ALLOW or DENY, not AUDIT"),

                // ---------------------------------------------------------------- targets
                row("selector and targetRef together",
                        ap("selector:\n  matchLabels: {app: a}\ntargetRef:\n  kind: Service\n  name: a"),
                        "8: spec.targetRef: only one of selector, targetRef or targetRefs can be set"),
                row("targetRef to an unsupported kind",
                        ap("targetRef:\n  group: apps\n  kind: Deployment\n  name: a"),
                        "6: spec.targetRef: a targetRef must refer to a Service, a networking.istio.io ServiceEntry, or a"
                                + " gateway.networking.k8s.io Gateway or GatewayClass, not \"apps/Deployment\""),
                row("targetRef across namespaces",
                        ap("targetRefs:\n- kind: Service\n  name: a\n  namespace: other"),
                        "9: spec.targetRefs[0].namespace: cross-namespace references are not supported; remove namespace"),
                row("targetRef without name",
                        ap("targetRef:\n  kind: Service"),
                        "6: spec.targetRef: missing required field \"name\""),
                row("wildcard in a selector",
                        ap("selector:\n  matchLabels:\n    app: \"web-*\""),
                        "8: spec.selector.matchLabels.app: wildcards are not supported in a selector"),

                // ---------------------------------------------------------------- actions
                row("CUSTOM without provider",
                        ap("action: CUSTOM\nrules: [{}]"),
                        "5: spec.provider: provider.name is required with action CUSTOM"),
                row("provider with ALLOW",
                        ap("provider: {name: ext}\nrules: [{}]"),
                        "6: spec.provider: provider is only allowed with action CUSTOM, not ALLOW"),
                row("CUSTOM without rules",
                        ap("action: CUSTOM\nprovider: {name: ext}"),
                        "6: spec.action: CUSTOM action without rules is meaningless as it will never be triggered; add an"
                                + " empty rule {} to trigger it for every request"),
                row("DENY without rules",
                        ap("action: DENY"),
                        "6: spec.action: DENY action without rules is meaningless as it will never be triggered; add an empty"
                                + " rule {} to deny every request"),
                row("CUSTOM with principals",
                        ap("action: CUSTOM\nprovider: {name: ext}\nrules:\n- from:\n  - source:\n      principals: [\"*\"]"),
                        "11: spec.rules[0].from[0].source.principals: principals is not supported with action CUSTOM"),
                row("CUSTOM with a JWT condition",
                        ap("action: CUSTOM\nprovider: {name: ext}\nrules:\n- when:\n  - key: request.auth.claims[iss]\n"
                                + "    values: [\"x\"]"),
                        "10: spec.rules[0].when[0].key: \"request.auth.claims[iss]\" is not supported with action CUSTOM"),

                // ---------------------------------------------------------------- sources
                row("CIDR with a prefix length out of range",
                        ap("rules:\n- from:\n  - source:\n      namespaces: [\"a\"]\n  - source:\n"
                                + "      ipBlocks: [\"10.0.0.0/8\", \"2001:db8::/32\", \"10.0.0.0/33\"]"),
                        "11: spec.rules[0].from[1].source.ipBlocks[2]: \"10.0.0.0/33\" is not a CIDR (prefix length 33 is out"
                                + " of range 0..32)"),
                row("IP address with an octet over 255",
                        source("notIpBlocks: [\"10.0.0.256\"]"),
                        "9: spec.rules[0].from[0].source.notIpBlocks[0]: \"10.0.0.256\" is not an IP address (IPv4 field has"
                                + " value >255)"),
                row("IPv4 with a leading zero",
                        source("remoteIpBlocks: [\"10.01.0.0/16\"]"),
                        "9: spec.rules[0].from[0].source.remoteIpBlocks[0]: \"10.01.0.0/16\" is not a CIDR (bad address"
                                + " \"10.01.0.0\": IPv4 field has octet with leading zero)"),
                row("IPv6 with two ellipses",
                        source("notRemoteIpBlocks: [\"2001::db8::1\"]"),
                        "9: spec.rules[0].from[0].source.notRemoteIpBlocks[0]: \"2001::db8::1\" is not an IP address (multiple"
                                + " :: in address)"),
                row("a prefix length with a sign",
                        source("ipBlocks: [\"10.0.0.0/+8\"]"),
                        "9: spec.rules[0].from[0].source.ipBlocks[0]: \"10.0.0.0/+8\" is not a CIDR (bad prefix length \"+8\")"),
                row("an empty source",
                        ap("rules:\n- from:\n  - source: {}"),
                        "8: spec.rules[0].from[0].source: must not be empty"),
                row("an empty value",
                        source("namespaces: [\"\"]"),
                        "9: spec.rules[0].from[0].source.namespaces[0]: must not be empty"),
                row("principal written with spiffe://",
                        source("principals: [\"spiffe://cluster.local/ns/a/sa/b\"]"),
                        "9: spec.rules[0].from[0].source.principals[0]: \"spiffe://cluster.local/ns/a/sa/b\" is not a valid"
                                + " principal: write it without \"spiffe://\" (Istio adds it), as \"cluster.local/ns/a/sa/b\""),
                row("principal that is not a SPIFFE ID",
                        source("notPrincipals: [\"cluster.local/ns/a/sa/b%20c\"]"),
                        "9: spec.rules[0].from[0].source.notPrincipals[0]: \"cluster.local/ns/a/sa/b%20c\" is not a valid"
                                + " principal: path: \"/ns/a/sa/b%20c\" is percent-encoded at index 10 (not allowed)"),
                row("principal with an upper-case trust domain",
                        source("principals: [\"Cluster.Local/ns/a/sa/b\"]"),
                        "9: spec.rules[0].from[0].source.principals[0]: \"Cluster.Local/ns/a/sa/b\" is not a valid principal:"
                                + " trust domain: \"Cluster.Local\" has character 'C' at index 0 (expected: lower-case letters,"
                                + " digits, '.', '-', '_')"),
                row("wildcard inside a principal",
                        source("principals: [\"cluster.local/ns/*/sa/b\"]"),
                        "9: spec.rules[0].from[0].source.principals[0]: \"cluster.local/ns/*/sa/b\" is not a valid principal:"
                                + " '*' is a wildcard only as the first or the last character, not both (Istio matches any other '*'"
                                + " literally)"),
                row("serviceAccounts with principals",
                        source("serviceAccounts: [\"default/sleep\"]\nprincipals: [\"*\"]"),
                        "9: spec.rules[0].from[0].source.serviceAccounts: serviceAccounts cannot be combined with principals"
                                + " or namespaces"),
                row("wildcard in serviceAccounts",
                        source("serviceAccounts: [\"default/*\"]"),
                        "9: spec.rules[0].from[0].source.serviceAccounts[0]: \"default/*\": wildcards are not supported in"
                                + " serviceAccounts"),
                row("malformed service account",
                        source("notServiceAccounts: [\"a/b/c\"]"),
                        "9: spec.rules[0].from[0].source.notServiceAccounts[0]: \"a/b/c\" is not a service account (expected"
                                + " \"<namespace>/<name>\", or \"<name>\" in the policy's namespace)"),

                // ---------------------------------------------------------------- operations
                row("port over 65535",
                        operation("ports: [\"65536\"]"),
                        "9: spec.rules[0].to[0].operation.ports[0]: \"65536\" is not a port (expected a number 0..65535)"),
                row("port by name",
                        operation("notPorts: [\"http\"]"),
                        "9: spec.rules[0].to[0].operation.notPorts[0]: \"http\" is not a port (expected a number 0..65535)"),
                row("empty method",
                        operation("methods: [\"GET\", \"\"]"),
                        "9: spec.rules[0].to[0].operation.methods[1]: must not be empty"),
                row("empty host",
                        operation("notHosts: [\"\"]"),
                        "9: spec.rules[0].to[0].operation.notHosts[0]: must not be empty"),
                row("empty operation",
                        ap("rules:\n- to:\n  - operation: {}"),
                        "8: spec.rules[0].to[0].operation: must not be empty"),
                row("path template with a named variable",
                        operation("paths: [\"/store/{id}/items/{*}\"]"),
                        "9: spec.rules[0].to[0].operation.paths[0]: \"/store/{id}/items/{*}\" is not a supported path"
                                + " template: use {*} and {**} only as whole path segments, without named variables or bare *"
                                + " and ** segments"),
                row("path template mixed with a bare wildcard",
                        operation("notPaths: [\"/a/*/{**}\"]"),
                        "9: spec.rules[0].to[0].operation.notPaths[0]: \"/a/*/{**}\" is not a supported path template: use"
                                + " {*} and {**} only as whole path segments, without named variables or bare * and ** segments"),

                // ---------------------------------------------------------------- conditions
                row("unknown condition key, with a suggestion",
                        when("key: source.ips\nvalues: [\"10.0.0.1\"]"),
                        "8: spec.rules[0].when[0].key: \"source.ips\" is not a supported condition key (did you mean"
                                + " \"source.ip\"?)"),
                row("header condition without brackets",
                        when("key: request.headers\nvalues: [\"x\"]"),
                        "8: spec.rules[0].when[0].key: \"request.headers\" must have the form name[key], e.g."
                                + " request.headers[User-Agent]"),
                row("condition without values",
                        when("key: source.namespace"),
                        "8: spec.rules[0].when[0]: at least one of values or notValues must be set"),
                row("condition without key",
                        when("values: [\"a\"]"),
                        "8: spec.rules[0].when[0]: missing required field \"key\""),
                row("destination.port that is not a port",
                        when("key: destination.port\nnotValues: [\"https\"]"),
                        "9: spec.rules[0].when[0].notValues[0]: \"https\" is not a port (expected a number 0..65535)"),
                row("source.ip that is not an IP",
                        when("key: source.ip\nvalues: [\"localhost\"]"),
                        "9: spec.rules[0].when[0].values[0]: \"localhost\" is not an IP address (unable to parse IP)"),
                row("destination.labels, replaced by the selector",
                        when("key: destination.labels[app]\nvalues: [\"a\"]"),
                        "8: spec.rules[0].when[0].key: \"destination.labels[app]\" is not supported: destination.labels is"
                                + " replaced by the workload selector"),

                // ---------------------------------------------------------------- RequestAuthentication
                row("neither issuer nor jwksUri",
                        jwt("audiences: [\"a\"]"),
                        "7: spec.jwtRules[0]: one of issuer or jwksUri must be set"),
                row("jwksUri that is not http(s)",
                        jwt("issuer: i\njwksUri: ftp://example.com/keys"),
                        "8: spec.jwtRules[0].jwksUri: \"ftp://example.com/keys\" is not a valid jwksUri: scheme \"ftp\" is not"
                                + " supported (expected http or https)"),
                row("jwksUri with a bad port",
                        jwt("issuer: i\njwksUri: https://example.com:https/keys"),
                        "8: spec.jwtRules[0].jwksUri: \"https://example.com:https/keys\" is not a valid jwksUri: invalid port"
                                + " \"https\""),
                row("jwks and jwksUri together",
                        jwt("issuer: i\njwksUri: https://example.com/keys\njwks: '{\"keys\": [{\"kty\": \"EC\"}]}'"),
                        "9: spec.jwtRules[0].jwks: only one of jwks or jwksUri can be set"),
                row("jwks that is not JSON",
                        jwt("issuer: i\njwks: 'keys: []'"),
                        "8: spec.jwtRules[0].jwks: not valid JSON: Unrecognized token 'keys': was expecting (JSON String,"
                                + " Number, Array, Object or token 'null', 'true' or 'false')"),
                row("jwks without keys",
                        jwt("issuer: i\njwks: '{\"kty\": \"RSA\"}'"),
                        "8: spec.jwtRules[0].jwks: must be a JSON Web Key Set: an object with a \"keys\" list"),
                row("jwks_uri and jwksUri together",
                        jwt("issuer: i\njwksUri: https://a/keys\njwks_uri: https://b/keys"),
                        "9: spec.jwtRules[0].jwks_uri: jwks_uri is another name for jwksUri; set only one of them"),
                row("fromHeaders without name",
                        jwt("issuer: i\nfromHeaders:\n- prefix: \"Bearer \""),
                        "9: spec.jwtRules[0].fromHeaders[0]: missing required field \"name\""),
                row("empty audience",
                        jwt("issuer: i\naudiences: [\"\"]"),
                        "8: spec.jwtRules[0].audiences[0]: must not be empty"),
                row("outputClaimToHeaders with a bad header name",
                        jwt("issuer: i\noutputClaimToHeaders:\n- header: \"x jwt\"\n  claim: sub"),
                        "9: spec.jwtRules[0].outputClaimToHeaders[0].header: \"x jwt\" is not a valid header name (letters,"
                                + " digits, '-' and '_' only)"),
                row("zero timeout",
                        jwt("issuer: i\ntimeout: 0s"),
                        "8: spec.jwtRules[0].timeout: must be at least 1ms"),
                row("timeout finer than a millisecond",
                        jwt("issuer: i\ntimeout: 1.0005s"),
                        "8: spec.jwtRules[0].timeout: must be a whole number of milliseconds"),
                row("timeout that is not a duration",
                        jwt("issuer: i\ntimeout: 5 seconds"),
                        "8: spec.jwtRules[0].timeout: \"5 seconds\" is not a duration (expected a number with a unit, e.g."
                                + " \"10s\", \"500ms\", \"1m30s\")"),

                // ---------------------------------------------------------------- PeerAuthentication
                row("portLevelMtls without selector",
                        pa("portLevelMtls:\n  8080:\n    mode: DISABLE"),
                        "6: spec.portLevelMtls: portLevelMtls requires a selector with matchLabels: a mesh- or namespace-wide"
                                + " PeerAuthentication cannot set port-level mTLS"),
                row("port 0 in portLevelMtls",
                        pa("selector:\n  matchLabels: {app: a}\nportLevelMtls:\n  0:\n    mode: DISABLE"),
                        "9: spec.portLevelMtls[\"0\"]: \"0\" is not a port number (expected 1..65535)"),
                row("empty portLevelMtls",
                        pa("selector:\n  matchLabels: {app: a}\nportLevelMtls: {}"),
                        "8: spec.portLevelMtls: must list at least one port when set"),
                row("port by name in portLevelMtls",
                        pa("selector:\n  matchLabels: {app: a}\nportLevelMtls:\n  http: {mode: STRICT}"),
                        "9: spec.portLevelMtls.http: \"http\" is not a port number (expected 1..65535)"));
    }

    private static Arguments row(String rule, String yaml, String expected) {
        return Arguments.of(rule, yaml, expected);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("invalid")
    void refusedWithLineFieldAndReason(String rule, String yaml, String expected) {
        ParseResult result = PolicyParser.parse("invalid.yaml", yaml);
        assertThat(Fixtures.briefs(result)).as(rule + " in\n" + yaml).isEqualTo(expected);
    }
}
