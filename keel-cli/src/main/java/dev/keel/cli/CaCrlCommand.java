package dev.keel.cli;

import dev.keel.ca.CaDirectory;
import dev.keel.ca.KeyResolver;
import dev.keel.ca.crl.CrlSigner;
import dev.keel.ca.crl.RevocationList;
import dev.keel.ca.crl.SignedCrl;
import dev.keel.cli.internal.DurationConverter;
import dev.keel.cli.internal.KeyResolvers;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code keel ca crl}: signs a CRL now with the issuing CA's key (a file, a PKCS#11 token or Vault,
 * as the data directory says) and writes it. It takes the next CRL Number from the revocation list,
 * shared with a running {@code keel ca serve}, so numbers keep increasing whoever signs.
 */
@Command(name = "crl", mixinStandardHelpOptions = true,
        description = "Sign a fresh CRL with the issuing CA's key and write it (PEM or DER).")
final class CaCrlCommand implements Callable<Integer> {

    @Option(names = "--data-dir", defaultValue = ".keel/ca", description = "CA data directory (default: ${DEFAULT-VALUE})")
    Path dataDir;

    @Option(names = {"-o", "--out"}, required = true, description = "Where to write the CRL")
    Path out;

    @Option(names = "--format", defaultValue = "pem", converter = FormatConverter.class,
            description = "pem (-----BEGIN X509 CRL-----) or der (default: ${DEFAULT-VALUE})")
    Format format;

    @Option(names = "--validity", defaultValue = "24h", converter = DurationConverter.class,
            description = "From thisUpdate to nextUpdate, 1m to 30d (default: ${DEFAULT-VALUE})")
    Duration validity;

    enum Format { PEM, DER }

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        CrlSigner signer;
        try {
            signer = new CrlSigner(validity);
        } catch (IllegalArgumentException e) {
            throw new CommandLine.ParameterException(spec.commandLine(), "--validity: " + e.getMessage());
        }
        Clock clock = Clock.systemUTC();
        KeyResolver keys = KeyResolvers.forDataDir(dataDir);
        CaDirectory.LoadedCa loaded = CaDirectory.load(dataDir, clock, keys);
        RevocationList revocations = RevocationList.open(dataDir);
        SignedCrl crl = signer.sign(loaded.signingCa(), revocations.nextCrlNumber(), clock.instant());
        if (format == Format.DER) {
            Files.write(out, crl.der());
        } else {
            Files.writeString(out, crl.pem(), StandardCharsets.US_ASCII);
        }
        System.err.println("CRL number " + crl.number() + " signed by " + crl.issuer().getSubjectX500Principal() + ": "
                + crl.entries() + " revoked, this update " + crl.thisUpdate() + ", next update " + crl.nextUpdate()
                + " -> " + out);
        return 0;
    }

    static final class FormatConverter implements CommandLine.ITypeConverter<Format> {
        @Override
        public Format convert(String value) {
            return switch (value.trim().toLowerCase(Locale.ROOT)) {
                case "pem" -> Format.PEM;
                case "der" -> Format.DER;
                default -> throw new CommandLine.TypeConversionException("format: \"" + value + "\" (expected: pem or der)");
            };
        }
    }
}
