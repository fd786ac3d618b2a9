package dev.keel.ca;

import dev.keel.ca.internal.CaCertificates;
import dev.keel.ca.internal.PemFiles;
import dev.keel.identity.KeyPairs;
import dev.keel.identity.KeyType;
import dev.keel.identity.PublicKeys;
import dev.keel.identity.SigningException;
import dev.keel.identity.SigningKey;
import dev.keel.identity.SigningKeys;
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
 * <p>Three ways to create one: {@link #initSelfSigned} generates a root and an issuing intermediate;
 * {@link #importCacerts} plugs in an enterprise root's intermediate after checking every file;
 * {@link #initUpstream} has an upstream authority (Vault PKI) sign the intermediate. Keys are files
 * here or references to keys held elsewhere (an HSM, Vault Transit). {@link #load} checks it all
 * again on every start; {@link #renewIntermediateIfDue} renews the intermediate with a new key.
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
    /**
     * The issuing intermediates whose certificates may still be met in chains: the current one first,
     * then earlier ones until they expire (written by a renewal; absent before the first).
     */
    public static final String INTERMEDIATES = "intermediates.pem";

    /** The CA key and JWT-SVID key as files in the directory (the default). */
    public static final String FILE_CA_KEY = "file:" + CA_KEY;
    public static final String FILE_JWT_KEY = "file:" + JWT_KEY;

    /** Modes in {@code ca.properties}. */
    public static final String SELF_SIGNED = "self-signed";
    public static final String PLUGGED = "plugged";
    public static final String UPSTREAM = "upstream";

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

    /**
     * The contents of {@code ca.properties}. {@code rootKey} is the root key's reference when it is not
     * {@code root-key.pem} (self-signed with keys in an HSM or Vault); {@code upstream} and
     * {@code intermediateTtl} are set in {@link #UPSTREAM} mode only. Those three are null otherwise.
     */
    public record CaConfig(TrustDomain trustDomain, String mode, String caKey, String jwtKey, String rootKey,
            String upstream, Duration intermediateTtl) {

        public CaConfig {
            Objects.requireNonNull(trustDomain, "trustDomain");
            Objects.requireNonNull(mode, "mode");
            Objects.requireNonNull(caKey, "caKey");
            Objects.requireNonNull(jwtKey, "jwtKey");
            if (mode.equals(UPSTREAM) && (upstream == null || intermediateTtl == null)) {
                throw new IllegalArgumentException("mode upstream: upstream and intermediate_ttl are required");
            }
        }

        public CaConfig(TrustDomain trustDomain, String mode, String caKey, String jwtKey) {
            this(trustDomain, mode, caKey, jwtKey, null, null, null);
        }

        CaConfig withCaKey(String newCaKey) {
            return new CaConfig(trustDomain, mode, newCaKey, jwtKey, rootKey, upstream, intermediateTtl);
        }
    }

    /**
     * A CA under an upstream authority: the authority's reference (stored in {@code ca.properties}
     * and resolved again by the composition root), the authority itself, and the lifetime asked for
     * each issuing intermediate (renewed at half of it).
     */
    public record Upstream(String reference, UpstreamAuthority authority, Duration intermediateTtl) {

        /** Leaves are refused within a minute of the intermediate's expiry; renewal runs at half its life. */
        public static final Duration MIN_INTERMEDIATE_TTL = Duration.ofMinutes(3);

        public Upstream {
            Objects.requireNonNull(reference, "reference");
            Objects.requireNonNull(authority, "authority");
            Objects.requireNonNull(intermediateTtl, "intermediateTtl");
            if (intermediateTtl.compareTo(MIN_INTERMEDIATE_TTL) < 0) {
                throw new IllegalArgumentException("intermediateTtl: " + intermediateTtl + " (expected: >= "
                        + MIN_INTERMEDIATE_TTL + ")");
            }
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
        writeConfig(dir, new CaConfig(trustDomain, SELF_SIGNED, FILE_CA_KEY, FILE_JWT_KEY));
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
        writeConfig(dir, new CaConfig(trustDomain, PLUGGED, FILE_CA_KEY, FILE_JWT_KEY));
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
        writeConfig(dir, new CaConfig(trustDomain, SELF_SIGNED, references.ca(), references.jwt(), references.root(), null,
                null));
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
        writeConfig(dir, new CaConfig(trustDomain, PLUGGED, caKeyReference, jwtKeyReference));
        return load(dir, clock, keys);
    }

    /**
     * Creates a CA under an upstream authority: its issuing intermediate, for the key at
     * {@code caKeyReference}, is signed by {@code upstream} ({@code pki/root/sign-intermediate} for
     * Vault) and renewed at half its lifetime by {@link #renewIntermediateIfDue}. {@code root-cert.pem}
     * is the upstream's root. {@link #FILE_CA_KEY} and {@link #FILE_JWT_KEY} make new file keys of
     * {@code keyType} (JWT: EC P-256) in {@code dir}; other references name keys that exist already.
     *
     * @throws IOException if {@code dir} already holds a CA, a key cannot be used, the upstream does not
     *     sign, or what it signed does not check out; {@code dir} is then left untouched
     */
    public static LoadedCa initUpstream(Path dir, TrustDomain trustDomain, String caKeyReference, String jwtKeyReference,
            KeyType keyType, KeyResolver keys, Upstream upstream, Clock clock) throws IOException {
        Objects.requireNonNull(trustDomain, "trustDomain");
        Objects.requireNonNull(caKeyReference, "caKeyReference");
        Objects.requireNonNull(jwtKeyReference, "jwtKeyReference");
        Objects.requireNonNull(keyType, "keyType");
        Objects.requireNonNull(keys, "keys");
        Objects.requireNonNull(upstream, "upstream");
        refuseExisting(dir);
        KeyPair caPair = null;
        SigningKey caKey;
        if (caKeyReference.equals(FILE_CA_KEY)) {
            caPair = KeyPairs.generate(keyType);
            caKey = SoftwareSigningKey.of(FILE_CA_KEY, caPair);
        } else {
            caKey = resolve(keys, caKeyReference, "CA key");
        }
        if (!jwtKeyReference.equals(FILE_JWT_KEY)) {
            resolve(keys, jwtKeyReference, "JWT key");
        }
        List<X509Certificate> chain = signByUpstream(trustDomain, caKey, upstream.authority(), upstream.intermediateTtl(),
                clock.instant());
        Files.createDirectories(dir);
        if (caPair != null) {
            PemFiles.writePrivateKey(dir.resolve(CA_KEY), caPair);
        }
        if (jwtKeyReference.equals(FILE_JWT_KEY)) {
            PemFiles.writePrivateKey(dir.resolve(JWT_KEY), KeyPairs.generate(KeyType.EC_P256));
        }
        PemFiles.writeCertificates(dir.resolve(ROOT_CERT), List.of(chain.get(chain.size() - 1)));
        PemFiles.writeCertificates(dir.resolve(CA_CERT), List.of(chain.get(0)));
        PemFiles.writeCertificates(dir.resolve(CERT_CHAIN), chain);
        PemFiles.writeCertificates(dir.resolve(INTERMEDIATES), List.of(chain.get(0)));
        writeConfig(dir, new CaConfig(trustDomain, UPSTREAM, caKeyReference, jwtKeyReference, null, upstream.reference(),
                upstream.intermediateTtl()));
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
        finishRenewal(dir, keys);
        CaConfig config = readConfig(dir);
        SigningCa ca = check(dir, config.trustDomain(), config.caKey(), keys, clock.instant());
        SigningKey jwtKey = resolve(keys, config.jwtKey(), JWT_KEY);
        return new LoadedCa(dir, config, ca, jwtKey, PublicKeys.sha256Fingerprint(jwtKey.publicKey()).substring(0, 32));
    }

    /**
     * Renews the issuing intermediate of a self-signed CA whose keys are files in the directory:
     * {@link #renewIntermediateIfDue(LoadedCa, Clock, KeyResolver, IntermediateRenewal)} with
     * {@link IntermediateRenewal#fileKeysOnly()}.
     */
    public static java.util.Optional<LoadedCa> renewIntermediateIfDue(LoadedCa current, Clock clock, KeyResolver keys)
            throws IOException {
        return renewIntermediateIfDue(current, clock, keys, IntermediateRenewal.fileKeysOnly());
    }

    /**
     * Renews the issuing intermediate when it is due, always with a new key:
     * <ul>
     *   <li>self-signed mode, once less than a third of its lifetime remains: a new intermediate signed
     *       by the root key ({@code root-key.pem}, or the {@code root_key} reference: a key in an HSM or
     *       Vault). The root, and so the bundle, stays the same;</li>
     *   <li>upstream mode, at half its lifetime: a CSR signed by the new key, signed by the upstream
     *       authority. If the upstream's root changed, the old root stays in {@code root-cert.pem} while
     *       intermediates under it are unexpired.</li>
     * </ul>
     * The new key is a file when the CA key is {@code ca-key.pem}, else {@code renewal}'s
     * {@link SuccessorKeys} make it beside the current one (a new token object, a new Transit key
     * version). The new chain is checked like a loaded one before anything is written. Certificates
     * from the old intermediate stay valid until they expire; {@link #INTERMEDIATES} lists it until then.
     * A plugged-in enterprise CA cannot renew itself; it is left alone.
     *
     * <p>Crash-safe: the new certificates are written beside the old ones first; the commit point is
     * the rename of the new key file, or for a key held elsewhere the atomic rewrite of
     * {@code ca.properties} naming the new key. {@link #load} finishes a committed renewal and drops an
     * uncommitted one (a key made for it stays unused in its custodian).
     *
     * @return the reloaded CA if it was renewed
     * @throws IOException if renewal is due but a key, the root key or the upstream fails; the current
     *     intermediate stays in place
     */
    public static java.util.Optional<LoadedCa> renewIntermediateIfDue(LoadedCa current, Clock clock, KeyResolver keys,
            IntermediateRenewal renewal) throws IOException {
        Objects.requireNonNull(renewal, "renewal");
        Path dir = current.dir();
        CaConfig config = current.config();
        X509Certificate old = current.signingCa().certificate();
        Instant notBefore = old.getNotBefore().toInstant();
        Duration lifetime = Duration.between(notBefore, old.getNotAfter().toInstant());
        Instant now = clock.instant();
        String rootKeyReference = null;
        Instant renewAt;
        switch (config.mode()) {
            case SELF_SIGNED -> {
                rootKeyReference = config.rootKey() != null ? config.rootKey()
                        : Files.exists(dir.resolve(ROOT_KEY)) ? "file:" + ROOT_KEY : null;
                if (rootKeyReference == null) {
                    return java.util.Optional.empty(); // the root key is not here
                }
                renewAt = notBefore.plus(lifetime.multipliedBy(2).dividedBy(3));
            }
            case UPSTREAM -> renewAt = notBefore.plus(lifetime.dividedBy(2));
            default -> {
                return java.util.Optional.empty();
            }
        }
        if (now.isBefore(renewAt)) {
            return java.util.Optional.empty();
        }
        TrustDomain trustDomain = config.trustDomain();
        KeyType keyType = current.signingCa().key().keyType();
        boolean fileKey = config.caKey().equals(FILE_CA_KEY);
        KeyPair filePair = null;
        String newReference = config.caKey();
        SigningKey newKey;
        if (fileKey) {
            filePair = KeyPairs.generate(keyType);
            newKey = SoftwareSigningKey.of(FILE_CA_KEY, filePair);
        } else {
            try {
                newReference = renewal.successors().generateSuccessor(config.caKey(), keyType);
            } catch (IllegalArgumentException e) {
                throw new IOException("cannot renew the issuing intermediate: " + e.getMessage());
            }
            newKey = resolve(keys, newReference, "new CA key");
        }
        List<X509Certificate> chain;
        List<X509Certificate> roots = new ArrayList<>();
        if (config.mode().equals(SELF_SIGNED)) {
            X509Certificate root = current.signingCa().roots().get(0);
            SigningKey rootKey = resolve(keys, rootKeyReference, "root key");
            try {
                chain = List.of(CaCertificates.intermediate(trustDomain, newKey.publicKey(), root, rootKey,
                        now.minus(Duration.ofMinutes(5)), now.plus(INTERMEDIATE_TTL)), root);
            } catch (SigningException e) {
                throw new IOException("cannot sign the renewed intermediate with " + rootKey.id() + ": " + e.getMessage(), e);
            }
            roots.addAll(current.signingCa().roots());
        } else {
            UpstreamAuthority authority = renewal.upstream().orElseThrow(() -> new IOException(
                    "cannot renew the issuing intermediate: the CA's upstream authority is not configured here"));
            chain = signByUpstream(trustDomain, newKey, authority, config.intermediateTtl(), now);
            X509Certificate newRoot = chain.get(chain.size() - 1);
            roots.add(newRoot);
            for (X509Certificate earlier : current.signingCa().roots()) {
                if (!earlier.equals(newRoot) && !now.isAfter(earlier.getNotAfter().toInstant())) {
                    roots.add(earlier);
                }
            }
        }
        try {
            SigningCa.of(trustDomain, chain, roots, newKey, now);
        } catch (IllegalArgumentException e) {
            throw new IOException("the renewed intermediate does not check out: " + e.getMessage(), e);
        }
        List<X509Certificate> overlap = new ArrayList<>();
        overlap.add(chain.get(0));
        overlap.addAll(intermediates(dir, now));
        // The key's .next file is written first, so that its presence means "not committed".
        if (fileKey) {
            PemFiles.writePrivateKey(dir.resolve(CA_KEY + NEXT), filePair);
        }
        PemFiles.writeCertificates(dir.resolve(ROOT_CERT + NEXT), roots);
        PemFiles.writeCertificates(dir.resolve(INTERMEDIATES + NEXT), overlap);
        PemFiles.writeCertificates(dir.resolve(CERT_CHAIN + NEXT), chain);
        PemFiles.writeCertificates(dir.resolve(CA_CERT + NEXT), List.of(chain.get(0)));
        if (fileKey) {
            Files.move(dir.resolve(CA_KEY + NEXT), dir.resolve(CA_KEY), java.nio.file.StandardCopyOption.ATOMIC_MOVE,
                    java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        } else {
            writeConfig(dir, config.withCaKey(newReference));
        }
        finishRenewal(dir, keys);
        return java.util.Optional.of(load(dir, clock, keys));
    }

    /**
     * The issuing intermediates whose certificates may still be met at {@code now}: the current one
     * first, then earlier ones that have not expired.
     */
    public static List<X509Certificate> intermediates(Path dir, Instant now) throws IOException {
        Path file = dir.resolve(INTERMEDIATES);
        List<X509Certificate> all = PemFiles.readCertificates(Files.exists(file) ? file : dir.resolve(CA_CERT));
        List<X509Certificate> valid = new ArrayList<>();
        for (X509Certificate certificate : all) {
            if (!now.isAfter(certificate.getNotAfter().toInstant())) {
                valid.add(certificate);
            }
        }
        return valid;
    }

    static final String NEXT = ".next";

    /**
     * Completes or abandons a renewal that a crash interrupted; see {@link #renewIntermediateIfDue}. It
     * was committed if the key file's .next is gone and the pending {@code ca-cert.pem.next} holds the
     * public key of the CA key now configured. {@code ca-cert.pem.next} is moved last, so it marks a
     * renewal in progress until every other file is in place.
     */
    private static void finishRenewal(Path dir, KeyResolver keys) throws IOException {
        List<String> names = List.of(ROOT_CERT, INTERMEDIATES, CERT_CHAIN, CA_CERT);
        if (!Files.exists(dir.resolve(CA_KEY + NEXT)) && names.stream().noneMatch(n -> Files.exists(dir.resolve(n + NEXT)))) {
            return;
        }
        boolean committed = !Files.exists(dir.resolve(CA_KEY + NEXT)) && Files.exists(dir.resolve(CA_CERT + NEXT))
                && PemFiles.readCertificates(dir.resolve(CA_CERT + NEXT)).get(0).getPublicKey()
                        .equals(configuredCaKey(dir, keys));
        if (committed) {
            for (String name : names) {
                if (Files.exists(dir.resolve(name + NEXT))) {
                    Files.move(dir.resolve(name + NEXT), dir.resolve(name), java.nio.file.StandardCopyOption.ATOMIC_MOVE,
                            java.nio.file.StandardCopyOption.REPLACE_EXISTING);
                }
            }
        }
        Files.deleteIfExists(dir.resolve(CA_KEY + NEXT));
        for (String name : names) {
            Files.deleteIfExists(dir.resolve(name + NEXT));
        }
    }

    private static PublicKey configuredCaKey(Path dir, KeyResolver keys) throws IOException {
        String reference = readConfig(dir).caKey();
        if (reference.equals(FILE_CA_KEY)) {
            return PemFiles.readKeyPair(dir.resolve(CA_KEY)).getPublic();
        }
        return resolve(keys, reference, "CA key").publicKey();
    }

    /**
     * Has {@code authority} sign an intermediate for {@code key} and checks what came back: the key is
     * the one asked for, and the chain verifies to the upstream's root as an issuing CA of
     * {@code trustDomain} (CA flag, keyCertSign, URI SAN {@code spiffe://<trust domain>}, valid now).
     */
    private static List<X509Certificate> signByUpstream(TrustDomain trustDomain, SigningKey key,
            UpstreamAuthority authority, Duration ttl, Instant now) throws IOException {
        List<X509Certificate> chain = List.copyOf(authority.signIntermediate(intermediateCsr(trustDomain, key), ttl));
        if (chain.size() < 2) {
            throw new IOException("the upstream authority returned no chain up to its root");
        }
        X509Certificate certificate = chain.get(0);
        if (!SigningKeys.matches(key, certificate.getPublicKey())) {
            throw new IOException("the upstream authority signed a certificate for another key than " + key.id());
        }
        try {
            java.util.Collection<List<?>> sans = certificate.getSubjectAlternativeNames();
            boolean named = sans != null && sans.stream().anyMatch(san -> Integer.valueOf(6).equals(san.get(0))
                    && trustDomain.spiffeId().toString().equals(san.get(1)));
            if (!named) {
                throw new IOException("the upstream authority's intermediate lacks the URI SAN " + trustDomain.spiffeId()
                        + " (sign it with use_csr_values)");
            }
        } catch (java.security.cert.CertificateParsingException e) {
            throw new IOException("the upstream authority's intermediate has unreadable SANs", e);
        }
        try {
            SigningCa.of(trustDomain, chain, List.of(chain.get(chain.size() - 1)), key, now);
        } catch (IllegalArgumentException e) {
            throw new IOException("the intermediate from the upstream authority does not check out: " + e.getMessage(), e);
        }
        return chain;
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
        Properties properties = new Properties();
        if (config.rootKey() != null) {
            properties.setProperty("root_key", config.rootKey());
        }
        properties.setProperty("trust_domain", config.trustDomain().name());
        properties.setProperty("mode", config.mode());
        properties.setProperty("ca_key", config.caKey());
        properties.setProperty("jwt_key", config.jwtKey());
        if (config.upstream() != null) {
            properties.setProperty("upstream", config.upstream());
            properties.setProperty("intermediate_ttl", config.intermediateTtl().toString());
        }
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
            String ttl = properties.getProperty("intermediate_ttl");
            return new CaConfig(TrustDomain.parse(required(properties, "trust_domain")), required(properties, "mode"),
                    required(properties, "ca_key"), required(properties, "jwt_key"), optional(properties, "root_key"),
                    optional(properties, "upstream"), ttl == null ? null : Duration.parse(ttl.trim()));
        } catch (IllegalArgumentException | java.time.format.DateTimeParseException e) {
            throw new IOException(CONFIG + ": " + e.getMessage());
        }
    }

    private static String optional(Properties properties, String name) {
        String value = properties.getProperty(name);
        return value == null || value.isBlank() ? null : value.trim();
    }

    private static String required(Properties properties, String name) throws IOException {
        String value = properties.getProperty(name);
        if (value == null || value.isBlank()) {
            throw new IOException(CONFIG + ": " + name + " is missing");
        }
        return value.trim();
    }
}
