package dev.keel.jwt;

import static dev.keel.jwt.TestIssuer.bearer;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.keel.jwt.JwtResult.Reason;
import dev.keel.testing.FakeClock;
import java.net.URI;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletionException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Remote key sets over real HTTPS: fetching, rotation, staleness, and what the fetcher refuses. */
class JwksTest {

    private final TestIssuer issuer = new TestIssuer("https://issuer.example");
    private final FakeClock clock = FakeClock.now();
    private JwksServer server;
    private JwksFetcher fetcher;

    @BeforeEach
    void start() throws Exception {
        server = new JwksServer();
        fetcher = JwksFetcher.builder().sslContext(server.clientContext()).allowLoopback(true).build();
        issuer.addKey("k1", "ES256");
        server.body.set(issuer.jwks());
    }

    @AfterEach
    void stop() {
        server.close();
    }

    private JwtAuthenticator authenticator(JwksCache cache) {
        return JwtAuthenticator.builder().rule("r", issuer.rule("", server.uri("/jwks").toString())).jwksCache(cache)
                .clock(clock).verifiedTokenCacheSize(0).build();
    }

    private JwksCache cache() {
        return JwksCache.builder().fetcher(fetcher).clock(clock).refreshInterval(Duration.ofMinutes(10))
                .minRefreshInterval(Duration.ofSeconds(30)).maxStale(Duration.ofHours(1)).build();
    }

    private static JwtResult run(JwtAuthenticator authenticator, String token) {
        return authenticator.authenticate(bearer(token)).join();
    }

    private static Reason reason(JwtResult result) {
        assertThat(result).isInstanceOf(JwtResult.Invalid.class);
        return ((JwtResult.Invalid) result).reason();
    }

    @Test
    void keysAreFetchedOnceAndCached() {
        JwtAuthenticator authenticator = authenticator(cache());
        assertThat(run(authenticator, issuer.token())).isInstanceOf(JwtResult.Ok.class);
        assertThat(run(authenticator, issuer.token())).isInstanceOf(JwtResult.Ok.class);
        assertThat(server.hits.get()).isEqualTo(1);
    }

    @Test
    void aCacheSharedAcrossAuthenticatorsDoesNotRefetch() {
        JwksCache cache = cache();
        assertThat(run(authenticator(cache), issuer.token())).isInstanceOf(JwtResult.Ok.class);
        assertThat(run(authenticator(cache), issuer.token())).isInstanceOf(JwtResult.Ok.class);
        assertThat(server.hits.get()).isEqualTo(1);
    }

    @Test
    void keyRotationAtTheIssuerIsPickedUpOnAnUnknownKid() {
        JwtAuthenticator authenticator = authenticator(cache());
        assertThat(run(authenticator, issuer.token())).isInstanceOf(JwtResult.Ok.class);

        TestIssuer.Key k2 = issuer.addKey("k2", "RS256");
        server.body.set(issuer.jwks());
        clock.advance(Duration.ofSeconds(31));

        assertThat(run(authenticator, issuer.sign(k2, issuer.claims()))).isInstanceOf(JwtResult.Ok.class);
        assertThat(server.hits.get()).isEqualTo(2);
    }

    @Test
    void unknownKidsRefreshAtMostOncePerInterval() {
        JwtAuthenticator authenticator = authenticator(cache());
        assertThat(run(authenticator, issuer.token())).isInstanceOf(JwtResult.Ok.class);
        TestIssuer.Key made = new TestIssuer.Key("made-up", "ES256", TestIssuer.generate("ES256"), java.util.Map.of());
        clock.advance(Duration.ofSeconds(31));
        for (int i = 0; i < 20; i++) {
            assertThat(reason(run(authenticator, issuer.sign(made, issuer.claims())))).isEqualTo(Reason.UNKNOWN_KEY);
        }
        assertThat(server.hits.get()).isEqualTo(2);
    }

    @Test
    void keysAreRefreshedAfterTheIntervalWhileStillServed() throws Exception {
        JwtAuthenticator authenticator = authenticator(cache());
        assertThat(run(authenticator, issuer.token())).isInstanceOf(JwtResult.Ok.class);
        clock.advance(Duration.ofMinutes(11));
        assertThat(run(authenticator, issuer.token())).isInstanceOf(JwtResult.Ok.class);
        for (int i = 0; i < 50 && server.hits.get() < 2; i++) {
            Thread.sleep(20);
        }
        assertThat(server.hits.get()).isEqualTo(2);
    }

    @Test
    void staleKeysAreServedWhileTheServerIsDownThenDropped() {
        JwtAuthenticator authenticator = authenticator(cache());
        assertThat(run(authenticator, issuer.token())).isInstanceOf(JwtResult.Ok.class);
        server.stop();

        clock.advance(Duration.ofMinutes(30)); // past the refresh interval, within maxStale
        assertThat(run(authenticator, issuer.token())).isInstanceOf(JwtResult.Ok.class);
        clock.advance(Duration.ofMinutes(31)); // past maxStale: fail closed
        JwtResult result = run(authenticator, issuer.token());
        assertThat(reason(result)).isEqualTo(Reason.JWKS_UNAVAILABLE);
        assertThat(((JwtResult.Invalid) result).detail()).contains("unavailable");
    }

    @Test
    void aServerErrorKeepsTheLastGoodKeys() {
        JwtAuthenticator authenticator = authenticator(cache());
        assertThat(run(authenticator, issuer.token())).isInstanceOf(JwtResult.Ok.class);
        server.status.set(500);
        clock.advance(Duration.ofSeconds(31));
        TestIssuer.Key k2 = new TestIssuer.Key("k2", "ES256", TestIssuer.generate("ES256"), java.util.Map.of());
        assertThat(reason(run(authenticator, issuer.sign(k2, issuer.claims())))).isEqualTo(Reason.UNKNOWN_KEY);
        assertThat(run(authenticator, issuer.token())).isInstanceOf(JwtResult.Ok.class);
    }

    @Test
    void aServerThatNeverAnsweredRefusesTokens() {
        server.status.set(404);
        assertThat(reason(run(authenticator(cache()), issuer.token()))).isEqualTo(Reason.JWKS_UNAVAILABLE);
    }

    @Test
    void anUntrustedCertificateIsRefused() {
        JwksFetcher defaultTrust = JwksFetcher.builder().allowLoopback(true).build();
        assertThatThrownBy(() -> defaultTrust.fetch(server.uri("/jwks"), Duration.ofSeconds(5)).join())
                .isInstanceOf(CompletionException.class).hasMessageContaining("SSL");
    }

    @Test
    void plainHttpIsRefusedUnlessAllowed() {
        assertThatThrownBy(() -> fetcher.fetch(URI.create("http://localhost:1/jwks"), Duration.ofSeconds(1)).join())
                .hasMessageContaining("scheme http");
    }

    @Test
    void loopbackIsRefusedUnlessAllowed() throws Exception {
        JwksFetcher strict = JwksFetcher.builder().sslContext(server.clientContext()).build();
        assertThatThrownBy(() -> strict.fetch(server.uri("/jwks"), Duration.ofSeconds(5)).join())
                .hasMessageContaining("loopback");
    }

    @Test
    void metadataAddressesAreRefusedBeforeConnecting() {
        for (String uri : List.of("https://169.254.169.254/latest/meta-data/", "https://[fd00:ec2::254]/",
                "https://[::ffff:169.254.169.254]/", "https://0.0.0.0/", "https://[fe80::1]/")) {
            assertThatThrownBy(() -> fetcher.fetch(URI.create(uri), Duration.ofSeconds(1)).join())
                    .as(uri).hasMessageContaining("refused");
        }
    }

    @Test
    void redirectsStayOnTheSameHost() {
        server.location.set(server.uri("/other").toString());
        assertThat(fetcher.fetch(server.uri("/jwks"), Duration.ofSeconds(5)).join()).contains("keys");

        server.location.set("https://127.0.0.1:" + server.uri("/").getPort() + "/other");
        assertThatThrownBy(() -> fetcher.fetch(server.uri("/jwks"), Duration.ofSeconds(5)).join())
                .hasMessageContaining("redirect");
        server.location.set("http://localhost:" + server.uri("/").getPort() + "/other");
        assertThatThrownBy(() -> fetcher.fetch(server.uri("/jwks"), Duration.ofSeconds(5)).join())
                .hasMessageContaining("redirect");
    }

    @Test
    void fetchingIsAsynchronousAndSharedByConcurrentRequests() {
        java.util.concurrent.CompletableFuture<String> pending = new java.util.concurrent.CompletableFuture<>();
        java.util.concurrent.atomic.AtomicInteger fetches = new java.util.concurrent.atomic.AtomicInteger();
        JwksCache cache = JwksCache.builder().clock(clock).fetcher((uri, timeout) -> {
            fetches.incrementAndGet();
            return pending;
        }).build();
        JwtAuthenticator authenticator = authenticator(cache);

        java.util.concurrent.CompletableFuture<JwtResult> first = authenticator.authenticate(bearer(issuer.token()));
        java.util.concurrent.CompletableFuture<JwtResult> second = authenticator.authenticate(bearer(issuer.token()));
        assertThat(first).isNotDone();
        assertThat(second).isNotDone();
        pending.complete(issuer.jwks());

        assertThat(first.join()).isInstanceOf(JwtResult.Ok.class);
        assertThat(second.join()).isInstanceOf(JwtResult.Ok.class);
        assertThat(fetches.get()).isEqualTo(1);
    }

    @Test
    void plainHttpWorksOnlyWhenAllowed() throws Exception {
        com.sun.net.httpserver.HttpServer http = com.sun.net.httpserver.HttpServer.create(
                new java.net.InetSocketAddress(java.net.InetAddress.getByName("127.0.0.1"), 0), 0);
        http.createContext("/", exchange -> {
            byte[] bytes = issuer.jwks().getBytes(java.nio.charset.StandardCharsets.UTF_8);
            exchange.sendResponseHeaders(200, bytes.length);
            exchange.getResponseBody().write(bytes);
            exchange.close();
        });
        http.start();
        try {
            URI uri = URI.create("http://127.0.0.1:" + http.getAddress().getPort() + "/jwks");
            JwksFetcher allowing = JwksFetcher.builder().allowHttp(true).allowLoopback(true).build();
            assertThat(allowing.fetch(uri, Duration.ofSeconds(5)).join()).contains("\"keys\"");
            assertThatThrownBy(() -> fetcher.fetch(uri, Duration.ofSeconds(5)).join()).hasMessageContaining("scheme http");
        } finally {
            http.stop(0);
        }
    }

    @Test
    void oversizedDocumentsAreRefused() throws Exception {
        JwksFetcher small = JwksFetcher.builder().sslContext(server.clientContext()).allowLoopback(true).maxBytes(100).build();
        assertThatThrownBy(() -> small.fetch(server.uri("/jwks"), Duration.ofSeconds(5)).join())
                .hasMessageContaining("bytes");
    }
}
