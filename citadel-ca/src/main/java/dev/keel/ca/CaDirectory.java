package dev.keel.ca;

import dev.keel.ca.internal.CaCertificates;
import dev.keel.ca.internal.PemFiles;
import dev.keel.identity.KeyPairs;
import dev.keel.identity.KeyType;
import dev.keel.identity.PublicKeys;
import dev.keel.identity.SigningException;
import dev.keel.identity.SigningKey;
import dev.keel.identity.SoftwareSigningKey;
import dev.keel.identity.TrustDomain;
import java.io.IOException;
import java.io.Reader;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.PublicKey;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Properties;

/**
 * The CA's data directory. It holds the CA in Istio's {@code cacerts} layout ({@code ca-cert.pem},
 * {@code ca-key.pem}, {@code cert-chain.pem}, {@code root-cert.pem}), the JWT-SVID signing key, the
 * audit log, and {@code ca.properties} naming the trust domain and where each key lives.
 *
 * <p>Two ways to create one: {@link #initSelfSigned} generates a root and an issuing intermediate;
 * {@link #importCacerts} plugs in an enterprise root's intermediate after checking every file.
 * {@link #load} checks it all again on every start.
 */
public final class CaDirectory {

    public static final String CA_CERT = "ca-cert.pem";
    public static final String CA_KEY = "ca-key.pem";
    public static final String CERT_CHAIN = "cert-chain.pem";
    public static final String ROOT_CERT = "root-cert.pem";
    public static final String ROOT_KEY = "root-key.pem";
    public static final String JWT_KEY = "jwt-key.pem";
    public static final String CONFIG = "ca.properties";
    public static final String AUDIT_LOG = "audit.log";

    /** Istio's self-signed root lives ten years; the issuing intermediate one, renewed by the operator. */
    public static final Duration ROOT_TTL = Duration.ofDays(3650);
    public static final Duration INTERMEDIATE_TTL = Duration.ofDays(365);

    private CaDirectory() {
    }

    /** What {@link #load} returns: the configuration and the checked signing CA. */
    public record LoadedCa(Path dir, CaConfig config, SigningCa signingCa, SigningKey jwtKey, String jwtKeyId) {

        public Path auditLog() {
            return dir.resolve(AUDIT_LOG);
        }
    }

    /** The contents of {@code ca.properties}. */
    public record CaConfig(TrustDomain trustDomain, String mode, String caKey, String jwtKey) {

        public CaConfig {
            Objects.requireNonNull(trustDomain, "trustDomain");
            Objects.requireNonNull(mode, "mode");
            Objects.requireNonNull(caKey, "caKey");
            Objects.requireNonNull(jwtKey, "jwtKey");
        }
    }

    /**
     * Generates a self-signed root (10 years) and an issuing intermediate (1 year, pathLen 0) with
     * file keys, and a JWT-SVID key.
     *
     * @throws IOException if {@code dir} already holds a CA: a second init would orphan every
     *     certificate the first one issued
     */
    public static LoadedCa initSelfSigned(Path dir, TrustDomain trustDomain, KeyType keyType, Clock clock)
            throws IOException {
        refuseExisting(dir);
        Instant now = clock.instant();
        KeyPair rootPair = KeyPairs.generate(keyType);
        KeyPair caPair = KeyPairs.generate(keyType);
        SoftwareSigningKey rootKey = SoftwareSigningKey.of("file:" + ROOT_KEY, rootPair);
        List<X509Certificate> chain = selfSignedChain(trustDomain, rootKey, caPair.getPublic(), now);
        Files.createDirectories(dir);
        PemFiles.writePrivateKey(dir.resolve(ROOT_KEY), rootPair);
        PemFiles.writePrivateKey(dir.resolve(CA_KEY), caPair);
        PemFiles.writePrivateKey(dir.resolve(JWT_KEY), KeyPairs.generate(KeyType.EC_P256));
        writeChain(dir, chain);
        writeConfig(dir, new CaConfig(trustDomain, "self-signed", "file:" + CA_KEY, "file:" + JWT_KEY));
        return load(dir, clock, KeyResolver.files(dir));
    }

    /**
     * Plugs in an enterprise root: checks Istio's four {@code cacerts} files in {@code cacerts}
     * (key matches certificate, chain verifies to the root, CA flags and key usage, validity) and
     * copies them into {@code dir}.
     *
     * @throws IOException naming the file and the problem; {@code dir} is left untouched
     */
    public static LoadedCa importCacerts(Path dir, Path cacerts, TrustDomain trustDomain, Clock clock)
            throws IOException {
        refuseExisting(dir);
        Objects.requireNonNull(cacerts, "cacerts");
        check(cacerts, trustDomain, "file:" + cacerts.resolve(CA_KEY).toAbsolutePath(), KeyResolver.files(cacerts),
                clock.instant());
        Files.createDirectories(dir);
        KeyPair caPair = PemFiles.readKeyPair(cacerts.resolve(CA_KEY));
        PemFiles.writePrivateKey(dir.resolve(CA_KEY), caPair);
        for (String name : List.of(CA_CERT, CERT_CHAIN, ROOT_CERT)) {
            PemFiles.writeCertificates(dir.resolve(name), PemFiles.readCertificates(cacerts.resolve(name)));
        }
        PemFiles.writePrivateKey(dir.resolve(JWT_KEY), KeyPairs.generate(KeyType.EC_P256));
        writeConfig(dir, new CaConfig(trustDomain, "plugged", "file:" + CA_KEY, "file:" + JWT_KEY));
        return load(dir, clock, KeyResolver.files(dir));
    }

    /**
     * Where a CA's keys live when they are not files written by {@link #initSelfSigned(Path, TrustDomain,
     * KeyType, Clock)}: references a {@link KeyResolver} knows, such as {@code pkcs11:} URIs. They are stored
     * in {@code ca.properties} and resolved again on every {@link #load}. A reference names where the key
     * is and how to reach it, never a secret.
     */
    public record KeyReferences(String root, String ca, String jwt) {

        public KeyReferences {
            Objects.requireNonNull(root, "root");
            Objects.requireNonNull(ca, "ca");
            Objects.requireNonNull(jwt, "jwt");
        }
    }

    /**
     * As {@link #initSelfSigned(Path, TrustDomain, KeyType, Clock)}, with keys that already exist at
     * {@code references} (an HSM: the composition root generates them there first). The root and the
     * issuing intermediate are signed through those keys; no key is written to {@code dir}.
     *
     * @throws IOException if {@code dir} already holds a CA or a key cannot be resolved or used
     */
    public static LoadedCa initSelfSigned(Path dir, TrustDomain trustDomain, KeyReferences references,
            KeyResolver keys, Clock clock) throws IOException {
        Objects.requireNonNull(references, "references");
        Objects.requireNonNull(keys, "keys");
        refuseExisting(dir);
        Instant now = clock.instant();
        SigningKey rootKey = resolve(keys, references.root(), "root key");
        SigningKey caKey = resolve(keys, references.ca(), "CA key");
        List<X509Certificate> chain = selfSignedChain(trustDomain, rootKey, caKey.publicKey(), now);
        Files.createDirectories(dir);
        writeChain(dir, chain);
        writeConfig(dir, new CaConfig(trustDomain, "self-signed", references.ca(), references.jwt()), references.root());
        return load(dir, clock, keys);
    }

    /**
     * A self-signed root (10 years) signed by {@code rootKey} and the issuing intermediate (1 year) for
     * {@code caKey} under it, both back-dated 5 minutes: {@code [intermediate, root]}.
     */
    private static List<X509Certificate> selfSignedChain(TrustDomain trustDomain, SigningKey rootKey, PublicKey caKey,
            Instant now) throws IOException {
        try {
            X509Certificate root = CaCertificates.selfSignedRoot(trustDomain, rootKey, now.minus(Duration.ofMinutes(5)),
                    now.plus(ROOT_TTL));
            X509Certificate intermediate = CaCertificates.intermediate(trustDomain, caKey, root, rootKey,
                    now.minus(Duration.ofMinutes(5)), now.plus(INTERMEDIATE_TTL));
            return List.of(intermediate, root);
        } catch (SigningException e) {
            throw new IOException("cannot sign the CA certificates: " + e.getMessage(), e);
        }
    }

    /** Writes {@code [intermediate, root]} as root-cert.pem, ca-cert.pem and cert-chain.pem. */
    private static void writeChain(Path dir, List<X509Certificate> chain) throws IOException {
        PemFiles.writeCertificates(dir.resolve(ROOT_CERT), List.of(chain.get(1)));
        PemFiles.writeCertificates(dir.resolve(CA_CERT), List.of(chain.get(0)));
        PemFiles.writeCertificates(dir.resolve(CERT_CHAIN), chain);
    }

    /**
     * A PEM PKCS#10 request for Keel's issuing CA, signed through {@code caKey}, for an enterprise root
     * to sign. Subject {@code O=Keel, OU=<trust domain>, CN=Keel Intermediate CA}; it asks for the
     * extensions an issuing CA needs (CA:true pathLen 0, keyCertSign and cRLSign, URI SAN
     * {@code spiffe://<trust domain>}); the root decides what it grants, and {@link #importCacerts}
     * checks the result.
     */
    public static String intermediateCsr(TrustDomain trustDomain, SigningKey caKey) throws IOException {
        Objects.requireNonNull(trustDomain, "trustDomain");
        Objects.requireNonNull(caKey, "caKey");
        try {
            return CaCertificates.intermediateCsr(trustDomain, caKey);
        } catch (SigningException e) {
            throw new IOException("cannot sign the CSR with " + caKey.id() + ": " + e.getMessage(), e);
        }
    }

    /**
     * As {@link #importCacerts(Path, Path, TrustDomain, Clock)}, for an issuing CA whose key stays at
     * {@code caKeyReference} (an HSM): {@code cacerts} holds {@code ca-cert.pem}, {@code cert-chain.pem}
     * and {@code root-cert.pem}, and no key. The JWT-SVID key is {@code jwtKeyReference}.
     */
    public static LoadedCa importCacerts(Path dir, Path cacerts, TrustDomain trustDomain, String caKeyReference,
            String jwtKeyReference, KeyResolver keys, Clock clock) throws IOException {
        refuseExisting(dir);
        Objects.requireNonNull(cacerts, "cacerts");
        Objects.requireNonNull(caKeyReference, "caKeyReference");
        Objects.requireNonNull(jwtKeyReference, "jwtKeyReference");
        Objects.requireNonNull(keys, "keys");
        check(cacerts, trustDomain, caKeyReference, keys, clock.instant());
        resolve(keys, jwtKeyReference, "JWT key");
        Files.createDirectories(dir);
        for (String name : List.of(CA_CERT, CERT_CHAIN, ROOT_CERT)) {
            PemFiles.writeCertificates(dir.resolve(name), PemFiles.readCertificates(cacerts.resolve(name)));
        }
        writeConfig(dir, new CaConfig(trustDomain, "plugged", caKeyReference, jwtKeyReference), null);
        return load(dir, clock, keys);
    }

    private static SigningKey resolve(KeyResolver keys, String reference, String what) throws IOException {
        try {
            return keys.resolve(reference);
        } catch (IllegalArgumentException e) {
            throw new IOException(what + ": " + e.getMessage());
        }
    }

    /** Loads and checks the CA in {@code dir}, resolving its keys with {@code keys}. */
    public static LoadedCa load(Path dir, Clock clock, KeyResolver keys) throws IOException {
        finishRenewal(dir);
        CaConfig config = readConfig(dir);
        SigningCa ca = check(dir, config.trustDomain(), config.caKey(), keys, clock.instant());
        SigningKey jwtKey = resolve(keys, config.jwtKey(), JWT_KEY);
        return new LoadedCa(dir, config, ca, jwtKey, PublicKeys.sha256Fingerprint(jwtKey.publicKey()).substring(0, 32));
    }

    /**
     * Self-signed mode: once less than a third of the issuing intermediate's lifetime remains,
     * replaces it with a new key and certificate signed by the root. Workloads see no gap: the
     * root, and so the bundle, stays the same, and certificates from the old intermediate stay
     * valid until they expire. A plugged-in enterprise CA cannot renew itself; it is left alone.
     *
     * @return the reloaded CA if it was renewed
     */
    public static java.util.Optional<LoadedCa> renewIntermediateIfDue(LoadedCa current, Clock clock, KeyResolver keys)
            throws IOException {
        Path dir = current.dir();
        X509Certificate old = current.signingCa().certificate();
        Instant notBefore = old.getNotBefore().toInstant();
        Instant renewAt = notBefore.plus(Duration.between(notBefore, old.getNotAfter().toInstant()).multipliedBy(2).dividedBy(3));
        // Renewal writes a new file key; a CA key held elsewhere (an HSM) is renewed by the operator.
        if (!current.config().mode().equals("self-signed") || clock.instant().isBefore(renewAt)
                || !current.config().caKey().equals("file:" + CA_KEY) || !Files.exists(dir.resolve(ROOT_KEY))) {
            return java.util.Optional.empty();
        }
        Instant now = clock.instant();
        X509Certificate root = current.signingCa().roots().get(0);
        SigningKey rootKey = keys.resolve("file:" + ROOT_KEY);
        KeyPair caPair = KeyPairs.generate(current.signingCa().key().keyType());
        X509Certificate intermediate;
        try {
            intermediate = CaCertificates.intermediate(current.config().trustDomain(), caPair.getPublic(), root, rootKey,
                    now.minus(Duration.ofMinutes(5)), now.plus(INTERMEDIATE_TTL));
        } catch (SigningException e) {
            throw new IOException("cannot sign the renewed intermediate: " + e.getMessage(), e);
        }
        // The key's rename is the commit point. The key's .next file is written first, so that its
        // presence means "not committed"; finishRenewal also checks that certificates it moves into
        // place match the key in place, whatever a crash left behind.
        PemFiles.writePrivateKey(dir.resolve(CA_KEY + NEXT), caPair);
        PemFiles.writeCertificates(dir.resolve(CA_CERT + NEXT), List.of(intermediate));
        PemFiles.writeCertificates(dir.resolve(CERT_CHAIN + NEXT), List.of(intermediate, root));
        Files.move(dir.resolve(CA_KEY + NEXT), dir.resolve(CA_KEY), java.nio.file.StandardCopyOption.ATOMIC_MOVE,
                java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        finishRenewal(dir);
        return java.util.Optional.of(load(dir, clock, keys));
    }

    static final String NEXT = ".next";

    /** Completes or abandons a renewal that a crash interrupted; see {@link #renewIntermediateIfDue}. */
    private static void finishRenewal(Path dir) throws IOException {
        boolean committed = !Files.exists(dir.resolve(CA_KEY + NEXT)) && Files.exists(dir.resolve(CA_CERT + NEXT))
                && Files.exists(dir.resolve(CERT_CHAIN + NEXT))
                && PemFiles.readCertificates(dir.resolve(CA_CERT + NEXT)).get(0).getPublicKey()
                        .equals(PemFiles.readKeyPair(dir.resolve(CA_KEY)).getPublic());
        if (committed) {
            for (String name : List.of(CA_CERT, CERT_CHAIN)) {
                Files.move(dir.resolve(name + NEXT), dir.resolve(name), java.nio.file.StandardCopyOption.ATOMIC_MOVE,
                        java.nio.file.StandardCopyOption.REPLACE_EXISTING);
            }
        }
        for (String name : List.of(CA_KEY, CA_CERT, CERT_CHAIN)) {
            Files.deleteIfExists(dir.resolve(name + NEXT));
        }
    }

    private static SigningCa check(Path dir, TrustDomain trustDomain, String caKeyReference, KeyResolver keys,
            Instant now) throws IOException {
        List<X509Certificate> caCert = PemFiles.readCertificates(dir.resolve(CA_CERT));
        if (caCert.size() != 1) {
            throw new IOException(CA_CERT + ": holds " + caCert.size() + " certificates (expected: exactly 1)");
        }
        List<X509Certificate> chain = Files.exists(dir.resolve(CERT_CHAIN))
                ? PemFiles.readCertificates(dir.resolve(CERT_CHAIN)) : List.of(caCert.get(0));
        if (!chain.get(0).equals(caCert.get(0))) {
            // Istio accepts a cert-chain.pem that omits ca-cert.pem; normalize to "CA first".
            List<X509Certificate> full = new ArrayList<>();
            full.add(caCert.get(0));
            full.addAll(chain);
            chain = full;
        }
        List<X509Certificate> roots = PemFiles.readCertificates(dir.resolve(ROOT_CERT));
        try {
            SigningCa.checkCaCertificate(CA_CERT, caCert.get(0), now);
        } catch (IllegalArgumentException e) {
            throw new IOException(e.getMessage());
        }
        for (X509Certificate root : roots) {
            try {
                SigningCa.checkCaCertificate(ROOT_CERT, root, now);
            } catch (IllegalArgumentException e) {
                throw new IOException(e.getMessage());
            }
        }
        // Messages name the file for the file backend and the reference (never a secret) otherwise.
        String keyName = caKeyReference.startsWith("file:") ? CA_KEY : caKeyReference;
        SigningKey key;
        try {
            key = keys.resolve(caKeyReference);
        } catch (IllegalArgumentException e) {
            throw new IOException(keyName + ": " + e.getMessage());
        }
        try {
            return SigningCa.of(trustDomain, chain, roots, key, now);
        } catch (IllegalArgumentException e) {
            String message = e.getMessage();
            if (message.startsWith("CA key")) {
                throw new IOException(keyName + ": does not match " + CA_CERT + " (" + message + ")");
            }
            if (message.startsWith("the CA chain")) {
                throw new IOException(CERT_CHAIN + ": does not verify to " + ROOT_CERT + ": " + message);
            }
            throw new IOException(message);
        }
    }

    private static void refuseExisting(Path dir) throws IOException {
        if (Files.exists(dir.resolve(CONFIG)) || Files.exists(dir.resolve(CA_KEY))) {
            throw new IOException(dir + " already holds a CA (" + CONFIG + " or " + CA_KEY
                    + " exists); refusing to overwrite it");
        }
    }

    private static void writeConfig(Path dir, CaConfig config) throws IOException {
        writeConfig(dir, config, null);
    }

    private static void writeConfig(Path dir, CaConfig config, String rootKey) throws IOException {
        Properties properties = new Properties();
        if (rootKey != null) {
            properties.setProperty("root_key", rootKey);
        }
        properties.setProperty("trust_domain", config.trustDomain().name());
        properties.setProperty("mode", config.mode());
        properties.setProperty("ca_key", config.caKey());
        properties.setProperty("jwt_key", config.jwtKey());
        StringWriter out = new StringWriter();
        properties.store(out, "Keel CA");
        PemFiles.writeAtomically(dir.resolve(CONFIG), out.toString(), false);
    }

    /**
     * Reads {@code ca.properties} only (trust domain, mode, key references), without loading or
     * checking keys: for tools that need the trust domain but not the CA's key.
     */
    public static CaConfig readConfig(Path dir) throws IOException {
        Path file = dir.resolve(CONFIG);
        if (!Files.exists(file)) {
            throw new IOException(CONFIG + ": missing in " + dir.toAbsolutePath() + " (run 'keel ca init' first)");
        }
        Properties properties = new Properties();
        try (Reader reader = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
            properties.load(reader);
        }
        try {
            return new CaConfig(TrustDomain.parse(required(properties, "trust_domain")), required(properties, "mode"),
                    required(properties, "ca_key"), required(properties, "jwt_key"));
        } catch (IllegalArgumentException e) {
            throw new IOException(CONFIG + ": " + e.getMessage());
        }
    }

    private static String required(Properties properties, String name) throws IOException {
        String value = properties.getProperty(name);
        if (value == null || value.isBlank()) {
            throw new IOException(CONFIG + ": " + name + " is missing");
        }
        return value.trim();
    }
}
