package dev.keel.cli;

import dev.keel.ca.CaDirectory;
import dev.keel.cli.internal.KeyTypeConverter;
import dev.keel.identity.KeyType;
import dev.keel.identity.PublicKeys;
import dev.keel.identity.TrustDomain;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code keel ca init}: creates the CA's data directory, self-signed or from an enterprise root's cacerts. */
@Command(name = "init", mixinStandardHelpOptions = true,
        description = {"Create a CA in the data directory.",
                "Without --cacerts: a self-signed root (10 years) and an issuing intermediate (1 year).",
                "With --cacerts DIR: plug in an enterprise root using Istio's layout (ca-cert.pem, ca-key.pem, "
                        + "cert-chain.pem, root-cert.pem); every file is checked first."})
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

    @Override
    public Integer call() throws Exception {
        TrustDomain td = TrustDomain.parse(trustDomain);
        CaDirectory.LoadedCa ca = cacerts == null
                ? CaDirectory.initSelfSigned(dataDir, td, keyType, Clock.systemUTC())
                : CaDirectory.importCacerts(dataDir, cacerts, td, Clock.systemUTC());
        X509Certificate cert = ca.signingCa().certificate();
        System.out.println("created a " + ca.config().mode() + " CA for trust domain " + td + " in " + dataDir.toAbsolutePath());
        System.out.println("  issuing CA: " + cert.getSubjectX500Principal().getName() + ", expires "
                + cert.getNotAfter().toInstant());
        System.out.println("  root:       " + ca.signingCa().roots().get(0).getSubjectX500Principal().getName()
                + " (" + dataDir.resolve(CaDirectory.ROOT_CERT) + ")");
        System.out.println("  key:        " + ca.config().caKey() + ", SHA-256 "
                + PublicKeys.sha256Fingerprint(cert.getPublicKey()));
        return 0;
    }
}
