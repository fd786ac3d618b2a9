package dev.keel.ca.crl;

import dev.keel.ca.CaDirectory;
import dev.keel.ca.CitadelCa;
import dev.keel.ca.IssuancePolicy;
import dev.keel.ca.IssuedX509Svid;
import dev.keel.ca.SigningCa;
import dev.keel.identity.KeyType;
import dev.keel.identity.TrustDomain;
import dev.keel.testing.FakeClock;
import dev.keel.testing.TestCsr;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

/** A self-signed CA with file keys in a temporary directory, generated for each test, issuing through its real service. */
final class TestCa implements AutoCloseable {

    final FakeClock clock;
    final Path dir;
    final CitadelCa ca;

    private TestCa(FakeClock clock, Path dir, CitadelCa ca) {
        this.clock = clock;
        this.dir = dir;
        this.ca = ca;
    }

    static TestCa create(Path dir, KeyType keyType) throws Exception {
        FakeClock clock = FakeClock.now();
        CaDirectory.LoadedCa loaded = CaDirectory.initSelfSigned(dir, TrustDomain.parse("example.org"), keyType, clock);
        return new TestCa(clock, dir, CitadelCa.open(loaded, IssuancePolicy.DEFAULT, List.of(), clock));
    }

    SigningCa signingCa() {
        return ca.loaded().signingCa();
    }

    /** Issues an X.509-SVID through the CA's service, audited, as {@code keel ca issue} does. */
    IssuedX509Svid issue(String serviceAccount, Duration ttl) throws Exception {
        String csr = TestCsr.builder().uriSan("spiffe://example.org/ns/default/sa/" + serviceAccount).build().pem();
        return ca.service().issueAsOperator("test", csr, ttl).get();
    }

    @Override
    public void close() {
        ca.close();
    }
}
