package dev.keel.agent.cache;

import static org.assertj.core.api.Assertions.assertThat;

import dev.keel.agent.JwtSvidToken;
import dev.keel.agent.RegistrationEntry;
import dev.keel.agent.WorkloadIdentityException;
import dev.keel.agent.ca.Await;
import dev.keel.identity.SpiffeId;
import dev.keel.proto.ca.v1.MintJWTSVIDRequest;
import io.grpc.Status;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** JWT-SVIDs: minted by the CA, cached by entry and audience, one mint at a time per key, never expired. */
class JwtSvidTest extends AgentFixture {

    RegistrationEntry entry;

    @BeforeEach
    void startAgent() throws Exception {
        ca.jwtTtl(Duration.ofMinutes(5));
        ca.setEntries(List.of(ca.entry("a", X, "unix:uid:1000").toBuilder().setHint("blue").build()));
        startReady(config().build());
        entry = manager.current().entries().get(0);
    }

    JwtSvidToken fetch(List<String> audience) throws Exception {
        return manager.fetchJwtSvid(entry, audience).get(15, TimeUnit.SECONDS);
    }

    WorkloadIdentityException failure(RegistrationEntry entry, List<String> audience) throws Exception {
        try {
            manager.fetchJwtSvid(entry, audience).get(15, TimeUnit.SECONDS);
        } catch (ExecutionException e) {
            return (WorkloadIdentityException) e.getCause();
        }
        throw new AssertionError("no failure");
    }

    @Test
    void aTokenIsCachedByEntryAndAudienceSet() throws Exception {
        JwtSvidToken first = fetch(List.of("payments"));

        assertThat(first.spiffeId()).isEqualTo(SpiffeId.parse(X));
        assertThat(first.audience()).containsExactly("payments");
        assertThat(first.hint()).isEqualTo("blue");
        assertThat(first.expiresAt()).isEqualTo(clock.instant().plus(Duration.ofMinutes(5)));
        assertThat(fetch(List.of("payments"))).isSameAs(first);
        assertThat(ca.calls("MintJWTSVID")).isEqualTo(1);
        MintJWTSVIDRequest request = ca.mintRequests.peek();
        assertThat(request.getEntryId()).isEqualTo("a");
        assertThat(request.getSpiffeId()).isEqualTo(X);
        assertThat(request.hasKubernetesPod()).isFalse();

        JwtSvidToken both = fetch(List.of("payments", "ledger"));
        assertThat(both.token()).isNotEqualTo(first.token());
        assertThat(fetch(List.of("ledger", "payments", "ledger"))).isSameAs(both);
        assertThat(ca.calls("MintJWTSVID")).isEqualTo(2);
        assertThat(first.toString()).doesNotContain(first.token());
    }

    @Test
    void concurrentRequestsForOneKeyShareOneMint() throws Exception {
        CountDownLatch gate = new CountDownLatch(1);
        ca.holdMinting(gate);
        List<CompletableFuture<JwtSvidToken>> requests = new ArrayList<>();
        for (int i = 0; i < 20; i++) {
            requests.add(manager.fetchJwtSvid(entry, List.of("payments")));
        }
        Await.until("the mint reaches the CA", () -> ca.mintsInFlight() == 1);
        gate.countDown();

        JwtSvidToken token = requests.get(0).get(15, TimeUnit.SECONDS);
        for (CompletableFuture<JwtSvidToken> request : requests) {
            assertThat(request.get(15, TimeUnit.SECONDS)).isSameAs(token);
        }
        assertThat(ca.calls("MintJWTSVID")).isEqualTo(1);
    }

    @Test
    void aTokenIsRefreshedWhenHalfItsLifetimeIsGoneAndNeverHandedOutExpired() throws Exception {
        JwtSvidToken first = fetch(List.of("payments"));

        clock.advance(Duration.ofMinutes(2)); // 3 of 5 minutes left
        assertThat(fetch(List.of("payments"))).isSameAs(first);

        clock.advance(Duration.ofSeconds(40)); // 2m20s left: under half
        JwtSvidToken second = fetch(List.of("payments"));
        assertThat(second.token()).isNotEqualTo(first.token());
        assertThat(ca.calls("MintJWTSVID")).isEqualTo(2);

        // The CA fails: the cached token is served while it is valid, never after.
        ca.fail("MintJWTSVID", Status.UNAVAILABLE);
        clock.advance(Duration.ofMinutes(3)); // 2 minutes left
        assertThat(fetch(List.of("payments"))).isSameAs(second);
        clock.advance(Duration.ofMinutes(2));
        WorkloadIdentityException failure = failure(entry, List.of("payments"));
        assertThat(failure.isTransient()).isTrue();
        assertThat(failure.getMessage()).contains("MintJWTSVID: UNAVAILABLE");

        ca.fail("MintJWTSVID", null);
        assertThat(fetch(List.of("payments")).expiresAt()).isAfter(clock.instant());
    }

    @Test
    void aTokenWithLessThanThirtySecondsLeftIsNotServedFromTheCache() throws Exception {
        ca.jwtTtl(Duration.ofSeconds(20));
        JwtSvidToken first = fetch(List.of("payments"));
        JwtSvidToken second = fetch(List.of("payments"));
        assertThat(second.token()).isNotEqualTo(first.token());
    }

    @Test
    void unknownEntriesAndEmptyAudiencesAreRefused() throws Exception {
        RegistrationEntry stranger = new RegistrationEntry("zz", SpiffeId.parse(Y), entry.selectors(), Duration.ZERO,
                Duration.ZERO, "");
        assertThat(failure(stranger, List.of("payments")).isTransient()).isFalse();
        RegistrationEntry impostor = new RegistrationEntry("a", SpiffeId.parse(Y), entry.selectors(), Duration.ZERO,
                Duration.ZERO, "");
        assertThat(failure(impostor, List.of("payments")).getMessage()).contains("no registration entry a");
        assertThat(failure(entry, List.of()).isTransient()).isFalse();
        assertThat(failure(entry, List.of(" ")).isTransient()).isFalse();
        assertThat(ca.calls("MintJWTSVID")).isZero();
    }

    @Test
    void theCaRefusingIsAPermanentFailureAndNothingIsCached() throws Exception {
        ca.fail("MintJWTSVID", Status.PERMISSION_DENIED.withDescription("not yours"));
        WorkloadIdentityException failure = failure(entry, List.of("payments"));
        assertThat(failure.isTransient()).isFalse();
        assertThat(manager.jwtCacheSize()).isZero();

        ca.fail("MintJWTSVID", null);
        fetch(List.of("payments"));
        assertThat(ca.calls("MintJWTSVID")).isEqualTo(2);
    }

    @Test
    void aDeletedEntryTakesItsTokensAlong() throws Exception {
        fetch(List.of("payments"));
        ca.setEntries(List.of(ca.entry("b", Y, "unix:uid:1001")));
        sync();
        assertThat(manager.jwtCacheSize()).isZero();
        assertThat(failure(entry, List.of("payments")).getMessage()).contains("no registration entry a");
    }
}
