package dev.keel.ca.node;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.keel.identity.SpiffeId;
import dev.keel.identity.TrustDomain;
import dev.keel.testing.FakeClock;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** Entries are checked on the way in and on the way back, and the server sees the CLI's changes. */
class RegistrationEntriesTest {

    static final String WEB = "spiffe://cluster.local/ns/shop/sa/web";
    static final String NODE_A = "spiffe://cluster.local/keel/node/node-a";
    static final String NODE_B = "spiffe://cluster.local/keel/node/node-b";

    @TempDir
    Path dir;

    FakeClock clock = FakeClock.now();
    RegistrationEntries entries;

    @BeforeEach
    void open() {
        entries = RegistrationEntries.open(dir, TrustDomain.CLUSTER_LOCAL, clock);
    }

    @Test
    void createReadAndDeleteBumpTheRevision() throws Exception {
        assertThat(entries.read()).isEqualTo(EntrySet.EMPTY);
        RegistrationEntry web = entries.create(new EntrySpec(WEB, NODE_A, List.of("unix:uid:1000", "unix:gid:50"),
                Duration.ofHours(1), Duration.ofMinutes(5), "web frontend"));
        assertThat(web.id()).matches("[0-9a-f-]{36}");
        assertThat(web.selectors()).containsExactly("unix:gid:50", "unix:uid:1000");
        RegistrationEntry all = entries.create(EntrySpec.of(WEB, "*", List.of("k8s:ns:shop")));

        EntrySet set = entries.read();
        assertThat(set.revision()).isEqualTo(2);
        assertThat(set.entries()).containsExactly(web, all);
        assertThat(set.boundTo(SpiffeId.parse(NODE_A))).containsExactly(web, all);
        assertThat(set.boundTo(SpiffeId.parse(NODE_B))).containsExactly(all);

        assertThat(entries.delete(web.id())).isTrue();
        assertThat(entries.delete(web.id())).isFalse();
        assertThat(entries.read().revision()).isEqualTo(3);
        assertThat(entries.read().entries()).containsExactly(all);
    }

    static Stream<Arguments> invalid() {
        return Stream.of(
                Arguments.of(EntrySpec.of("spiffe://other.org/ns/a/sa/b", NODE_A, List.of("unix:uid:1")), "spiffe_id",
                        "outside this CA's trust domain"),
                Arguments.of(EntrySpec.of("spiffe://cluster.local", NODE_A, List.of("unix:uid:1")), "spiffe_id",
                        "trust domain itself"),
                Arguments.of(EntrySpec.of(NODE_B, NODE_A, List.of("unix:uid:1")), "spiffe_id", "reserved path /keel/"),
                Arguments.of(EntrySpec.of("spiffe://cluster.local/keel/ca", "*", List.of("unix:uid:1")), "spiffe_id",
                        "reserved"),
                Arguments.of(EntrySpec.of("not a spiffe id", NODE_A, List.of("unix:uid:1")), "spiffe_id", "spiffe://"),
                Arguments.of(EntrySpec.of(WEB, WEB, List.of("unix:uid:1")), "parent_id", "not a node ID"),
                Arguments.of(EntrySpec.of(WEB, "spiffe://other.org/keel/node/x", List.of("unix:uid:1")), "parent_id",
                        "not a node ID"),
                Arguments.of(EntrySpec.of(WEB, "spiffe://cluster.local/keel/node/a/b", List.of("unix:uid:1")),
                        "parent_id", "not a node ID"),
                Arguments.of(EntrySpec.of(WEB, "", List.of("unix:uid:1")), "parent_id", "empty"),
                Arguments.of(EntrySpec.of(WEB, NODE_A, List.of()), "selectors", "at least one"),
                Arguments.of(EntrySpec.of(WEB, NODE_A, List.of("unix")), "selectors", "not type:value"),
                Arguments.of(EntrySpec.of(WEB, NODE_A, List.of("unix:")), "selectors", "not type:value"),
                Arguments.of(EntrySpec.of(WEB, NODE_A, List.of(":uid")), "selectors", "not type:value"),
                Arguments.of(EntrySpec.of(WEB, NODE_A, List.of("Unix:uid:1")), "selectors", "lowercase"),
                Arguments.of(EntrySpec.of(WEB, NODE_A, List.of("unix:uid:1\n")), "selectors", "control character"),
                Arguments.of(EntrySpec.of(WEB, NODE_A, List.of("unix:" + "x".repeat(508))), "selectors", "512"),
                Arguments.of(new EntrySpec(WEB, NODE_A, List.of("unix:uid:1"), Duration.ofSeconds(-1), Duration.ZERO, ""),
                        "x509_svid_ttl", "whole seconds"),
                Arguments.of(new EntrySpec(WEB, NODE_A, List.of("unix:uid:1"), Duration.ofDays(91), Duration.ZERO, ""),
                        "x509_svid_ttl", "<= 7776000s"),
                Arguments.of(new EntrySpec(WEB, NODE_A, List.of("unix:uid:1"), Duration.ZERO, Duration.ofHours(2), ""),
                        "jwt_svid_ttl", "<= 3600s"),
                Arguments.of(new EntrySpec(WEB, NODE_A, List.of("unix:uid:1"), Duration.ZERO, Duration.ZERO,
                        "h".repeat(1025)), "hint", "1024"),
                Arguments.of(new EntrySpec(WEB, NODE_A, List.of("unix:uid:1"), Duration.ZERO, Duration.ZERO,
                        "bell\u0007"), "hint", "control character"));
    }

    @ParameterizedTest(name = "{1}: {2}")
    @MethodSource("invalid")
    void invalidEntriesAreRefusedNamingTheField(EntrySpec spec, String field, String rule) throws Exception {
        assertThatThrownBy(() -> entries.create(spec)).isInstanceOfSatisfying(InvalidEntryException.class, e -> {
            assertThat(e.field()).isEqualTo(field);
            assertThat(e.getMessage()).startsWith(field + ": ").contains(rule);
        });
        assertThat(Files.exists(dir.resolve(RegistrationEntries.FILE))).isFalse();
    }

    @Test
    void aDuplicateIsRefusedWhateverTheSelectorOrder() throws Exception {
        RegistrationEntry first = entries.create(EntrySpec.of(WEB, NODE_A, List.of("unix:uid:1", "unix:gid:2")));
        assertThatThrownBy(() -> entries.create(EntrySpec.of(WEB, NODE_A, List.of("unix:gid:2", "unix:uid:1"))))
                .isInstanceOfSatisfying(InvalidEntryException.class, e -> {
                    assertThat(e.field()).isEqualTo("entry");
                    assertThat(e.getMessage()).contains("duplicates entry " + first.id());
                });
        // Another parent or another selector set is a different entry.
        entries.create(EntrySpec.of(WEB, NODE_B, List.of("unix:uid:1", "unix:gid:2")));
        entries.create(EntrySpec.of(WEB, NODE_A, List.of("unix:uid:1")));
        assertThat(entries.read().entries()).hasSize(3);
    }

    @Test
    void theServerSeesChangesMadeByAnotherInstanceWithoutARestart() throws Exception {
        RegistrationEntries server = RegistrationEntries.open(dir, TrustDomain.CLUSTER_LOCAL, clock);
        assertThat(server.current()).isEqualTo(EntrySet.EMPTY);
        RegistrationEntry web = entries.create(EntrySpec.of(WEB, NODE_A, List.of("unix:uid:1")));
        assertThat(server.current().entries()).containsExactly(web);
        assertThat(server.current().revision()).isEqualTo(1);
        entries.delete(web.id());
        assertThat(server.current().entries()).isEmpty();
        assertThat(server.current().revision()).isEqualTo(2);
    }

    @Test
    void aCorruptFileKeepsTheLastGoodSetServedAndIsNeverOverwritten() throws Exception {
        RegistrationEntries server = RegistrationEntries.open(dir, TrustDomain.CLUSTER_LOCAL, clock);
        RegistrationEntry web = entries.create(EntrySpec.of(WEB, NODE_A, List.of("unix:uid:1")));
        EntrySet good = server.current();
        assertThat(good.entries()).containsExactly(web);

        Path file = dir.resolve(RegistrationEntries.FILE);
        String broken = Files.readString(file).replace(WEB, "spiffe://cluster.local/keel/node/evil");
        Files.writeString(file, broken);
        assertThat(server.current()).isEqualTo(good);
        assertThat(server.current()).isEqualTo(good);
        assertThatThrownBy(entries::read).isInstanceOf(IOException.class)
                .hasMessageContaining(RegistrationEntries.FILE).hasMessageContaining("reserved");
        assertThatThrownBy(() -> entries.create(EntrySpec.of(WEB, NODE_B, List.of("unix:uid:1"))))
                .isInstanceOf(IOException.class);
        assertThatThrownBy(() -> entries.delete(web.id())).isInstanceOf(IOException.class);
        assertThat(Files.readString(file)).isEqualTo(broken);

        Files.writeString(file, "[]");
        assertThat(server.current()).isEqualTo(good);
        Files.delete(file);
        assertThat(server.current()).isEqualTo(EntrySet.EMPTY);
    }

    @Test
    void concurrentCreatesFromTwoInstancesAreAllKept() throws Exception {
        RegistrationEntries other = RegistrationEntries.open(dir, TrustDomain.CLUSTER_LOCAL, clock);
        ExecutorService pool = Executors.newFixedThreadPool(8);
        List<Future<RegistrationEntry>> created = new ArrayList<>();
        for (int i = 0; i < 40; i++) {
            RegistrationEntries store = i % 2 == 0 ? entries : other;
            String selector = "unix:uid:" + i;
            created.add(pool.submit(() -> store.create(EntrySpec.of(WEB, NODE_A, List.of(selector)))));
        }
        for (Future<RegistrationEntry> future : created) {
            future.get(10, TimeUnit.SECONDS);
        }
        pool.shutdown();
        EntrySet set = entries.read();
        assertThat(set.entries()).hasSize(40);
        assertThat(set.revision()).isEqualTo(40);
    }
}
