package dev.keel.ca.node;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatIllegalArgumentException;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.keel.ca.CaException;
import dev.keel.identity.TrustDomain;
import dev.keel.testing.FakeClock;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** One token, one node SVID, ever; the store never holds a usable secret. */
class JoinTokensTest {

    static final TrustDomain TD = TrustDomain.CLUSTER_LOCAL;

    @TempDir
    Path dir;

    FakeClock clock;
    JoinTokens tokens;

    @BeforeEach
    void open() {
        clock = FakeClock.at(Instant.parse("2030-01-01T00:00:00Z"));
        tokens = JoinTokens.open(dir, TD, clock);
    }

    @Test
    void aTokenIsConsumedOnceForItsNode() throws Exception {
        CreatedJoinToken created = tokens.create("node-a", Duration.ofHours(1));
        assertThat(created.token()).matches("[A-Za-z0-9_-]{43}");
        assertThat(created.nodeId()).hasToString("spiffe://cluster.local/keel/node/node-a");
        assertThat(created.expiresAt()).isEqualTo(Instant.parse("2030-01-01T01:00:00Z"));
        assertThat(created.toString()).doesNotContain(created.token()).contains("redacted");

        assertThat(tokens.consume(created.token())).isEqualTo(created.nodeId());

        assertThatThrownBy(() -> tokens.consume(created.token()))
                .isInstanceOfSatisfying(CaException.class, e -> {
                    assertThat(e.code()).isEqualTo(CaException.Code.UNAUTHENTICATED);
                    assertThat(e.getMessage()).contains("already used").doesNotContain(created.token());
                });
    }

    @Test
    void theFileHoldsOnlyHashesOwnerReadable() throws Exception {
        CreatedJoinToken created = tokens.create("node-a", Duration.ofHours(1));
        Path file = dir.resolve(JoinTokens.FILE);
        String content = Files.readString(file, StandardCharsets.UTF_8);
        assertThat(content).doesNotContain(created.token()).contains(JoinTokens.sha256(created.token()));
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(file))).isEqualTo("rw-------");
        try (var listing = Files.list(dir)) {
            assertThat(listing.map(p -> p.getFileName().toString()))
                    .containsExactlyInAnyOrder(JoinTokens.FILE, JoinTokens.LOCK_FILE);
        }
    }

    @Test
    void unknownMalformedAndExpiredTokensAreRefusedWithoutEchoingThem() throws Exception {
        CreatedJoinToken created = tokens.create("node-a", Duration.ofMinutes(10));
        String unknown = "A".repeat(43);
        assertRefused(unknown, "unknown");
        assertRefused("not-a-token", "malformed");
        assertRefused("", "missing");
        clock.advance(Duration.ofMinutes(10));
        assertRefused(created.token(), "expired");
    }

    private void assertRefused(String token, String reason) {
        assertThatThrownBy(() -> tokens.consume(token)).isInstanceOfSatisfying(CaException.class, e -> {
            assertThat(e.code()).isEqualTo(CaException.Code.UNAUTHENTICATED);
            assertThat(e.getMessage()).contains(reason);
            if (!token.isEmpty()) {
                assertThat(e.getMessage()).doesNotContain(token);
            }
        });
    }

    @Test
    void twoThreadsWithTwoStoreInstancesConsumingOneTokenYieldExactlyOneNode() throws Exception {
        for (int round = 0; round < 20; round++) {
            CreatedJoinToken created = tokens.create("node-" + round, Duration.ofHours(1));
            // A second instance on the same directory, as the CLI process would have.
            JoinTokens other = JoinTokens.open(dir, TD, clock);
            int threads = 8;
            ExecutorService pool = Executors.newFixedThreadPool(threads);
            CountDownLatch start = new CountDownLatch(1);
            List<Future<Boolean>> results = new ArrayList<>();
            for (int i = 0; i < threads; i++) {
                JoinTokens store = i % 2 == 0 ? tokens : other;
                results.add(pool.submit(() -> {
                    start.await();
                    try {
                        store.consume(created.token());
                        return true;
                    } catch (CaException e) {
                        assertThat(e.code()).isEqualTo(CaException.Code.UNAUTHENTICATED);
                        return false;
                    }
                }));
            }
            start.countDown();
            int wins = 0;
            for (Future<Boolean> result : results) {
                wins += result.get(10, TimeUnit.SECONDS) ? 1 : 0;
            }
            pool.shutdown();
            assertThat(wins).as("round %d", round).isEqualTo(1);
        }
    }

    @Test
    void defaultNodeNamesAreGeneratedAndTtlIsBounded() throws Exception {
        CreatedJoinToken created = tokens.create(JoinTokens.DEFAULT_TTL);
        assertThat(created.nodeName()).matches("join-[0-9a-f]{12}");
        assertThat(tokens.create("n", JoinTokens.MAX_TTL).expiresAt()).isEqualTo(clock.instant().plus(Duration.ofDays(7)));
        assertThatIllegalArgumentException().isThrownBy(() -> tokens.create("n", Duration.ofDays(7).plusSeconds(1)))
                .withMessageStartingWith("ttl:");
        assertThatIllegalArgumentException().isThrownBy(() -> tokens.create("n", Duration.ZERO))
                .withMessageStartingWith("ttl:");
    }

    @ParameterizedTest
    @ValueSource(strings = {"", "a/b", "..", "has space", "n%41", "ü"})
    void nodeNamesFollowSpiffePathSegmentRules(String name) {
        assertThatIllegalArgumentException().isThrownBy(() -> tokens.create(name, Duration.ofHours(1)))
                .withMessageStartingWith("node:");
    }

    @Test
    void listShowsStatusWithoutSecretsAndExpiredTokensArePurged() throws Exception {
        CreatedJoinToken used = tokens.create("a", Duration.ofHours(1));
        CreatedJoinToken pending = tokens.create("b", Duration.ofHours(2));
        CreatedJoinToken shortLived = tokens.create("c", Duration.ofMinutes(1));
        tokens.consume(used.token());
        clock.advance(Duration.ofMinutes(5));

        List<JoinTokenInfo> list = tokens.list();
        assertThat(list).extracting(JoinTokenInfo::nodeName).containsExactly("a", "b", "c");
        assertThat(list).extracting(i -> i.status(clock.instant())).containsExactly(JoinTokenInfo.Status.USED,
                JoinTokenInfo.Status.PENDING, JoinTokenInfo.Status.EXPIRED);
        assertThat(list.get(1).tokenId()).isEqualTo(pending.tokenId()).hasSize(8);
        assertThat(list.toString()).doesNotContain(pending.token());

        tokens.create("d", Duration.ofHours(1)); // any write purges what has expired
        assertThat(tokens.list()).extracting(JoinTokenInfo::nodeName).containsExactly("a", "b", "d");
        assertThat(shortLived.tokenId()).isNotBlank();
    }

    @Test
    void aCorruptStoreIsNeverOverwrittenAndRefusesAttestation() throws Exception {
        CreatedJoinToken created = tokens.create("a", Duration.ofHours(1));
        Path file = dir.resolve(JoinTokens.FILE);
        Files.writeString(file, "{ not json");
        assertThatThrownBy(() -> tokens.create("b", Duration.ofHours(1))).isInstanceOf(IOException.class)
                .hasMessageContaining(JoinTokens.FILE);
        assertThat(Files.readString(file)).isEqualTo("{ not json");
        assertThatThrownBy(() -> tokens.consume(created.token())).isInstanceOfSatisfying(CaException.class, e -> {
            assertThat(e.code()).isEqualTo(CaException.Code.UNAVAILABLE);
            assertThat(e.getMessage()).doesNotContain(created.token());
        });
    }

    @Test
    void tokenIdIsAHashPrefix() {
        assertThat(JoinTokens.tokenId("")).isEqualTo("none");
        assertThat(JoinTokens.tokenId("x")).isEqualTo(JoinTokens.sha256("x").substring(0, 8));
    }
}
