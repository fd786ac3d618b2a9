package dev.keel.policy.internal;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.keel.policy.AuthorizationPolicy;
import dev.keel.policy.AuthorizationPolicy.Action;
import dev.keel.policy.ClaimToHeader;
import dev.keel.policy.Condition;
import dev.keel.policy.IstioPolicy;
import dev.keel.policy.JWTHeader;
import dev.keel.policy.JWTRule;
import dev.keel.policy.Operation;
import dev.keel.policy.PeerAuthentication;
import dev.keel.policy.PolicyError;
import dev.keel.policy.PolicyMetadata;
import dev.keel.policy.PolicyTargetReference;
import dev.keel.policy.RequestAuthentication;
import dev.keel.policy.Rule;
import dev.keel.policy.Source;
import dev.keel.policy.WorkloadSelector;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * Istio's validation of the three kinds, rule for rule. The sources, cited per rule: istiod's webhook
 * ({@code pkg/config/validation/validation.go}: {@code ValidateAuthorizationPolicy},
 * {@code ValidateRequestAuthentication}, {@code validateJwtRule}, {@code ValidatePeerAuthentication},
 * {@code validateWorkloadSelector}, {@code validateOneOfSelectorType}, {@code validatePolicyTargetReference},
 * {@code checkDryRunAnnotation}), its helpers ({@code pkg/config/security/security.go}: {@code ValidateIPs},
 * {@code ValidatePorts}, {@code CheckEmptyValues}, {@code CheckValidPathTemplate},
 * {@code ValidateAttribute}, {@code ParseJwksURI}), and the CRD schema's limits and CEL rules
 * ({@code customresourcedefinitions.gen.yaml}). Kubernetes' own metadata rules apply too. Messages are
 * Keel's, written to follow a field path; Keel-only rules say so where they are.
 */
public final class Validator {

    private static final Set<String> PLAIN_KEYS = Set.of("source.ip", "remote.ip", "source.namespace", "source.principal",
            "source.serviceAccount", "request.auth.principal", "request.auth.audiences", "request.auth.presenter",
            "destination.ip", "destination.port", "connection.sni");
    private static final List<String> KEY_NAMES = List.of("request.headers", "source.ip", "remote.ip", "source.namespace",
            "source.principal", "source.serviceAccount", "request.auth.principal", "request.auth.audiences",
            "request.auth.presenter", "request.auth.claims", "destination.ip", "destination.port", "connection.sni");
    /** security.go: unsupportedPathTempRegex; a path with {*} or {**} must not match it. */
    private static final Pattern UNSUPPORTED_PATH_TEMPLATE =
            Pattern.compile("/\\{\\w+=\\*\\*?\\}|\\{\\w*\\}|/\\*\\*?|\\*\\*?/");
    private static final Pattern HEADER_NAME = Pattern.compile("[-_A-Za-z0-9]+");
    private static final Set<String> JWK_KEY_TYPES = Set.of("RSA", "EC", "OKP", "oct");
    private static final ObjectMapper JSON = new ObjectMapper(TreeReader.JSON)
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);
    static final String ALWAYS_REJECT_ANNOTATION = "internal.istio.io/webhook-always-reject";

    private Validator() {
    }

    /** The errors of a policy built in code: paths but no positions (line and column 0). */
    public static List<PolicyError> validate(IstioPolicy policy) {
        List<PolicyError> errors = new ArrayList<>();
        check(policy, new Problems("", 0, "", errors));
        return List.copyOf(errors);
    }

    static void check(IstioPolicy policy, Problems p) {
        metadata(policy, p);
        if (policy instanceof AuthorizationPolicy) {
            authorizationPolicy((AuthorizationPolicy) policy, p);
        } else if (policy instanceof RequestAuthentication) {
            requestAuthentication((RequestAuthentication) policy, p);
        } else {
            peerAuthentication((PeerAuthentication) policy, p);
        }
    }

    // ------------------------------------------------------------------------------------------ metadata

    private static void metadata(IstioPolicy policy, Problems p) {
        PolicyMetadata m = policy.metadata();
        // Kubernetes: a namespaced custom resource's name is a DNS-1123 subdomain, its namespace a label.
        if (!Names.isDns1123Subdomain(m.name())) {
            p.error("metadata.name", Paths.quote(m.name()) + " is not a valid name: lower-case letters, digits, '-' and '.',"
                    + " starting and ending with a letter or digit, at most 253 characters");
        }
        if (!Names.isDns1123Label(m.namespace())) {
            p.error("metadata.namespace", Paths.quote(m.namespace()) + " is not a valid namespace: lower-case letters,"
                    + " digits and '-', starting and ending with a letter or digit, at most 63 characters");
        }
        m.labels().forEach((k, v) -> {
            String path = Paths.field("metadata.labels", k);
            if (!Names.isLabelKey(k)) {
                p.error(path, Paths.quote(k) + " is not a valid label key: an optional DNS subdomain and '/', then at most"
                        + " 63 letters, digits, '-', '_' and '.', starting and ending with a letter or digit");
            } else if (!Names.isLabelValue(v)) {
                p.error(path, Paths.quote(v) + " is not a valid label value: at most 63 letters, digits, '-', '_' and '.',"
                        + " starting and ending with a letter or digit");
            }
        });
        // validation.go checkDryRunAnnotation: AuthorizationPolicy only, ALLOW or DENY only, a Go bool.
        m.annotation(PolicyMetadata.DRY_RUN_ANNOTATION).ifPresent(v -> {
            String path = Paths.field("metadata.annotations", PolicyMetadata.DRY_RUN_ANNOTATION);
            if (!(policy instanceof AuthorizationPolicy)) {
                p.error(path, "the istio.io/dry-run annotation is only supported on AuthorizationPolicy; remove it");
                return;
            }
            Action action = ((AuthorizationPolicy) policy).action();
            if (action != Action.ALLOW && action != Action.DENY) {
                if (p.ok("spec.action")) {
                    p.error(path, "the istio.io/dry-run annotation only supports action ALLOW or DENY, not " + action);
                }
            } else if (!isGoBool(v)) {
                p.error(path, Paths.quote(v) + " is not a boolean (expected true or false)");
            }
        });
        // validation.go validateMetadata: the test hook that makes istiod reject anything.
        m.annotation(ALWAYS_REJECT_ANNOTATION).ifPresent(v -> p.error(Paths.field("metadata.annotations",
                ALWAYS_REJECT_ANNOTATION), "Istio rejects every object with this annotation"));
    }

    /** Go's strconv.ParseBool. */
    private static boolean isGoBool(String v) {
        switch (v) {
            case "1": case "t": case "T": case "TRUE": case "true": case "True":
            case "0": case "f": case "F": case "FALSE": case "false": case "False":
                return true;
            default:
                return false;
        }
    }

    // ------------------------------------------------------------------------------------------ targets

    /** validateOneOfSelectorType, validateWorkloadSelector, validatePolicyTargetReference(s), CRD limits. */
    private static void targets(Optional<WorkloadSelector> selector, Optional<PolicyTargetReference> targetRef,
                                List<PolicyTargetReference> targetRefs, Problems p) {
        int set = (selector.isPresent() ? 1 : 0) + (targetRef.isPresent() ? 1 : 0) + (targetRefs.isEmpty() ? 0 : 1);
        if (set > 1) {
            p.error(targetRefs.isEmpty() ? "spec.targetRef" : "spec.targetRefs",
                    "only one of selector, targetRef or targetRefs can be set");
        }
        selector.ifPresent(s -> selector("spec.selector", s, p));
        targetRef.ifPresent(r -> targetRef("spec.targetRef", r, p));
        if (targetRefs.size() > 16) {
            p.error("spec.targetRefs", "at most 16 targetRefs are allowed, found " + targetRefs.size());
        }
        for (int i = 0; i < targetRefs.size(); i++) {
            targetRef(Paths.index("spec.targetRefs", i), targetRefs.get(i), p);
        }
    }

    private static void selector(String path, WorkloadSelector selector, Problems p) {
        if (selector.matchLabels().size() > 4096) {
            p.error(path + ".matchLabels", "at most 4096 labels are allowed");
        }
        selector.matchLabels().forEach((k, v) -> {
            String labelPath = Paths.field(path + ".matchLabels", k);
            if (k.isEmpty()) {
                p.error(labelPath, "a label key must not be empty");
            } else if (k.contains("*") || v.contains("*")) {
                p.error(labelPath, "wildcards are not supported in a selector");
            } else if (v.length() > 63) {
                p.error(labelPath, "a label value has at most 63 characters");
            }
        });
    }

    /** The kinds istiod accepts (allowedTargetRefs); "" and "core" are the core group. */
    private static void targetRef(String path, PolicyTargetReference r, Problems p) {
        if (r.name().isEmpty()) {
            p.error(path + ".name", "must not be empty");
        }
        if (!r.namespace().isEmpty()) {
            p.error(path + ".namespace", "cross-namespace references are not supported; remove namespace");
        }
        String group = r.group().equals("core") ? "" : r.group();
        boolean allowed = group.isEmpty() && r.kind().equals("Service")
                || group.equals("networking.istio.io") && r.kind().equals("ServiceEntry")
                || group.equals("gateway.networking.k8s.io") && (r.kind().equals("Gateway") || r.kind().equals("GatewayClass"));
        if (!allowed) {
            p.error(path, "a targetRef must refer to a Service, a networking.istio.io ServiceEntry, or a"
                    + " gateway.networking.k8s.io Gateway or GatewayClass, not " + Paths.quote(r.group() + "/" + r.kind()));
        }
    }

    // ------------------------------------------------------------------------------------------ AuthorizationPolicy

    private static void authorizationPolicy(AuthorizationPolicy ap, Problems p) {
        targets(ap.selector(), ap.targetRef(), ap.targetRefs(), p);
        boolean actionKnown = p.ok("spec.action");
        boolean rulesKnown = p.ok("spec.rules");
        Action action = ap.action();
        if (actionKnown && action == Action.CUSTOM) {
            if (ap.rules().isEmpty()) {
                if (rulesKnown) {
                    p.error("spec.action", "CUSTOM action without rules is meaningless as it will never be triggered;"
                            + " add an empty rule {} to trigger it for every request");
                }
            } else if (ap.provider().map(pr -> pr.name().isEmpty()).orElse(true) && p.ok("spec.provider")) {
                p.error(ap.provider().isPresent() ? "spec.provider.name" : "spec.provider",
                        "provider.name is required with action CUSTOM");
            }
        }
        if (actionKnown && ap.provider().isPresent() && action != Action.CUSTOM) {
            p.error("spec.provider", "provider is only allowed with action CUSTOM, not " + action);
        }
        if (actionKnown && rulesKnown && action == Action.DENY && ap.rules().isEmpty()) {
            p.error("spec.action", "DENY action without rules is meaningless as it will never be triggered;"
                    + " add an empty rule {} to deny every request");
        }
        if (ap.rules().size() > 512) {
            p.error("spec.rules", "at most 512 rules are allowed, found " + ap.rules().size());
        }
        boolean custom = actionKnown && action == Action.CUSTOM;
        for (int i = 0; i < ap.rules().size(); i++) {
            rule(Paths.index("spec.rules", i), ap.rules().get(i), custom, p);
        }
    }

    private static void rule(String path, Rule rule, boolean custom, Problems p) {
        if (rule.from().size() > 512) {
            p.error(path + ".from", "at most 512 sources are allowed, found " + rule.from().size());
        }
        for (int j = 0; j < rule.from().size(); j++) {
            source(Paths.index(path + ".from", j) + ".source", rule.from().get(j), custom, p);
        }
        for (int j = 0; j < rule.to().size(); j++) {
            operation(Paths.index(path + ".to", j) + ".operation", rule.to().get(j), p);
        }
        for (int k = 0; k < rule.when().size(); k++) {
            condition(Paths.index(path + ".when", k), rule.when().get(k), custom, p);
        }
    }

    private static void source(String path, Source s, boolean custom, Problems p) {
        if (s.isEmpty()) {
            p.error(path, "must not be empty");
            return;
        }
        // CRD CEL: "Cannot set serviceAccounts with namespaces or principals"; istiod says the same.
        if (!(s.serviceAccounts().isEmpty() && s.notServiceAccounts().isEmpty())
                && !(s.principals().isEmpty() && s.notPrincipals().isEmpty() && s.namespaces().isEmpty()
                && s.notNamespaces().isEmpty())) {
            p.error(path + (s.serviceAccounts().isEmpty() ? ".notServiceAccounts" : ".serviceAccounts"),
                    "serviceAccounts cannot be combined with principals or namespaces");
        }
        if (custom) {
            // validation.go: "%s is currently not supported with CUSTOM action".
            unsupportedWithCustom(path, "namespaces", s.namespaces(), p);
            unsupportedWithCustom(path, "notNamespaces", s.notNamespaces(), p);
            unsupportedWithCustom(path, "serviceAccounts", s.serviceAccounts(), p);
            unsupportedWithCustom(path, "notServiceAccounts", s.notServiceAccounts(), p);
            unsupportedWithCustom(path, "principals", s.principals(), p);
            unsupportedWithCustom(path, "notPrincipals", s.notPrincipals(), p);
            unsupportedWithCustom(path, "requestPrincipals", s.requestPrincipals(), p);
            unsupportedWithCustom(path, "notRequestPrincipals", s.notRequestPrincipals(), p);
        }
        values(path + ".principals", s.principals(), Principals::check, p);
        values(path + ".notPrincipals", s.notPrincipals(), Principals::check, p);
        values(path + ".requestPrincipals", s.requestPrincipals(), v -> null, p);
        values(path + ".notRequestPrincipals", s.notRequestPrincipals(), v -> null, p);
        values(path + ".namespaces", s.namespaces(), v -> null, p);
        values(path + ".notNamespaces", s.notNamespaces(), v -> null, p);
        serviceAccounts(path + ".serviceAccounts", s.serviceAccounts(), p);
        serviceAccounts(path + ".notServiceAccounts", s.notServiceAccounts(), p);
        values(path + ".ipBlocks", s.ipBlocks(), IpAddresses::checkIpOrCidr, p);
        values(path + ".notIpBlocks", s.notIpBlocks(), IpAddresses::checkIpOrCidr, p);
        values(path + ".remoteIpBlocks", s.remoteIpBlocks(), IpAddresses::checkIpOrCidr, p);
        values(path + ".notRemoteIpBlocks", s.notRemoteIpBlocks(), IpAddresses::checkIpOrCidr, p);
    }

    private static void unsupportedWithCustom(String path, String field, List<String> values, Problems p) {
        if (!values.isEmpty()) {
            p.error(path + "." + field, field + " is not supported with action CUSTOM");
        }
    }

    /** CRD: at most 16, each at most 320 characters; no wildcards; {@code <namespace>/<name>} or {@code <name>}. */
    private static void serviceAccounts(String path, List<String> accounts, Problems p) {
        if (accounts.size() > 16) {
            p.error(path, "at most 16 service accounts are allowed, found " + accounts.size());
        }
        values(path, accounts, v -> {
            if (v.length() > 320) {
                return "a service account has at most 320 characters";
            }
            if (v.contains("*")) {
                return Paths.quote(v) + ": wildcards are not supported in serviceAccounts";
            }
            int slash = v.indexOf('/');
            if (slash == 0 || slash == v.length() - 1 || (slash > 0 && v.indexOf('/', slash + 1) >= 0)) {
                return Paths.quote(v) + " is not a service account (expected \"<namespace>/<name>\", or \"<name>\" in"
                        + " the policy's namespace)";
            }
            return null;
        }, p);
    }

    private static void operation(String path, Operation o, Problems p) {
        if (o.isEmpty()) {
            p.error(path, "must not be empty");
            return;
        }
        values(path + ".hosts", o.hosts(), v -> null, p);
        values(path + ".notHosts", o.notHosts(), v -> null, p);
        values(path + ".ports", o.ports(), Validator::portError, p);
        values(path + ".notPorts", o.notPorts(), Validator::portError, p);
        values(path + ".methods", o.methods(), v -> null, p);
        values(path + ".notMethods", o.notMethods(), v -> null, p);
        values(path + ".paths", o.paths(), Validator::pathError, p);
        values(path + ".notPaths", o.notPaths(), Validator::pathError, p);
    }

    /** security.go ValidatePorts: strconv.ParseUint(port, 10, 32), at most 65535. */
    static String portError(String v) {
        boolean digits = !v.isEmpty() && v.length() <= 10;
        long n = 0;
        for (int i = 0; digits && i < v.length(); i++) {
            char c = v.charAt(i);
            digits = c >= '0' && c <= '9';
            n = n * 10 + (c - '0');
        }
        return digits && n <= 65535 ? null : Paths.quote(v) + " is not a port (expected a number 0..65535)";
    }

    /** security.go CheckValidPathTemplate. */
    static String pathError(String v) {
        boolean template = v.contains("{*}") || v.contains("{**}");
        if (template && UNSUPPORTED_PATH_TEMPLATE.matcher(v).find()) {
            return Paths.quote(v) + " is not a supported path template: use {*} and {**} only as whole path segments,"
                    + " without named variables or bare * and ** segments";
        }
        return null;
    }

    private static void condition(String path, Condition c, boolean custom, Problems p) {
        String key = c.key();
        if (key.isEmpty()) {
            p.error(path + ".key", "must not be empty");
            return;
        }
        if (c.values().isEmpty() && c.notValues().isEmpty()) {
            p.error(path, "at least one of values or notValues must be set");
        }
        String keyError = keyError(key);
        if (keyError != null) {
            p.error(path + ".key", keyError);
        }
        if (custom && (key.equals("source.namespace") || key.equals("source.serviceAccount")
                || key.equals("source.principal") || key.startsWith("request.auth."))) {
            p.error(path + ".key", Paths.quote(key) + " is not supported with action CUSTOM");
        }
        ValueCheck check;
        switch (key) {
            case "source.ip":
            case "remote.ip":
            case "destination.ip":
                check = IpAddresses::checkIpOrCidr;
                break;
            case "destination.port":
                check = Validator::portError;
                break;
            case "source.principal":
                check = Principals::check;
                break;
            default:
                check = v -> null;
        }
        values(path + ".values", c.values(), check, p);
        values(path + ".notValues", c.notValues(), check, p);
    }

    /** security.go ValidateAttribute, for the key. */
    static String keyError(String key) {
        if (key.startsWith("request.headers") || key.startsWith("request.auth.claims")
                || key.startsWith("experimental.envoy.filters.")) {
            int open = key.indexOf('[');
            if (key.endsWith("]") && open > 0 && open < key.length() - 2) {
                return null;
            }
            return Paths.quote(key) + " must have the form name[key], e.g. request.headers[User-Agent]";
        }
        if (PLAIN_KEYS.contains(key)) {
            return null;
        }
        if (key.equals("destination.namespace")) {
            return "\"destination.namespace\" is not supported: it is replaced by metadata.namespace";
        }
        if (key.startsWith("destination.labels")) {
            return Paths.quote(key) + " is not supported: destination.labels is replaced by the workload selector";
        }
        if (key.equals("destination.name") || key.equals("destination.user")) {
            return Paths.quote(key) + " is not supported: it was only supported in v1alpha1";
        }
        int open = key.indexOf('[');
        String base = open < 0 ? key : key.substring(0, open);
        String closest = Suggest.closest(base, KEY_NAMES);
        String suggestion = "";
        if (closest != null) {
            boolean mapKey = closest.equals("request.headers") || closest.equals("request.auth.claims");
            suggestion = " (did you mean \"" + closest + (open >= 0 && mapKey ? key.substring(open) : mapKey ? "[...]" : "")
                    + "\"?)";
        }
        return Paths.quote(key) + " is not a supported condition key" + suggestion;
    }

    // ------------------------------------------------------------------------------------------ RequestAuthentication

    private static void requestAuthentication(RequestAuthentication ra, Problems p) {
        targets(ra.selector(), ra.targetRef(), ra.targetRefs(), p);
        if (ra.jwtRules().size() > 4096) {
            p.error("spec.jwtRules", "at most 4096 jwtRules are allowed, found " + ra.jwtRules().size());
        }
        for (int i = 0; i < ra.jwtRules().size(); i++) {
            jwtRule(Paths.index("spec.jwtRules", i), ra.jwtRules().get(i), p);
        }
    }

    /** validation.go validateJwtRule plus the CRD's rules. */
    private static void jwtRule(String path, JWTRule r, Problems p) {
        if (r.issuer().isEmpty() && r.jwksUri().isEmpty()) {
            p.error(path, "one of issuer or jwksUri must be set");
        }
        values(path + ".audiences", r.audiences(), v -> null, p);
        if (!r.jwksUri().isEmpty()) {
            String error = jwksUriError(r.jwksUri());
            if (error != null) {
                p.error(path + ".jwksUri", Paths.quote(r.jwksUri()) + " is not a valid jwksUri: " + error);
            }
        }
        if (!r.jwks().isEmpty()) {
            if (!r.jwksUri().isEmpty()) {
                p.error(path + ".jwks", "only one of jwks or jwksUri can be set");
            }
            String error = jwksError(r.jwks());
            if (error != null) {
                p.error(path + ".jwks", error);
            }
        }
        for (int j = 0; j < r.fromHeaders().size(); j++) {
            JWTHeader h = r.fromHeaders().get(j);
            if (h.name().isEmpty()) {
                p.error(Paths.index(path + ".fromHeaders", j) + ".name", "must not be empty");
            }
        }
        values(path + ".fromParams", r.fromParams(), v -> null, p);
        values(path + ".fromCookies", r.fromCookies(), v -> null, p);
        for (int j = 0; j < r.outputClaimToHeaders().size(); j++) {
            ClaimToHeader c = r.outputClaimToHeaders().get(j);
            String itemPath = Paths.index(path + ".outputClaimToHeaders", j);
            if (c.claim().isEmpty()) {
                p.error(itemPath + ".claim", "must not be empty");
            }
            if (c.header().isEmpty()) {
                p.error(itemPath + ".header", "must not be empty");
            } else if (!HEADER_NAME.matcher(c.header()).matches()) {
                p.error(itemPath + ".header", Paths.quote(c.header())
                        + " is not a valid header name (letters, digits, '-' and '_' only)");
            }
        }
        r.timeout().ifPresent(t -> {
            // agent.ValidateDuration.
            if (t.compareTo(Duration.ofMillis(1)) < 0) {
                p.error(path + ".timeout", "must be at least 1ms");
            } else if (t.toNanosPart() % 1_000_000 != 0) {
                p.error(path + ".timeout", "must be a whole number of milliseconds");
            }
        });
        if (r.spaceDelimitedClaims().size() > 64) {
            p.error(path + ".spaceDelimitedClaims", "at most 64 claims are allowed, found " + r.spaceDelimitedClaims().size());
        }
        values(path + ".spaceDelimitedClaims", r.spaceDelimitedClaims(), v -> null, p);
    }

    /** security.go ParseJwksURI (Go's url.Parse, http or https, a numeric port) and the CRD's maxLength. */
    static String jwksUriError(String uri) {
        if (uri.length() > 2048) {
            return "longer than 2048 characters";
        }
        for (int i = 0; i < uri.length(); i++) {
            char c = uri.charAt(i);
            if (c < 0x20 || c == 0x7f) {
                return "it contains a control character";
            }
        }
        int colon = uri.indexOf(':');
        String scheme = colon < 0 ? "" : uri.substring(0, colon).toLowerCase(java.util.Locale.ROOT);
        if (!scheme.equals("http") && !scheme.equals("https")) {
            return "scheme " + Paths.quote(scheme) + " is not supported (expected http or https)";
        }
        String rest = uri.substring(colon + 1);
        if (!rest.startsWith("//")) {
            return "it has no host";
        }
        int end = rest.length();
        for (char stop : new char[] {'/', '?', '#'}) {
            int at = rest.indexOf(stop, 2);
            if (at >= 0) {
                end = Math.min(end, at);
            }
        }
        String authority = rest.substring(2, end);
        String hostPort = authority.substring(authority.lastIndexOf('@') + 1);
        if (hostPort.isEmpty() || hostPort.indexOf(' ') >= 0) {
            return "it has no valid host";
        }
        int portStart = hostPort.startsWith("[") ? hostPort.indexOf("]:") + 1 : hostPort.lastIndexOf(':');
        if (portStart > 0) {
            String port = hostPort.substring(portStart + 1);
            if (port.length() > 9 || !port.chars().allMatch(ch -> ch >= '0' && ch <= '9')) {
                return "invalid port " + Paths.quote(port);
            }
        }
        return null;
    }

    /**
     * Istio parses jwks with lestrrat-go/jwx; Envoy, which gets it inline, wants a JSON Web Key Set: an
     * object with a non-empty "keys" list of keys with a known "kty".
     */
    static String jwksError(String jwks) {
        JsonNode root;
        try {
            root = JSON.readTree(jwks);
        } catch (JsonProcessingException e) {
            return "not valid JSON: " + e.getOriginalMessage();
        }
        if (root == null || !root.isObject()) {
            return "must be a JSON Web Key Set: an object with a \"keys\" list";
        }
        JsonNode keys = root.get("keys");
        if (keys == null || !keys.isArray()) {
            return "must be a JSON Web Key Set: an object with a \"keys\" list";
        }
        if (keys.isEmpty()) {
            return "the key set has no keys";
        }
        for (int i = 0; i < keys.size(); i++) {
            JsonNode key = keys.get(i);
            JsonNode kty = key.isObject() ? key.get("kty") : null;
            if (kty == null || !kty.isTextual() || !JWK_KEY_TYPES.contains(kty.asText())) {
                return "keys[" + i + "] has no valid \"kty\" (expected RSA, EC, OKP or oct)";
            }
        }
        return null;
    }

    // ------------------------------------------------------------------------------------------ PeerAuthentication

    /** validation.go ValidatePeerAuthentication and the CRD's "portLevelMtls requires selector". */
    private static void peerAuthentication(PeerAuthentication pa, Problems p) {
        pa.selector().ifPresent(s -> selector("spec.selector", s, p));
        boolean noLabels = pa.selector().map(WorkloadSelector::isEmpty).orElse(true);
        if (!pa.portLevelMtls().isEmpty() && noLabels && p.ok("spec.selector")) {
            p.error("spec.portLevelMtls", "portLevelMtls requires a selector with matchLabels: a mesh- or namespace-wide"
                    + " PeerAuthentication cannot set port-level mTLS");
        }
        for (Map.Entry<Integer, PeerAuthentication.MutualTLS> e : pa.portLevelMtls().entrySet()) {
            int port = e.getKey();
            if (port < 1 || port > 65535) {
                p.error(Paths.field("spec.portLevelMtls", String.valueOf(port)), "port " + port + " is out of range 1..65535");
            }
        }
    }

    // ------------------------------------------------------------------------------------------ values

    @FunctionalInterface
    private interface ValueCheck {
        /** Null when fine, else the message. */
        String check(String value);
    }

    /** security.go CheckEmptyValues for every element, then {@code check}. */
    private static void values(String path, List<String> values, ValueCheck check, Problems p) {
        for (int i = 0; i < values.size(); i++) {
            String v = values.get(i);
            String itemPath = Paths.index(path, i);
            if (v.isEmpty()) {
                p.error(itemPath, "must not be empty");
                continue;
            }
            String error = check.check(v);
            if (error != null) {
                p.error(itemPath, error);
            }
        }
    }
}
