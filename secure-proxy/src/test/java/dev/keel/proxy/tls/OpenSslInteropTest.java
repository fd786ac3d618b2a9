package dev.keel.proxy.tls;

import static org.assertj.core.api.Assertions.assertThat;

import dev.keel.identity.SpiffeId;
import dev.keel.proxy.X509Material;
import dev.keel.testing.TestLeaf;
import dev.keel.testing.TestPki;
import io.netty.handler.ssl.ClientAuth;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The served certificate as the stock {@code openssl s_client} sees it, before and after a rotation. */
class OpenSslInteropTest {

    static final SpiffeId SERVER = SpiffeId.parse("spiffe://cluster.local/ns/shop/sa/backend");

    @TempDir
    Path dir;

    @Test
    void opensslClientSeesTheRotatedCertificateOnItsNextConnection() throws Exception {
        TestPki pki = TestPki.create();
        TestLeaf client = pki.leaf("spiffe://cluster.local/ns/shop/sa/frontend").issue();
        Files.writeString(dir.resolve("client.pem"), client.chainPem());
        Files.writeString(dir.resolve("client.key"), client.privateKeyPem());
        Files.writeString(dir.resolve("root.pem"), pki.rootPem());
        X509Material first = MutableIdentitySource.material(pki, SERVER);
        MutableIdentitySource identity = MutableIdentitySource.of(first);
        try (TlsContextHolder holder = TlsContextHolder.follow(identity, ClientAuth.REQUIRE, List.of());
                TlsEcho echo = new TlsEcho(holder::server)) {

            assertThat(servedSerial(echo.port())).isEqualTo(first.leaf().getSerialNumber().toString(16));

            X509Material second = MutableIdentitySource.material(pki, SERVER);
            identity.set(second);

            assertThat(servedSerial(echo.port())).isEqualTo(second.leaf().getSerialNumber().toString(16));
        }
    }

    /** {@code openssl s_client} with a client certificate, verifying against the root; the leaf's serial in hex. */
    private String servedSerial(int port) throws IOException, InterruptedException {
        String script = "openssl s_client -connect 127.0.0.1:" + port + " -cert client.pem -key client.key"
                + " -CAfile root.pem -verify_return_error </dev/null 2>/dev/null | openssl x509 -noout -serial";
        Process process = new ProcessBuilder("bash", "-c", script).directory(dir.toFile()).redirectErrorStream(true).start();
        String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
        assertThat(process.waitFor(20, TimeUnit.SECONDS)).isTrue();
        assertThat(output).as(output).startsWith("serial=");
        return output.substring("serial=".length()).toLowerCase(Locale.ROOT).replaceFirst("^0+", "");
    }
}
