package dev.keel.proxy.tls;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.keel.identity.SpiffeId;
import dev.keel.proxy.X509Material;
import dev.keel.testing.FakeClock;
import dev.keel.testing.TestPki;
import java.time.Duration;
import io.netty.handler.ssl.ClientAuth;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class TlsContextHolderTest {

    static final SpiffeId SERVER = SpiffeId.parse("spiffe://cluster.local/ns/shop/sa/backend");
    static final SpiffeId CLIENT = SpiffeId.parse("spiffe://cluster.local/ns/shop/sa/frontend");
    final TestPki pki = TestPki.create();

    @Test
    void rotationServesTheNewCertificateToNewHandshakesAndKeepsEstablishedConnections() throws Exception {
        X509Material first = MutableIdentitySource.material(pki, SERVER);
        MutableIdentitySource serverIdentity = MutableIdentitySource.of(first);
        MutableIdentitySource clientIdentity = MutableIdentitySource.of(MutableIdentitySource.material(pki, CLIENT));
        try (TlsContextHolder server = TlsContextHolder.follow(serverIdentity, ClientAuth.REQUIRE, List.of());
                TlsContextHolder client = TlsContextHolder.follow(clientIdentity, ClientAuth.REQUIRE, List.of("http/1.1"));
                TlsEcho echo = new TlsEcho(server::server)) {

            TlsEcho.Client before = echo.connect(client.client());
            assertThat(before.ok()).isTrue();
            assertThat(before.serverLeaf().getSerialNumber()).isEqualTo(first.leaf().getSerialNumber());
            assertThat(echo.serverHandshakes.poll(10, TimeUnit.SECONDS)).isEqualTo(Optional.of(CLIENT));

            X509Material second = MutableIdentitySource.material(pki, SERVER);
            serverIdentity.set(second);
            X509Material clientSecond = MutableIdentitySource.material(pki, CLIENT);
            clientIdentity.set(clientSecond);
            assertThat(server.current().orElseThrow().material()).isEqualTo(second);

            try (TlsEcho.Client after = echo.connect(client.client())) {
                assertThat(after.ok()).isTrue();
                assertThat(after.serverLeaf().getSerialNumber()).isEqualTo(second.leaf().getSerialNumber())
                        .isNotEqualTo(first.leaf().getSerialNumber());
                assertThat(after.echo("new")).isEqualTo("new");
            }
            // The connection made before the rotation is untouched.
            assertThat(before.echo("still here")).isEqualTo("still here");
            assertThat(before.serverLeaf().getSerialNumber()).isEqualTo(first.leaf().getSerialNumber());
            before.close();
        }
    }

    @Test
    void expiredMaterialIsNeverHandedOut() {
        FakeClock clock = FakeClock.now();
        X509Material material = MutableIdentitySource.material(pki, pki.leaf(SERVER).ttl(Duration.ofHours(1)).issue());
        try (TlsContextHolder holder = TlsContextHolder.follow(MutableIdentitySource.of(material), ClientAuth.REQUIRE,
                TlsContexts.SERVER_ALPN, List.of(), clock)) {
            assertThat(holder.current()).isPresent();

            clock.set(material.leaf().getNotAfter().toInstant());

            assertThat(holder.current()).isEmpty();
            assertThatThrownBy(holder::server).hasMessageContaining("expired");
        }
    }

    @Test
    void noMaterialMeansNoTls() throws Exception {
        MutableIdentitySource empty = new MutableIdentitySource();
        try (TlsContextHolder holder = TlsContextHolder.follow(empty, ClientAuth.REQUIRE, List.of())) {
            assertThat(holder.current()).isEmpty();
            assertThatThrownBy(holder::server).isInstanceOf(IllegalStateException.class)
                    .hasMessageContaining("no X.509-SVID yet");

            empty.set(MutableIdentitySource.material(pki, SERVER));

            assertThat(holder.current()).isPresent();
            assertThat(holder.server().isServer()).isTrue();
            assertThat(holder.client().isClient()).isTrue();
        }
    }
}
