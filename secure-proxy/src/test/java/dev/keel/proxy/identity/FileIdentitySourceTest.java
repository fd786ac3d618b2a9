package dev.keel.proxy.identity;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.keel.identity.Pem;
import dev.keel.identity.SpiffeId;
import dev.keel.identity.TrustDomain;
import dev.keel.proxy.ProxyConfig.FileIdentity;
import dev.keel.proxy.X509Material;
import dev.keel.testing.TestLeaf;
import dev.keel.testing.TestPki;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The proxy's identity from PEM files: checks at start, errors naming the file, reload on change. */
class FileIdentitySourceTest {

    static final String ID = "spiffe://cluster.local/ns/default/sa/web";

    @TempDir
    Path dir;
    TestPki pki;
    Path cert;
    Path key;
    Path bundle;

    @BeforeEach
    void setUp() throws IOException {
        pki = TestPki.builder().trustDomain("cluster.local").build();
        cert = dir.resolve("svid.pem");
        key = dir.resolve("svid.key");
        bundle = dir.resolve("bundle.pem");
        Files.writeString(bundle, pki.rootPem());
    }

    FileIdentity files(Optional<TrustDomain> td) {
        return new FileIdentity(cert, key, bundle, td, Duration.ofSeconds(10));
    }

    FileIdentity files() {
        return files(Optional.empty());
    }

    /** Writes the leaf's chain and key, moving the modification time on so a rewrite is always seen. */
    void write(TestLeaf leaf, TestLeaf keyOf) throws IOException {
        Files.writeString(cert, Pem.encodeCertificates(leaf.chain()));
        Files.writeString(key, Pem.encodePrivateKey(keyOf.privateKey()));
        FileTime later = FileTime.fromMillis(System.currentTimeMillis() + counter++ * 1000L);
        Files.setLastModifiedTime(cert, later);
        Files.setLastModifiedTime(key, later);
    }

    int counter = 1;

    @Test
    void validFilesBecomeTheMaterialWithTheBundleOfTheSvidsTrustDomain() throws IOException {
        TestLeaf leaf = pki.leaf(ID).dnsSan("localhost").issue();
        write(leaf, leaf);
        try (FileIdentitySource source = FileIdentitySource.open(files(Optional.of(TrustDomain.parse("cluster.local"))),
                pki.clock(), false)) {
            X509Material m = source.current().orElseThrow();
            assertThat(m.spiffeId()).isEqualTo(SpiffeId.parse(ID));
            assertThat(m.chain()).isEqualTo(leaf.chain());
            assertThat(m.bundles()).containsOnlyKeys(TrustDomain.parse("cluster.local"));
            assertThat(m.bundles().get(TrustDomain.parse("cluster.local")).x509Authorities()).containsExactly(pki.root());
        }
    }

    @Test
    void aKeyThatIsNotTheLeafsIsRefusedWithoutPrintingIt() throws IOException {
        TestLeaf leaf = pki.leaf(ID).issue();
        TestLeaf other = pki.leaf(ID).issue();
        write(leaf, other);
        String keyPem = Files.readString(key);
        String keyBody = keyPem.lines().filter(l -> !l.startsWith("-----")).findFirst().orElseThrow();
        assertThatThrownBy(() -> FileIdentitySource.open(files(), pki.clock(), false))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("identity.privateKey " + key)
                .hasMessageContaining("not the key of the leaf")
                .message().doesNotContain(keyBody);
    }

    @Test
    void anSvidOfAnotherTrustDomainThanConfiguredIsRefused() throws IOException {
        TestLeaf leaf = pki.leaf(ID).issue();
        write(leaf, leaf);
        assertThatThrownBy(() -> FileIdentitySource.open(files(Optional.of(TrustDomain.parse("example.org"))),
                pki.clock(), false))
                .hasMessageContaining("identity.certificateChain").hasMessageContaining("not in trust domain example.org");
    }

    @Test
    void anExpiredSvidOrOneFromAnotherCaDoesNotVerify() throws IOException {
        TestLeaf expired = pki.leaf(ID).expired().issue();
        write(expired, expired);
        assertThatThrownBy(() -> FileIdentitySource.open(files(), pki.clock(), false))
                .hasMessageContaining("does not verify against identity.trustBundle " + bundle);

        TestLeaf foreign = TestPki.builder().trustDomain("cluster.local").build().leaf(ID).issue();
        write(foreign, foreign);
        assertThatThrownBy(() -> FileIdentitySource.open(files(), pki.clock(), false))
                .hasMessageContaining("does not verify");
    }

    @Test
    void missingOrNonPemFilesAreNamed() throws IOException {
        assertThatThrownBy(() -> FileIdentitySource.open(files(), pki.clock(), false))
                .hasMessage("identity.certificateChain " + cert + ": no such file");
        TestLeaf leaf = pki.leaf(ID).issue();
        write(leaf, leaf);
        Files.writeString(bundle, "not pem");
        assertThatThrownBy(() -> FileIdentitySource.open(files(), pki.clock(), false))
                .hasMessageStartingWith("identity.trustBundle " + bundle + ": ");
    }

    @Test
    void aChangedValidSetReplacesTheMaterialAndABadOneKeepsIt() throws IOException {
        TestLeaf first = pki.leaf(ID).issue();
        write(first, first);
        try (FileIdentitySource source = FileIdentitySource.open(files(), pki.clock(), false)) {
            List<X509Material> seen = new ArrayList<>();
            source.subscribe(seen::add);
            assertThat(source.refresh()).as("unchanged files").isFalse();

            TestLeaf second = pki.leaf(ID).issue();
            write(second, second);
            assertThat(source.refresh()).isTrue();
            assertThat(source.current().orElseThrow().leaf()).isEqualTo(second.certificate());
            assertThat(seen).hasSize(1);

            // Half a rotation: the new certificate is there, its key not yet.
            TestLeaf third = pki.leaf(ID).issue();
            write(third, second);
            assertThat(source.refresh()).isFalse();
            assertThat(source.current().orElseThrow().leaf()).isEqualTo(second.certificate());

            write(third, third);
            assertThat(source.refresh()).isTrue();
            assertThat(source.current().orElseThrow().leaf()).isEqualTo(third.certificate());
            assertThat(seen).hasSize(2);
        }
    }
}
