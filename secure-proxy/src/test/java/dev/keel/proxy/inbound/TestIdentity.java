package dev.keel.proxy.inbound;

import dev.keel.identity.Pem;
import dev.keel.identity.SpiffeId;
import dev.keel.proxy.IdentitySource;
import dev.keel.proxy.X509Material;
import dev.keel.testing.TestLeaf;
import dev.keel.testing.TestPki;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.cert.Certificate;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;

/** A fixed {@link IdentitySource} over a test PKI, with rotation on demand, and PEM files for curl. */
final class TestIdentity implements IdentitySource {

    private final TestPki pki;
    private volatile X509Material material;
    private final List<Consumer<X509Material>> listeners = new CopyOnWriteArrayList<>();

    TestIdentity(TestPki pki, String spiffeId) {
        this.pki = pki;
        this.material = issue(spiffeId);
    }

    X509Material issue(String spiffeId) {
        TestLeaf leaf = pki.leaf(spiffeId).dnsSan("localhost").issue();
        return new X509Material(SpiffeId.parse(spiffeId), leaf.chain(), leaf.privateKey(),
                Map.of(pki.trustDomain(), pki.bundle()));
    }

    void rotate(X509Material next) {
        material = next;
        listeners.forEach(l -> l.accept(next));
    }

    X509Material material() {
        return material;
    }

    @Override
    public Optional<X509Material> current() {
        return Optional.of(material);
    }

    @Override
    public AutoCloseable subscribe(Consumer<X509Material> listener) {
        listeners.add(listener);
        return () -> listeners.remove(listener);
    }

    /** Writes {@code leaf}'s chain and key, and the root, as PEM files; returns {cert, key, root}. */
    static Path[] pemFiles(TestPki pki, TestLeaf leaf, Path dir, String name) throws IOException {
        Path cert = dir.resolve(name + ".crt");
        Path key = dir.resolve(name + ".key");
        Path root = dir.resolve("root.pem");
        Files.writeString(cert, Pem.encodeCertificates(leaf.chain()));
        Files.writeString(key, Pem.encodePrivateKey(leaf.privateKey()));
        Files.writeString(root, pki.rootPem());
        return new Path[] {cert, key, root};
    }

    /** A JDK client context presenting {@code leaf} and trusting the PKI's root. */
    static SSLContext clientContext(TestPki pki, TestLeaf leaf) throws Exception {
        char[] pw = "pw".toCharArray();
        KeyStore ks = KeyStore.getInstance("PKCS12");
        ks.load(null, null);
        ks.setKeyEntry("client", leaf.privateKey(), pw, leaf.chain().toArray(new Certificate[0]));
        KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
        kmf.init(ks, pw);
        KeyStore ts = KeyStore.getInstance("PKCS12");
        ts.load(null, null);
        ts.setCertificateEntry("root", pki.root());
        TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        tmf.init(ts);
        SSLContext ctx = SSLContext.getInstance("TLS");
        ctx.init(kmf.getKeyManagers(), tmf.getTrustManagers(), null);
        return ctx;
    }
}
