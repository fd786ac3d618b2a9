package dev.keel.ca;

import java.io.IOException;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.List;

/**
 * An authority above Keel's CA that signs its issuing intermediate (Vault's PKI engine, wired in by the
 * composition root): Keel keeps the intermediate's key, the upstream keeps the root. Implementations
 * retry outages a bounded number of times and never put a secret in a message.
 *
 * <p>Implementations are thread-safe.
 */
@FunctionalInterface
public interface UpstreamAuthority {

    /**
     * Has the upstream sign {@code csrPem} as an issuing intermediate valid for {@code ttl} (the upstream
     * may shorten it).
     *
     * @return the intermediate first, then the upstream's chain up to and including its root
     * @throws IOException naming the upstream and why it did not sign (unreachable, sealed, refused)
     */
    List<X509Certificate> signIntermediate(String csrPem, Duration ttl) throws IOException;
}
