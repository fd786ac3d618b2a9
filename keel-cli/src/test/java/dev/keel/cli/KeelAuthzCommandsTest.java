package dev.keel.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code keel authz check} as an operator runs it, in process: exit 0 allow, 3 deny, 2 bad input. */
class KeelAuthzCommandsTest extends ConsoleTest {

    @TempDir
    Path tmp;

    Path policies;

    @BeforeEach
    void writePolicies() throws Exception {
        policies = Files.createDirectories(tmp.resolve("policies"));
        Files.writeString(policies.resolve("httpbin.yaml"), """
                apiVersion: security.istio.io/v1
                kind: AuthorizationPolicy
                metadata: {name: deny-admin, namespace: foo}
                spec:
                  action: DENY
                  rules:
                  - to:
                    - operation:
                        paths: ["/admin*"]
                ---
                apiVersion: security.istio.io/v1
                kind: AuthorizationPolicy
                metadata: {name: allow-readers, namespace: foo}
                spec:
                  selector: {matchLabels: {app: httpbin}}
                  rules:
                  - from:
                    - source:
                        principals: ["cluster.local/ns/bar/sa/reader"]
                    to:
                    - operation:
                        methods: ["GET"]
                    when:
                    - key: request.auth.claims[groups]
                      values: ["readers"]
                """);
    }

    private Path request(String name, String text) throws Exception {
        return Files.writeString(tmp.resolve(name), text);
    }

    private int check(Path request, String... more) {
        String[] args = new String[7 + more.length];
        args[0] = "authz";
        args[1] = "check";
        args[2] = "--policies=" + policies;
        args[3] = "--workload";
        args[4] = "ns=foo,labels=app=httpbin,version=v1";
        args[5] = "--request";
        args[6] = request.toString();
        System.arraycopy(more, 0, args, 7, more.length);
        return Keel.run(args);
    }

    @Test
    void allowedRequestExitsZeroWithExplanation() throws Exception {
        Path r = request("get.yaml", """
                source: {principal: spiffe://cluster.local/ns/bar/sa/reader, ip: 10.1.2.3}
                request:
                  method: GET
                  path: /items?page=2
                  host: httpbin.foo
                  auth: {principal: https://issuer/alice, claims: {groups: [readers, dev]}}
                destination: {ip: 10.0.0.9, port: 8000}
                """);
        assertThat(check(r)).isZero();
        assertThat(stdout()).startsWith("ALLOW: allowed by ALLOW policy foo/allow-readers, spec.rules[0] matched\n")
                .contains("DENY foo/deny-admin", "ALLOW foo/allow-readers", "from[0].source matched",
                        "when[0].values (request.auth.claims[groups]) matched");
    }

    @Test
    void deniedRequestExitsThreeAndSaysWhy() throws Exception {
        Path admin = request("admin.json", """
                {"source": {"principal": "cluster.local/ns/bar/sa/reader"},
                 "request": {"method": "GET", "path": "/public/../admin/users", "auth": {"claims": {"groups": "readers"}}}}
                """);
        assertThat(check(admin)).isEqualTo(3);
        assertThat(stdout()).startsWith("DENY: denied by DENY policy foo/deny-admin, spec.rules[0] matched\n");

        out.reset();
        Path post = request("post.yaml", """
                source: {principal: cluster.local/ns/bar/sa/reader}
                request: {method: POST, path: /items}
                """);
        assertThat(check(post)).isEqualTo(3);
        assertThat(stdout()).startsWith("DENY: ALLOW policies apply to the workload and none matched: denied\n")
                .contains("to[0].operation.methods did not match (request: \"POST\"; policy: [GET])",
                        "when[0].values (request.auth.claims[groups]) did not match (request: absent; policy: [readers])");
    }

    @Test
    void jsonOutputForMachines() throws Exception {
        Path r = request("tcp.yaml", """
                protocol: tcp
                source: {principal: cluster.local/ns/bar/sa/reader, ip: 10.1.2.3}
                destination: {ip: 10.0.0.9, port: 9000}
                """);
        assertThat(check(r, "--output", "json")).isEqualTo(3);
        JsonNode json = new ObjectMapper().readTree(stdout());
        assertThat(json.path("decision").asText()).isEqualTo("deny");
        // on TCP the DENY rule's HTTP-only paths are ignored (a wider deny), and the ALLOW rule is skipped
        assertThat(json.path("reason").asText()).isEqualTo("DENY_POLICY_MATCHED");
        assertThat(json.path("policy").asText()).isEqualTo("foo/deny-admin");
        assertThat(json.path("ruleIndex").asInt()).isZero();
        assertThat(json.path("protocol").asText()).isEqualTo("tcp");
        assertThat(json.path("policies").get(0).path("name").asText()).isEqualTo("allow-readers");
        assertThat(json.path("policies").get(0).path("rules").get(0).path("details").get(0).asText())
                .startsWith("skipped on a TCP connection");
        assertThat(json.path("policies").get(1).path("rules").get(0).path("details").get(0).asText())
                .isEqualTo("to[0].operation.paths ignored on a TCP connection (HTTP-only field)");
    }

    @Test
    void pathNormalizationOptionApplies() throws Exception {
        Path r = request("slashes.yaml", """
                source: {principal: cluster.local/ns/bar/sa/reader}
                request: {method: GET, path: //admin, auth: {claims: {groups: readers}}}
                """);
        assertThat(check(r)).as("BASE keeps // (CVE-2021-31920 class)").isZero();
        out.reset();
        assertThat(check(r, "--path-normalization", "MERGE_SLASHES")).isEqualTo(3);
        out.reset();
        Path nul = request("nul.yaml", "request: {method: GET, path: /a%00b}\n");
        assertThat(check(nul)).isEqualTo(3);
        assertThat(stdout()).contains("refused by BASE normalization");
    }

    @Test
    void badInputExitsTwo() throws Exception {
        Path unknown = request("unknown.yaml", "request: {verb: GET}\n");
        assertThat(check(unknown)).isEqualTo(2);
        assertThat(stderr()).contains("request.verb: unknown field");
        Path badIp = request("ip.yaml", "source: {ip: 10.1.2.300}\n");
        assertThat(check(badIp)).isEqualTo(2);
        assertThat(stderr()).contains("sourceIp: \"10.1.2.300\"");
        Path ns = request("ns.yaml", "source: {principal: cluster.local/ns/bar/sa/x, namespace: foo}\n");
        assertThat(check(ns)).isEqualTo(2);
        assertThat(check(tmp.resolve("missing.yaml"))).isEqualTo(2);
        Path ok = request("ok.yaml", "request: {method: GET, path: /}\n");
        assertThat(Keel.run("authz", "check", "--policies", policies.toString(), "--workload", "labels=app=x",
                "--request", ok.toString())).isEqualTo(2);
        assertThat(check(ok, "--output", "xml")).isEqualTo(2);
        Files.writeString(policies.resolve("bad.yaml"), "apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\n"
                + "metadata: {name: bad, namespace: foo}\nspec:\n  action: DENY\n");
        assertThat(check(ok)).isEqualTo(2);
        assertThat(stderr()).contains("DENY action without rules");
    }
}
