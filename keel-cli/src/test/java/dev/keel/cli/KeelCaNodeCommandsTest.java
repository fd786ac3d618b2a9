package dev.keel.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code keel ca token} and {@code keel ca entry} as an operator runs them, in process. */
class KeelCaNodeCommandsTest extends ConsoleTest {

    static final String WEB = "spiffe://cluster.local/ns/shop/sa/web";
    static final String NODE_A = "spiffe://cluster.local/keel/node/node-a";

    @TempDir
    Path tmp;

    Path ca;

    @BeforeEach
    void init() {
        ca = tmp.resolve("ca");
        assertThat(Keel.run("ca", "init", "--data-dir", ca.toString())).isZero();
        out.reset();
        err.reset();
    }

    static String token(String stdout) {
        Matcher m = Pattern.compile("(?m)^token: +([A-Za-z0-9_-]{43})$").matcher(stdout);
        assertThat(m.find()).as(stdout).isTrue();
        return m.group(1);
    }

    @Test
    void tokenCreatePrintsTheTokenOnceAndListNeverShowsIt() throws Exception {
        assertThat(Keel.run("ca", "token", "create", "--dir", ca.toString(), "--node", "node-a", "--ttl", "30m")).isZero();
        String token = token(stdout());
        assertThat(stdout()).contains("node:    " + NODE_A).contains("expires: ").contains("(in 29m)");
        assertThat(Files.readString(ca.resolve("join-tokens.json"))).doesNotContain(token);

        out.reset();
        assertThat(Keel.run("ca", "token", "create", "--data-dir", ca.toString())).isZero();
        assertThat(stdout()).containsPattern("node: +spiffe://cluster.local/keel/node/join-[0-9a-f]{12}");
        assertThat(stdout()).contains("(in 59m)");

        out.reset();
        assertThat(Keel.run("ca", "token", "list", "--dir", ca.toString())).isZero();
        assertThat(stdout()).contains("pending").contains(NODE_A).doesNotContain(token);
        assertThat(stdout().lines()).hasSize(3);
    }

    @Test
    void tokenCreateNamesTheBadOption() {
        assertThat(Keel.run("ca", "token", "create", "--dir", ca.toString(), "--node", "a/b")).isEqualTo(2);
        assertThat(stderr()).contains("--node: \"a/b\" is not a SPIFFE path segment");
        err.reset();
        assertThat(Keel.run("ca", "token", "create", "--dir", ca.toString(), "--ttl", "8d")).isEqualTo(2);
        assertThat(stderr()).contains("--ttl: 691200s (expected: > 0s and <= 604800s, 7 days)");
        err.reset();
        assertThat(Keel.run("ca", "token", "create", "--dir", tmp.resolve("none").toString())).isEqualTo(1);
        assertThat(stderr()).contains("keel ca init");
    }

    @Test
    void entryCreateListAndDelete() throws Exception {
        assertThat(Keel.run("ca", "entry", "create", "--dir", ca.toString(), "--spiffe-id", WEB, "--parent-id", NODE_A,
                "--selector", "unix:uid:1000", "--selector", "unix:gid:50", "--x509-svid-ttl", "1h", "--jwt-svid-ttl",
                "5m", "--hint", "web frontend")).isZero();
        String id = stdout().strip();
        assertThat(id).matches("[0-9a-f-]{36}");
        assertThat(stderr()).contains("created entry " + id + ": " + WEB + " for " + NODE_A);

        out.reset();
        assertThat(Keel.run("ca", "entry", "create", "--dir", ca.toString(), "--spiffe-id",
                "spiffe://cluster.local/ns/shop/sa/db", "--all-nodes", "--selector", "k8s:ns:shop")).isZero();
        String all = stdout().strip();

        out.reset();
        assertThat(Keel.run("ca", "entry", "list", "--dir", ca.toString())).isZero();
        assertThat(stdout()).contains("Entry ID:      " + id, "SPIFFE ID:     " + WEB, "Parent ID:     " + NODE_A,
                "Selectors:     unix:gid:50\n               unix:uid:1000", "X509-SVID TTL: 3600s",
                "JWT-SVID TTL:  300s", "Hint:          web frontend", "Entry ID:      " + all,
                "2 entries (store revision 2)");

        out.reset();
        assertThat(Keel.run("ca", "entry", "list", "--dir", ca.toString(), "--parent-id", "*", "--output", "json")).isZero();
        JsonNode json = new ObjectMapper().readTree(stdout());
        assertThat(json.get("revision").asLong()).isEqualTo(2);
        assertThat(json.get("entries")).hasSize(1);
        assertThat(json.at("/entries/0/id").asText()).isEqualTo(all);
        assertThat(json.at("/entries/0/parent_id").asText()).isEqualTo("*");
        assertThat(json.at("/entries/0/selectors/0").asText()).isEqualTo("k8s:ns:shop");

        out.reset();
        assertThat(Keel.run("ca", "entry", "list", "--dir", ca.toString(), "--spiffe-id", WEB)).isZero();
        assertThat(stdout()).contains(id).doesNotContain(all).contains("1 entry (store revision 2)");

        out.reset();
        assertThat(Keel.run("ca", "entry", "delete", "--dir", ca.toString(), id)).isZero();
        assertThat(stdout()).contains("deleted entry " + id);
        assertThat(Keel.run("ca", "entry", "delete", "--dir", ca.toString(), id)).isEqualTo(1);
        assertThat(stderr()).contains("entry " + id + ": no such entry");
    }

    @Test
    void entryCreateNamesTheOptionAndTheRule() {
        assertThat(Keel.run("ca", "entry", "create", "--dir", ca.toString(), "--spiffe-id", "spiffe://other.org/ns/a/sa/b",
                "--all-nodes", "--selector", "unix:uid:1")).isEqualTo(2);
        assertThat(stderr()).contains("--spiffe-id: spiffe://other.org/ns/a/sa/b is outside this CA's trust domain");
        err.reset();
        assertThat(Keel.run("ca", "entry", "create", "--dir", ca.toString(), "--spiffe-id", NODE_A, "--all-nodes",
                "--selector", "unix:uid:1")).isEqualTo(2);
        assertThat(stderr()).contains("--spiffe-id:", "reserved path /keel/");
        err.reset();
        assertThat(Keel.run("ca", "entry", "create", "--dir", ca.toString(), "--spiffe-id", WEB, "--parent-id", WEB,
                "--selector", "unix:uid:1")).isEqualTo(2);
        assertThat(stderr()).contains("--parent-id:", "not a node ID");
        err.reset();
        assertThat(Keel.run("ca", "entry", "create", "--dir", ca.toString(), "--spiffe-id", WEB, "--all-nodes",
                "--selector", "Unix:uid:1")).isEqualTo(2);
        assertThat(stderr()).contains("--selector: type \"Unix\"");
        err.reset();
        assertThat(Keel.run("ca", "entry", "create", "--dir", ca.toString(), "--spiffe-id", WEB, "--all-nodes",
                "--selector", "unix:uid:1", "--jwt-svid-ttl", "2h")).isEqualTo(2);
        assertThat(stderr()).contains("--jwt-svid-ttl: 7200s (expected: <= 3600s)");
        err.reset();
        assertThat(Keel.run("ca", "entry", "create", "--dir", ca.toString(), "--spiffe-id", WEB, "--all-nodes",
                "--parent-id", NODE_A, "--selector", "unix:uid:1")).isEqualTo(2);
        assertThat(stderr()).contains("mutually exclusive");
        err.reset();
        assertThat(Keel.run("ca", "entry", "create", "--dir", ca.toString(), "--spiffe-id", WEB, "--all-nodes")).isEqualTo(2);
        assertThat(stderr()).contains("--selector");
        err.reset();

        assertThat(Keel.run("ca", "entry", "create", "--dir", ca.toString(), "--spiffe-id", WEB, "--all-nodes",
                "--selector", "unix:uid:1")).isZero();
        assertThat(Keel.run("ca", "entry", "create", "--dir", ca.toString(), "--spiffe-id", WEB, "--all-nodes",
                "--selector", "unix:uid:1")).isEqualTo(1);
        assertThat(stderr()).contains("keel: entry: duplicates entry");
    }

    @Test
    void aCorruptEntriesFileIsReportedAndLeftAlone() throws Exception {
        Files.writeString(ca.resolve("entries.json"), "{\"version\":1,");
        assertThat(Keel.run("ca", "entry", "list", "--dir", ca.toString())).isEqualTo(1);
        assertThat(stderr()).contains("entries.json: unreadable");
        assertThat(Keel.run("ca", "entry", "create", "--dir", ca.toString(), "--spiffe-id", WEB, "--all-nodes",
                "--selector", "unix:uid:1")).isEqualTo(1);
        assertThat(Files.readString(ca.resolve("entries.json"))).isEqualTo("{\"version\":1,");
    }
}
