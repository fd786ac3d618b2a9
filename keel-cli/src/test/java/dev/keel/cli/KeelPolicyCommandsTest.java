package dev.keel.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.keel.policy.ParseResult;
import dev.keel.policy.PolicyParser;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The {@code keel policy} commands as an operator runs them, in process. */
class KeelPolicyCommandsTest extends ConsoleTest {

    @TempDir
    Path tmp;

    @Test
    void catalogListsShowsAndInstantiates() throws Exception {
        assertThat(Keel.run("policy", "catalog")).isZero();
        assertThat(stdout()).contains("deny-all ", "allow-same-namespace", "strict-mtls", "require-jwt", "allow-health-checks",
                "deny-admin-except-group", "allow-service-accounts", "Require a JWT from one issuer on ingress");

        out.reset();
        assertThat(Keel.run("policy", "catalog", "show", "require-jwt")).isZero();
        assertThat(stdout()).startsWith("require-jwt: Require a JWT from one issuer on ingress")
                .contains("RequestAuthentication alone lets a")
                .containsPattern("issuer +the issuer \\(iss claim\\).*\\(required\\)")
                .contains("namespace", "(default: istio-system)");

        out.reset();
        assertThat(Keel.run("policy", "catalog", "deny-all", "--set", "namespace=shop")).isZero();
        ParseResult parsed = PolicyParser.parse("stdout", stdout());
        assertThat(parsed.errors()).isEmpty();
        assertThat(parsed.policies()).singleElement().satisfies(p -> assertThat(p.metadata().namespace()).isEqualTo("shop"));

        Path file = tmp.resolve("jwt.yaml");
        assertThat(Keel.run("policy", "catalog", "require-jwt", "--set", "issuer=https://issuer.example",
                "--set", "jwksUri=https://issuer.example/keys", "-o", file.toString())).isZero();
        assertThat(stderr()).contains("wrote require-jwt to " + file);
        assertThat(PolicyParser.parse(file.toString(), Files.readString(file)).policies()).hasSize(2);
    }

    @Test
    void catalogRefusesBadInputWithExit2() {
        assertThat(Keel.run("policy", "catalog", "deny-al")).isEqualTo(2);
        assertThat(stderr()).contains("no catalog entry \"deny-al\"; did you mean \"deny-all\"?");
        assertThat(Keel.run("policy", "catalog", "require-jwt")).isEqualTo(2);
        assertThat(stderr()).contains("require-jwt needs parameter \"issuer\"");
        assertThat(Keel.run("policy", "catalog", "show", "nope")).isEqualTo(2);
        assertThat(Keel.run("policy", "catalog", "deny-all", "--set", "namespace=Bad_NS")).isEqualTo(2);
        assertThat(stderr()).contains("parameter namespace: \"Bad_NS\" is not a Kubernetes namespace name");
        assertThat(stdout()).isEmpty();
    }

    @Test
    void lintPrintsLocatedFindingsAndExitsByWorstSeverity() throws Exception {
        Path dir = Files.createDirectories(tmp.resolve("policies"));
        Files.writeString(dir.resolve("mtls.yaml"), "apiVersion: security.istio.io/v1\nkind: PeerAuthentication\n"
                + "metadata: {name: default, namespace: istio-system}\nspec: {mtls: {mode: STRICT}}\n");
        Files.writeString(dir.resolve("db.yaml"), "apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\n"
                + "metadata: {name: db, namespace: shop}\nspec:\n  selector: {matchLabels: {app: db}}\n  rules:\n"
                + "  - to:\n    - operation:\n        ports: [\"3306\"]\n        methods: [GET]\n");

        assertThat(Keel.run("policy", "lint", dir.toString())).isZero();
        assertThat(stdout()).contains("2 file(s), 2 policies: 0 error(s), 0 warning(s)");

        out.reset();
        assertThat(Keel.run("policy", "lint", dir.toString(), "--tcp-port", "3306")).isZero();
        assertThat(stdout()).contains(dir.resolve("db.yaml") + ":10: warning KEEL-L003 spec.rules[0].to[0].operation.methods:"
                + " this ALLOW rule uses HTTP-only methods on TCP port 3306");
        assertThat(Keel.run("policy", "lint", dir.toString(), "--tcp-port", "3306", "--strict")).isEqualTo(1);

        Files.writeString(dir.resolve("bad.yaml"), "apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\n"
                + "metadata: {name: bad, namespace: shop}\nspec:\n  action: DENY\n");
        out.reset();
        assertThat(Keel.run("policy", "lint", dir.toString())).isEqualTo(2);
        assertThat(stdout()).contains(dir.resolve("bad.yaml") + ":5: error KEEL-E001 spec.action: DENY action without rules")
                .contains("3 file(s), 2 policies: 1 error(s), 0 warning(s)");

        out.reset();
        assertThat(Keel.run("policy", "lint", dir.toString(), "--tcp-port", "3306", "--output", "json")).isEqualTo(2);
        assertThat(stdout()).startsWith("[\n  {\"source\": ").contains("\"severity\": \"error\", \"code\": \"KEEL-E001\"",
                "\"code\": \"KEEL-L003\", \"field\": \"spec.rules[0].to[0].operation.methods\"").endsWith("]\n");
    }

    @Test
    void lintChecksTheTrustDomainItIsGiven() throws Exception {
        Path file = tmp.resolve("p.yaml");
        Files.writeString(file, "apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\n"
                + "metadata: {name: p, namespace: shop}\nspec:\n  rules:\n  - from:\n    - source:\n"
                + "        principals: [cluster.local/ns/shop/sa/web]\n");
        assertThat(Keel.run("policy", "lint", file.toString())).isZero();
        assertThat(stdout()).contains("1 file(s), 1 policy: 0 error(s), 0 warning(s)");
        out.reset();
        assertThat(Keel.run("policy", "lint", file.toString(), "--trust-domain", "example.org", "--strict")).isEqualTo(1);
        assertThat(stdout()).contains("warning KEEL-L007 spec.rules[0].from[0].source.principals[0]");
    }

    @Test
    void lintRefusesBadOptionsAndMissingPaths() {
        assertThat(Keel.run("policy", "lint", tmp.toString(), "--trust-domain", "Bad Domain")).isEqualTo(2);
        assertThat(stderr()).contains("trustDomain");
        assertThat(Keel.run("policy", "lint", tmp.resolve("nope").toString())).isEqualTo(2);
        assertThat(stdout()).contains("nope: error KEEL-E001");
    }
}
