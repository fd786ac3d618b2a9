package dev.keel.cli;

import dev.keel.ca.CaDirectory;
import dev.keel.cli.internal.KeyResolvers;
import dev.keel.cli.internal.KeyTypeConverter;
import dev.keel.cli.internal.DurationConverter;
import dev.keel.hsm.VaultUri;
import dev.keel.identity.KeyType;
import dev.keel.identity.PublicKeys;
import dev.keel.identity.SigningKey;
import dev.keel.identity.TrustDomain;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code keel ca init}: creates the CA's data directory, self-signed or from an enterprise root's cacerts. */
@Command(name = "init", mixinStandardHelpOptions = true,
        description = {"Create a CA in the data directory.",
                "Without --cacerts: a self-signed root (10 years) and an issuing intermediate (1 year).",
                "With --cacerts DIR: plug in an enterprise root using Istio's layout (ca-cert.pem, ca-key.pem, "
                        + "cert-chain.pem, root-cert.pem); every file is checked first.",
                "With --key pkcs11:token=...;object=NAME?module-path=...&pin-source=file:... the keys stay in a "
                        + "PKCS#11 token (generated there if absent, sensitive and non-extractable): NAME signs "
                        + "workload certificates, NAME-root the root, NAME-jwt JWT-SVIDs. With --key "
                        + "vault-transit:NAME?address=https://...&ca-file=... they are Vault Transit keys (created "
                        + "non-exportable if absent; token from token-source, default env:VAULT_TOKEN, or AppRole "
                        + "with role-id-source and secret-id-source). With --csr-out FILE only a CSR for an "
                        + "enterprise root is written; then --cacerts DIR (no ca-key.pem) takes the signed "
                        + "certificate.",
                "With --upstream vault-pki:MOUNT?address=https://...&ca-file=... Vault's PKI engine signs the "
                        + "issuing intermediate (MOUNT/root/sign-intermediate) and 'keel ca serve' renews it at half "
                        + "its lifetime; the root is Vault's. The intermediate's key is a file, or --key's."})
final class CaInitCommand implements Callable<Integer> {

    @Option(names = "--data-dir", defaultValue = ".keel/ca", description = "CA data directory (default: ${DEFAULT-VALUE})")
    Path dataDir;

    @Option(names = "--trust-domain", defaultValue = "cluster.local", description = "Trust domain (default: ${DEFAULT-VALUE})")
    String trustDomain;

    @Option(names = "--key-type", defaultValue = "ec-p256", converter = KeyTypeConverter.class,
            description = "Key type for a self-signed CA: ec-p256, ec-p384, rsa-2048, rsa-3072, rsa-4096 (default: ${DEFAULT-VALUE})")
    KeyType keyType;

    @Option(names = "--cacerts", description = "Directory with Istio's cacerts files of an enterprise root")
    Path cacerts;

    @Option(names = "--key", description = "Where the CA key lives: a pkcs11: URI (RFC 7512) with module-path and "
            + "pin-source (file:PATH or env:VARIABLE; never the PIN itself), or vault-transit:KEY?address=https://... "
            + "(token-source or role-id-source/secret-id-source: file:PATH or env:VARIABLE; never the secret itself)")
    String key;

    @Option(names = "--upstream", description = "An upstream authority that signs the issuing intermediate: "
            + "vault-pki:MOUNT?address=https://...&ca-file=PEM (credentials as for vault-transit:)")
    String upstream;

    @Option(names = "--intermediate-ttl", defaultValue = "30d", converter = DurationConverter.class,
            description = "With --upstream: lifetime asked for each issuing intermediate; renewed at half of it "
                    + "(default: ${DEFAULT-VALUE})")
    Duration intermediateTtl;

    @Option(names = "--csr-out", description = "With --key: write a CSR for the issuing CA here, for an enterprise root to sign")
    Path csrOut;

    @Override
    public Integer call() throws Exception {
        TrustDomain td = TrustDomain.parse(trustDomain);
        if (csrOut != null) {
            return writeCsr(td);
        }
        CaDirectory.LoadedCa ca;
        if (upstream != null) {
            ca = initUpstream(td);
        } else if (key == null) {
            ca = cacerts == null
                    ? CaDirectory.initSelfSigned(dataDir, td, keyType, Clock.systemUTC())
                    : CaDirectory.importCacerts(dataDir, cacerts, td, Clock.systemUTC());
        } else {
            KeyResolvers.InitKey initKey = KeyResolvers.parseInitKey(key);
            if (cacerts == null) {
                ca = CaDirectory.initSelfSigned(dataDir, td, initKey.openOrGenerateCaKeys(keyType),
                        KeyResolvers.forDataDir(dataDir), Clock.systemUTC());
            } else {
                if (Files.exists(cacerts.resolve(CaDirectory.CA_KEY))) {
                    throw new IllegalArgumentException("--cacerts " + cacerts + " holds " + CaDirectory.CA_KEY
                            + " but --key says the CA key is in the token; remove one of them");
                }
                ca = CaDirectory.importCacerts(dataDir, cacerts, td, initKey.openOrGenerateCaKey(keyType).reference(),
                        initKey.openOrGenerateJwtKey(), KeyResolvers.forDataDir(dataDir), Clock.systemUTC());
            }
        }
        X509Certificate cert = ca.signingCa().certificate();
        System.out.println("created " + (ca.config().mode().equals(CaDirectory.UPSTREAM) ? "an " : "a ")
                + ca.config().mode() + " CA for trust domain " + td + " in " + dataDir.toAbsolutePath());
        System.out.println("  issuing CA: " + cert.getSubjectX500Principal().getName() + ", expires "
                + cert.getNotAfter().toInstant());
        System.out.println("  root:       " + ca.signingCa().roots().get(0).getSubjectX500Principal().getName()
                + " (" + dataDir.resolve(CaDirectory.ROOT_CERT) + ")");
        if (ca.config().upstream() != null) {
            System.out.println("  upstream:   " + VaultUri.parse(ca.config().upstream()).keyId() + ", intermediates of "
                    + ca.config().intermediateTtl() + " renewed at half their lifetime by keel ca serve");
        }
        System.out.println("  key:        " + ca.signingCa().key().id() + ", SHA-256 "
                + PublicKeys.sha256Fingerprint(cert.getPublicKey()));
        return 0;
    }

    private CaDirectory.LoadedCa initUpstream(TrustDomain td) throws Exception {
        if (cacerts != null) {
            throw new IllegalArgumentException("--upstream and --cacerts exclude each other: the upstream signs the "
                    + "intermediate, or an enterprise root did");
        }
        CaDirectory.Upstream authority = new CaDirectory.Upstream(VaultUri.parse(upstream).toString(),
                KeyResolvers.upstream(upstream), intermediateTtl);
        String caKey = CaDirectory.FILE_CA_KEY;
        String jwtKey = CaDirectory.FILE_JWT_KEY;
        if (key != null) {
            KeyResolvers.InitKey initKey = KeyResolvers.parseInitKey(key);
            caKey = initKey.openOrGenerateCaKey(keyType).reference();
            jwtKey = initKey.openOrGenerateJwtKey();
        }
        return CaDirectory.initUpstream(dataDir, td, caKey, jwtKey, keyType, KeyResolvers.forDataDir(dataDir), authority,
                Clock.systemUTC());
    }

    private int writeCsr(TrustDomain td) throws Exception {
        if (key == null) {
            throw new IllegalArgumentException("--csr-out needs --key (the CSR is signed by the key in the token)");
        }
        if (cacerts != null) {
            throw new IllegalArgumentException("--csr-out and --cacerts are two steps: first the CSR, then the signed certificate");
        }
        if (upstream != null) {
            throw new IllegalArgumentException("--csr-out and --upstream exclude each other: the upstream signs the CSR itself");
        }
        SigningKey caKey = KeyResolvers.parseInitKey(key).openOrGenerateCaKey(keyType).key();
        Files.writeString(csrOut, CaDirectory.intermediateCsr(td, caKey), StandardCharsets.US_ASCII);
        System.out.println("wrote a CSR for the issuing CA of " + td + " to " + csrOut.toAbsolutePath());
        System.out.println("  key:  " + caKey.id() + ", SHA-256 " + PublicKeys.sha256Fingerprint(caKey.publicKey()));
        System.out.println("  next: have the enterprise root sign it (CA:true, pathlen:0, keyCertSign), put ca-cert.pem,");
        System.out.println("        cert-chain.pem and root-cert.pem in a directory, and run keel ca init --cacerts DIR --key ...");
        return 0;
    }
}
