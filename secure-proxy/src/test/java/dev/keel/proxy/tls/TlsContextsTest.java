package dev.keel.proxy.tls;

import static org.assertj.core.api.Assertions.assertThat;

import dev.keel.identity.SpiffeId;
import dev.keel.identity.X509SvidValidationException;
import dev.keel.proxy.X509Material;
import dev.keel.testing.TestPki;
import io.netty.handler.ssl.ClientAuth;
import io.netty.handler.ssl.OpenSsl;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslProvider;
import java.security.cert.X509Certificate;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Real handshakes over 127.0.0.1 between Netty peers using BoringSSL. */
class TlsContextsTest {

    static final SpiffeId SERVER = SpiffeId.parse("spiffe://cluster.local/ns/shop/sa/backend");
    static final SpiffeId CLIENT = SpiffeId.parse("spiffe://cluster.local/ns/shop/sa/frontend");

    static TestPki pki;
    static X509Material serverMaterial;
    static X509Material clientMaterial;
    TlsEcho echo;

    @BeforeAll
    static void pki() {
        assertThat(OpenSsl.isAvailable()).as("BoringSSL").isTrue();
        pki = TestPki.create();
        serverMaterial = MutableIdentitySource.material(pki, SERVER);
        clientMaterial = MutableIdentitySource.material(pki, CLIENT);
    }

    @AfterEach
    void stop() throws InterruptedException {
        if (echo != null) {
            echo.close();
        }
    }

    private TlsEcho serve(X509Material material, ClientAuth auth) throws Exception {
        SslContext context = TlsContexts.server(material, auth);
        echo = new TlsEcho(() -> context);
        return echo;
    }

    @Test
    void mutualTlsBothSidesSeeTheOthersSpiffeId() throws Exception {
        serve(serverMaterial, ClientAuth.REQUIRE);
        try (TlsEcho.Client client = echo.connect(TlsContexts.client(clientMaterial, List.of("h2", "http/1.1")))) {
            assertThat(client.failure).isNull();
            assertThat(client.serverId()).contains(SERVER);
            assertThat(client.ssl.engine().getSession().getProtocol()).isEqualTo("TLSv1.3");
            assertThat(client.ssl.applicationProtocol()).isEqualTo("h2");
            assertThat(echo.serverHandshakes.poll(10, TimeUnit.SECONDS)).isEqualTo(Optional.of(CLIENT));
            assertThat(client.echo("ping")).isEqualTo("ping");
        }
    }

    @Test
    void http11IsNegotiatedWhenTheClientOffersOnlyIt() throws Exception {
        serve(serverMaterial, ClientAuth.REQUIRE);
        try (TlsEcho.Client client = echo.connect(TlsContexts.client(clientMaterial, List.of("http/1.1")))) {
            assertThat(client.ok()).isTrue();
            assertThat(client.ssl.applicationProtocol()).isEqualTo("http/1.1");
        }
    }

    @Test
    void tls12IsAllowed() throws Exception {
        serve(serverMaterial, ClientAuth.REQUIRE);
        SslContext tls12 = SslContextBuilder.forClient().sslProvider(SslProvider.OPENSSL).protocols("TLSv1.2")
                .keyManager(clientMaterial.privateKey(), clientMaterial.chain().toArray(new X509Certificate[0]))
                .trustManager(SpiffeTrustManager.create(TlsContexts.bundles(clientMaterial))).build();
        try (TlsEcho.Client client = echo.connect(tls12)) {
            assertThat(client.ok()).isTrue();
            assertThat(client.ssl.engine().getSession().getProtocol()).isEqualTo("TLSv1.2");
            assertThat(client.echo("tls12")).isEqualTo("tls12");
        }
    }

    @Test
    void clientOfAnotherCaIsRefused() throws Exception {
        serve(serverMaterial, ClientAuth.REQUIRE);
        TestPki other = TestPki.create();
        dev.keel.testing.TestLeaf strangerLeaf = other.leaf(CLIENT).issue();
        X509Material stranger = new X509Material(CLIENT, strangerLeaf.chain(), strangerLeaf.privateKey(),
                serverMaterial.bundles());
        // The stranger trusts our CA (so it would accept the server), but its own chain is foreign.
        try (TlsEcho.Client client = echo.connect(TlsContexts.client(stranger, List.of()))) {
            Object serverSide = echo.serverHandshakes.poll(10, TimeUnit.SECONDS);
            assertThat(serverSide).isInstanceOf(Throwable.class);
            assertThat(svidFailure((Throwable) serverSide).rule()).isEqualTo(X509SvidValidationException.Rule.UNTRUSTED);
        }
    }

    @Test
    void clientWithoutCertificateIsRefusedWhenRequiredAndAnonymousWhenOptional() throws Exception {
        SslContext anonymous = SslContextBuilder.forClient().sslProvider(SslProvider.OPENSSL)
                .trustManager(SpiffeTrustManager.create(TlsContexts.bundles(clientMaterial))).build();
        serve(serverMaterial, ClientAuth.REQUIRE);
        try (TlsEcho.Client client = echo.connect(anonymous)) {
            assertThat(echo.serverHandshakes.poll(10, TimeUnit.SECONDS)).isInstanceOf(Throwable.class);
        }
        echo.close();

        serve(serverMaterial, ClientAuth.OPTIONAL);
        try (TlsEcho.Client client = echo.connect(anonymous)) {
            assertThat(client.ok()).isTrue();
            assertThat(echo.serverHandshakes.poll(10, TimeUnit.SECONDS)).isEqualTo(Optional.empty());
            assertThat(client.echo("anon")).isEqualTo("anon");
        }
    }

    @Test
    void serverOfAnUntrustedTrustDomainIsRefusedByTheClient() throws Exception {
        TestPki foreign = TestPki.builder().trustDomain("example.org").build();
        X509Material foreignServer = MutableIdentitySource.material(foreign,
                SpiffeId.parse("spiffe://example.org/ns/shop/sa/backend"));
        serve(foreignServer, ClientAuth.OPTIONAL);
        try (TlsEcho.Client client = echo.connect(TlsContexts.client(clientMaterial, List.of()))) {
            assertThat(client.ok()).isFalse();
            assertThat(svidFailure(client.failure)).hasMessageContaining("no bundle for trust domain example.org");
        }
    }

    @Test
    void serverPresentingACaCertificateAsLeafIsRefused() throws Exception {
        X509Material caLeaf = MutableIdentitySource.material(pki, pki.leaf(SERVER).caFlag().issue());
        serve(caLeaf, ClientAuth.OPTIONAL);
        try (TlsEcho.Client client = echo.connect(TlsContexts.client(clientMaterial, List.of()))) {
            assertThat(client.ok()).isFalse();
            assertThat(svidFailure(client.failure).rule()).isEqualTo(X509SvidValidationException.Rule.LEAF_CA);
        }
    }

    /** The SPIFFE verification failure somewhere in the handshake failure's causes. */
    static X509SvidValidationException svidFailure(Throwable t) {
        for (Throwable cause = t; cause != null; cause = cause.getCause()) {
            if (cause instanceof X509SvidValidationException e) {
                return e;
            }
        }
        throw new AssertionError("no X509SvidValidationException in", t);
    }
}
