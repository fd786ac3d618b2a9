package dev.keel.identity;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assumptions.assumeThat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Interoperability with the real {@code openssl} tool, the way Istio's cacerts are usually made. Skipped without it. */
class PemOpenSslTest {

    @TempDir
    Path dir;

    @BeforeAll
    static void needsOpenSsl() {
        boolean available;
        try {
            available = run("version").startsWith("OpenSSL");
        } catch (IOException | InterruptedException e) {
            available = false;
        }
        assumeThat(available).as("openssl on the PATH").isTrue();
    }

    @Test
    void readsTraditionalRsaKeys() throws Exception {
        Path key = dir.resolve("ca-key.pem");
        run("genrsa", "-traditional", "-out", key.toString(), "2048");
        String pem = Files.readString(key);

        PrivateKey decoded = Pem.decodePrivateKey(pem);

        assertThat(pem).contains("-----BEGIN RSA PRIVATE KEY-----");
        assertThat(SoftwareSigningKey.of("ca", new KeyPair(publicKeyOf(key), decoded)).keyType()).isEqualTo(KeyType.RSA_2048);
    }

    @Test
    void readsEcparamGenkeyOutput() throws Exception {
        Path key = dir.resolve("ec-key.pem");
        run("ecparam", "-name", "prime256v1", "-genkey", "-out", key.toString());
        String pem = Files.readString(key);

        PrivateKey decoded = Pem.decodePrivateKey(pem);

        assertThat(pem).contains("-----BEGIN EC PARAMETERS-----").contains("-----BEGIN EC PRIVATE KEY-----");
        assertThat(SoftwareSigningKey.of("ec", new KeyPair(publicKeyOf(key), decoded)).keyType()).isEqualTo(KeyType.EC_P256);
    }

    @Test
    void readsPkcs8Keys() throws Exception {
        Path key = dir.resolve("key.pem");
        run("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-384", "-out", key.toString());

        PrivateKey decoded = Pem.decodePrivateKey(Files.readString(key));

        assertThat(SoftwareSigningKey.of("p384", new KeyPair(publicKeyOf(key), decoded)).keyType())
                .isEqualTo(KeyType.EC_P384);
    }

    @Test
    void openSslReadsWhatPemWritesAndTheOtherWayRound() throws Exception {
        TestCerts.Ca root = TestCerts.root("example.org", KeyType.EC_P256);
        Path cert = dir.resolve("root-cert.pem");
        Files.writeString(cert, Pem.encodeCertificate(root.certificate()));
        Path keyFile = dir.resolve("key.pem");
        KeyPair pair = KeyPairs.generate(KeyType.EC_P256);
        Files.writeString(keyFile, Pem.encodePrivateKey(pair.getPrivate()));

        String text = run("x509", "-in", cert.toString(), "-text");
        String checked = run("pkey", "-in", keyFile.toString(), "-check", "-noout");

        assertThat(text).contains("URI:spiffe://example.org").contains("CA:TRUE");
        assertThat(checked).contains("valid");
        List<X509Certificate> back = Pem.decodeCertificates(text);
        assertThat(back).containsExactly(root.certificate());
    }

    private java.security.PublicKey publicKeyOf(Path privateKeyFile) throws Exception {
        Path pub = dir.resolve(privateKeyFile.getFileName() + ".pub");
        run("pkey", "-in", privateKeyFile.toString(), "-pubout", "-out", pub.toString());
        byte[] spki = Pem.decode(Files.readString(pub)).get(0).der();
        String algorithm = Files.readString(privateKeyFile).contains("RSA") ? "RSA" : "EC";
        return java.security.KeyFactory.getInstance(algorithm)
                .generatePublic(new java.security.spec.X509EncodedKeySpec(spki));
    }

    private static String run(String... args) throws IOException, InterruptedException {
        List<String> command = new ArrayList<>();
        command.add("openssl");
        command.addAll(List.of(args));
        Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
        process.getOutputStream().close();
        if (!process.waitFor(60, TimeUnit.SECONDS)) {
            process.destroyForcibly();
            throw new IOException("openssl " + String.join(" ", args) + " did not finish");
        }
        String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (process.exitValue() != 0) {
            throw new IOException("openssl " + String.join(" ", args) + " failed: " + output);
        }
        return output;
    }
}
