package dev.keel.ca.crl;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class RevocationListTest {

    private static final Instant AT = Instant.parse("2026-11-20T10:15:30Z");

    @TempDir
    Path dir;

    @Test
    void aMissingFileIsAnEmptyList() throws Exception {
        RevocationList list = RevocationList.open(dir);
        assertThat(list.read()).isEqualTo(new RevocationList.Snapshot(0, List.of()));
        assertThat(list.file()).isEqualTo(dir.resolve("revocations.json").toAbsolutePath());
    }

    @Test
    void revocationsSurviveReopeningWithEveryField() throws Exception {
        Revocation known = new Revocation(new BigInteger("5f0e9c3d2a1b", 16), RevocationReason.KEY_COMPROMISE, AT,
                Optional.of(AT.plusSeconds(3600)), Optional.of("spiffe://example.org/ns/a/sa/b"));
        Revocation unknown = new Revocation(BigInteger.TEN, RevocationReason.UNSPECIFIED, AT, Optional.empty(),
                Optional.empty());
        RevocationList list = RevocationList.open(dir);
        assertThat(list.add(known, r -> { }).added()).isTrue();
        assertThat(list.add(unknown, r -> { }).added()).isTrue();

        assertThat(RevocationList.open(dir).read().revocations()).containsExactly(known, unknown);
    }

    @Test
    void revokingTwiceChangesNothingAndKeepsTheFirstRevocation() throws Exception {
        RevocationList list = RevocationList.open(dir);
        Revocation first = revocation(42, RevocationReason.SUPERSEDED);
        list.add(first, r -> { });
        byte[] before = Files.readAllBytes(list.file());
        List<Revocation> audited = new ArrayList<>();

        RevocationList.Added again = list.add(revocation(42, RevocationReason.KEY_COMPROMISE), audited::add);

        assertThat(again.added()).isFalse();
        assertThat(again.revocation()).isEqualTo(first);
        assertThat(audited).isEmpty();
        assertThat(Files.readAllBytes(list.file())).isEqualTo(before);
    }

    @Test
    void crlNumbersIncreaseAndArePersisted() throws Exception {
        RevocationList list = RevocationList.open(dir);
        assertThat(list.nextCrlNumber().crlNumber()).isEqualTo(1);
        assertThat(list.nextCrlNumber().crlNumber()).isEqualTo(2);
        list.add(revocation(1, RevocationReason.KEY_COMPROMISE), r -> { });
        RevocationList.Snapshot third = RevocationList.open(dir).nextCrlNumber();
        assertThat(third.crlNumber()).isEqualTo(3);
        assertThat(third.revocations()).extracting(Revocation::serial).containsExactly(BigInteger.ONE);
    }

    @Test
    void aFailureBeforeTheWriteLeavesTheFileAsItWas() throws Exception {
        RevocationList list = RevocationList.open(dir);
        list.add(revocation(1, RevocationReason.KEY_COMPROMISE), r -> { });
        byte[] before = Files.readAllBytes(list.file());

        assertThatThrownBy(() -> list.add(revocation(2, RevocationReason.KEY_COMPROMISE), r -> {
            throw new IOException("audit log unavailable");
        })).hasMessage("audit log unavailable");

        assertThat(Files.readAllBytes(list.file())).isEqualTo(before);
        assertThat(list.read().revocations()).hasSize(1);
    }

    @Test
    void aQueuedRequestIsNotInForceUntilAuditedAndIsIdempotent() throws Exception {
        RevocationList list = RevocationList.open(dir);
        RevocationList.Request request = new RevocationList.Request(BigInteger.valueOf(77), RevocationReason.KEY_COMPROMISE,
                AT, "alice");
        assertThat(list.request(request)).isEmpty();
        assertThat(list.request(request)).isEmpty();
        RevocationList.Snapshot queued = RevocationList.open(dir).read();
        assertThat(queued.requests()).containsExactly(request);
        assertThat(queued.revocations()).isEmpty();
        assertThat(list.nextCrlNumber().requests()).containsExactly(request);

        List<RevocationList.Request> audited = new ArrayList<>();
        List<Revocation> committed = list.commitRequests(r -> {
            audited.add(r);
            return new Revocation(r.serial(), r.reason(), r.revokedAt(), Optional.empty(), Optional.empty());
        });

        assertThat(audited).containsExactly(request);
        assertThat(committed).extracting(Revocation::serial).containsExactly(BigInteger.valueOf(77));
        RevocationList.Snapshot after = list.read();
        assertThat(after.requests()).isEmpty();
        assertThat(after.revocations()).isEqualTo(committed);
        assertThat(after.crlNumber()).isEqualTo(1);
        assertThat(list.request(request)).contains(committed.get(0));
        assertThat(list.commitRequests(r -> {
            throw new AssertionError("nothing is queued");
        })).isEmpty();
    }

    @Test
    void anAuditFailureMidwayKeepsWhatWasAuditedAndLeavesTheRestQueued() throws Exception {
        RevocationList list = RevocationList.open(dir);
        for (long serial = 1; serial <= 3; serial++) {
            list.request(new RevocationList.Request(BigInteger.valueOf(serial), RevocationReason.SUPERSEDED, AT, "alice"));
        }

        assertThatThrownBy(() -> list.commitRequests(r -> {
            if (r.serial().equals(BigInteger.TWO)) {
                throw new IOException("audit log unavailable");
            }
            return new Revocation(r.serial(), r.reason(), r.revokedAt(), Optional.empty(), Optional.empty());
        })).hasMessage("audit log unavailable");

        RevocationList.Snapshot after = list.read();
        assertThat(after.revocations()).extracting(Revocation::serial).containsExactly(BigInteger.ONE);
        assertThat(after.requests()).extracting(RevocationList.Request::serial)
                .containsExactly(BigInteger.TWO, BigInteger.valueOf(3));
    }

    @Test
    void aDirectRevocationSupersedesAQueuedRequestForTheSameSerial() throws Exception {
        RevocationList list = RevocationList.open(dir);
        list.request(new RevocationList.Request(BigInteger.TEN, RevocationReason.SUPERSEDED, AT, "alice"));
        list.add(revocation(10, RevocationReason.KEY_COMPROMISE), r -> { });
        RevocationList.Snapshot after = list.read();
        assertThat(after.requests()).isEmpty();
        assertThat(after.revocations()).extracting(Revocation::reason).containsExactly(RevocationReason.KEY_COMPROMISE);
    }

    @ParameterizedTest
    @ValueSource(strings = {
        "{\"format\":1,\"crl_number\":3,\"revocations\":[",
        "not json",
        "[]",
        "{\"format\":2,\"crl_number\":3,\"revocations\":[]}",
        "{\"format\":1,\"crl_number\":-1,\"revocations\":[]}",
        "{\"format\":1,\"crl_number\":3,\"revocations\":[],\"extra\":true}",
        "{\"format\":1,\"crl_number\":3,\"crl_number\":4,\"revocations\":[]}",
        "{\"format\":1,\"crl_number\":3,\"revocations\":[{\"serial\":\"zz\",\"reason\":\"keyCompromise\","
                + "\"revoked_at\":\"2026-11-20T10:15:30Z\",\"not_after\":null,\"spiffe_id\":null}]}",
        "{\"format\":1,\"crl_number\":3,\"revocations\":[{\"serial\":\"0a\",\"reason\":\"certificateHold\","
                + "\"revoked_at\":\"2026-11-20T10:15:30Z\",\"not_after\":null,\"spiffe_id\":null}]}",
        "{\"format\":1,\"crl_number\":3,\"revocations\":[{\"serial\":\"0a\",\"reason\":\"keyCompromise\","
                + "\"revoked_at\":\"yesterday\",\"not_after\":null,\"spiffe_id\":null}]}",
        "{\"format\":1,\"crl_number\":3,\"revocations\":[{\"serial\":\"0a\",\"reason\":\"keyCompromise\","
                + "\"revoked_at\":\"2026-11-20T10:15:30Z\",\"spiffe_id\":null}]}",
        "{\"format\":1,\"crl_number\":3,\"revocations\":[],\"requests\":{}}",
        "{\"format\":1,\"crl_number\":3,\"revocations\":[],\"requests\":[{\"serial\":\"0a\",\"reason\":"
                + "\"keyCompromise\",\"revoked_at\":\"2026-11-20T10:15:30Z\"}]}",
        "{\"format\":1,\"crl_number\":3,\"revocations\":[{\"serial\":\"0a\",\"reason\":\"keyCompromise\","
                + "\"revoked_at\":\"2026-11-20T10:15:30Z\",\"not_after\":null,\"spiffe_id\":null},"
                + "{\"serial\":\"a\",\"reason\":\"superseded\","
                + "\"revoked_at\":\"2026-11-20T10:15:30Z\",\"not_after\":null,\"spiffe_id\":null}]}",
    })
    void aCorruptFileIsReportedByNameAndNothingIsChanged(String content) throws Exception {
        Path file = dir.resolve(RevocationList.FILE);
        Files.writeString(file, content, StandardCharsets.UTF_8);
        RevocationList list = RevocationList.open(dir);

        assertThatThrownBy(list::read).isInstanceOf(IOException.class)
                .hasMessageStartingWith("revocations.json is corrupt: ")
                .hasMessageContaining("Nothing was changed");
        assertThatThrownBy(() -> list.add(revocation(7, RevocationReason.KEY_COMPROMISE), r -> { }))
                .hasMessageStartingWith("revocations.json is corrupt: ");
        assertThatThrownBy(list::nextCrlNumber).hasMessageStartingWith("revocations.json is corrupt: ");

        assertThat(Files.readString(file, StandardCharsets.UTF_8)).isEqualTo(content);
    }

    @Test
    void concurrentRevocationsFromManyThreadsAreAllKeptWithNoTemporaryFilesLeft() throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(6);
        try {
            List<Future<?>> futures = new ArrayList<>();
            for (int t = 0; t < 6; t++) {
                int thread = t;
                // a separate instance per thread: instances share the lock by path, like two processes would
                futures.add(pool.submit(() -> {
                    RevocationList own = RevocationList.open(dir);
                    for (int i = 1; i <= 15; i++) {
                        own.add(revocation(thread * 100 + i, RevocationReason.KEY_COMPROMISE), r -> { });
                        own.nextCrlNumber();
                    }
                    return null;
                }));
            }
            for (Future<?> future : futures) {
                future.get();
            }
        } finally {
            pool.shutdownNow();
        }
        RevocationList.Snapshot snapshot = RevocationList.open(dir).read();
        assertThat(snapshot.revocations()).hasSize(90);
        assertThat(snapshot.crlNumber()).isEqualTo(90);
        try (Stream<Path> files = Files.list(dir)) {
            assertThat(files.map(p -> p.getFileName().toString()))
                    .containsExactlyInAnyOrder("revocations.json", "revocations.json.lock");
        }
    }

    @Test
    void theFileIsReadableByItsOwnerOnly() throws Exception {
        RevocationList list = RevocationList.open(dir);
        list.add(revocation(1, RevocationReason.KEY_COMPROMISE), r -> { });
        assertThat(java.nio.file.attribute.PosixFilePermissions.toString(Files.getPosixFilePermissions(list.file())))
                .isEqualTo("rw-------");
    }

    @Test
    void serialsAreReadAsOperatorsCopyThem() {
        assertThat(Revocation.parseSerial("3F:9A:0C")).isEqualTo(new BigInteger("3f9a0c", 16));
        assertThat(Revocation.parseSerial("0x00ff")).isEqualTo(BigInteger.valueOf(255));
        assertThat(Revocation.parseSerial("serial=6246F6D8")).isEqualTo(new BigInteger("6246f6d8", 16));
        assertThatThrownBy(() -> Revocation.parseSerial("xyz")).hasMessage("serial: \"xyz\" (expected: hex digits, e.g. 3f9a0c...)");
        assertThatThrownBy(() -> Revocation.parseSerial("0")).hasMessage("serial: 0 (expected: > 0)");
        assertThatThrownBy(() -> Revocation.parseSerial("ff".repeat(20))).hasMessage("serial: 160 bits (expected: at most 20 octets)");
        assertThat(Revocation.parseSerial("7f" + "ff".repeat(19)).bitLength()).isEqualTo(159);
    }

    @Test
    void reasonsAreTheRfcNames() {
        assertThat(RevocationReason.parse("keyCompromise")).isEqualTo(RevocationReason.KEY_COMPROMISE);
        assertThat(RevocationReason.parse("CACOMPROMISE")).isEqualTo(RevocationReason.CA_COMPROMISE);
        assertThat(RevocationReason.AA_COMPROMISE.code()).isEqualTo(10);
        assertThatThrownBy(() -> RevocationReason.parse("certificateHold")).hasMessageContaining("not supported");
        assertThatThrownBy(() -> RevocationReason.parse("stolen")).hasMessageStartingWith(
                "reason: \"stolen\" (expected one of: unspecified, keyCompromise, cACompromise,");
    }

    private static Revocation revocation(long serial, RevocationReason reason) {
        return new Revocation(BigInteger.valueOf(serial), reason, AT, Optional.empty(), Optional.empty());
    }
}
