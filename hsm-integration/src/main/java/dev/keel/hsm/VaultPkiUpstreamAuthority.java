package dev.keel.hsm;

import dev.keel.identity.Pem;
import io.github.jopenlibs.vault.json.JsonObject;
import io.github.jopenlibs.vault.json.JsonValue;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * Vault's PKI secrets engine as the upstream authority of Keel's CA: Keel's issuing intermediate is
 * signed by {@code POST <mount>/root/sign-intermediate} (the CSR's subject and extensions requested
 * with {@code use_csr_values=true}, {@code format=pem}, {@code max_path_length=0},
 * {@code exclude_cn_from_sans=true}). The answer's {@code certificate},
 * {@code issuing_ca} and {@code ca_chain} give the intermediate and the chain to Vault's root.
 * Errors as for the Transit signer: bounded retries of outages, then {@link UpstreamAuthorityException}
 * marked unavailable; refusals at once; no secret in messages or logs.
 *
 * <p>Thread-safe.
 */
public final class VaultPkiUpstreamAuthority {

    private final String mount;
    private final VaultSession session;

    private VaultPkiUpstreamAuthority(String mount, VaultSession session) {
        this.mount = mount;
        this.session = session;
    }

    public static Builder builder(String address) {
        return new Builder(address);
    }

    /** Settings; not thread-safe. */
    public static final class Builder {
        private final VaultSession.Settings settings;
        private String mount = "pki";

        Builder(String address) {
            this.settings = new VaultSession.Settings(address, Duration.ofSeconds(10), Duration.ofMillis(500));
        }

        /** The PKI engine's mount path (default {@code pki}). */
        public Builder mount(String mount) {
            this.mount = VaultSession.mountPath(mount);
            return this;
        }

        public Builder trustedCertificatesPem(String pem) {
            settings.trustedCertificatesPem(pem);
            return this;
        }

        public Builder credentials(VaultCredentials credentials) {
            settings.credentials(credentials);
            return this;
        }

        public Builder timeout(Duration timeout) {
            settings.timeout(timeout);
            return this;
        }

        public Builder retries(int maxAttempts, Duration backoff) {
            settings.retries(maxAttempts, backoff);
            return this;
        }

        public VaultPkiUpstreamAuthority build() {
            return new VaultPkiUpstreamAuthority(mount, settings.open());
        }
    }

    /** What Vault signed: Keel's intermediate, then the chain above it up to Vault's root. */
    public record SignedIntermediate(X509Certificate certificate, List<X509Certificate> upstreamChain) {

        public SignedIntermediate {
            Objects.requireNonNull(certificate, "certificate");
            upstreamChain = List.copyOf(upstreamChain);
        }

        /** The last certificate of the upstream chain: the trust anchor workloads get. */
        public X509Certificate root() {
            return upstreamChain.isEmpty() ? certificate : upstreamChain.get(upstreamChain.size() - 1);
        }
    }

    /**
     * Has Vault sign {@code csrPem} as an intermediate CA valid for {@code ttl} (Vault caps it to its
     * own role and CA).
     *
     * @throws UpstreamAuthorityException naming the mount and the Vault status
     */
    public SignedIntermediate signIntermediate(String csrPem, String commonName, Duration ttl)
            throws UpstreamAuthorityException {
        Objects.requireNonNull(csrPem, "csrPem");
        Objects.requireNonNull(commonName, "commonName");
        Objects.requireNonNull(ttl, "ttl");
        String what = "Vault PKI " + mount;
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("csr", csrPem);
        body.put("common_name", commonName);
        body.put("ttl", ttl.toSeconds() + "s");
        body.put("format", "pem");
        body.put("use_csr_values", true);
        // An issuing CA signs leaves only; the common name is not a host name.
        body.put("max_path_length", 0);
        body.put("exclude_cn_from_sans", true);
        JsonObject data;
        try {
            data = session.write(what, mount + "/root/sign-intermediate", body);
        } catch (VaultSession.Failure e) {
            throw new UpstreamAuthorityException(e.getMessage(), e.unavailable, e.getCause());
        }
        try {
            X509Certificate certificate = Pem.decodeCertificate(data.getString("certificate", ""));
            List<X509Certificate> chain = new ArrayList<>();
            JsonValue caChain = data.get("ca_chain");
            if (caChain != null && caChain.isArray()) {
                for (JsonValue pem : caChain.asArray()) {
                    chain.addAll(Pem.decodeCertificates(pem.asString()));
                }
            } else {
                chain.addAll(Pem.decodeCertificates(data.getString("issuing_ca", "")));
            }
            chain.removeIf(certificate::equals);
            if (chain.isEmpty()) {
                throw new IllegalArgumentException("no issuing_ca or ca_chain in the answer");
            }
            return new SignedIntermediate(certificate, chain);
        } catch (RuntimeException e) {
            throw new UpstreamAuthorityException(what + ": malformed sign-intermediate answer (" + e.getMessage() + ")",
                    false, e);
        }
    }

    @Override
    public String toString() {
        return "VaultPkiUpstreamAuthority{mount=" + mount + "}";
    }
}
