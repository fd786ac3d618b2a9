package dev.keel.cli;

import dev.keel.ca.CaDirectory;
import dev.keel.ca.CaService;
import dev.keel.ca.CitadelCa;
import dev.keel.ca.IssuancePolicy;
import dev.keel.ca.IssuedX509Svid;
import dev.keel.ca.KeyResolver;
import dev.keel.cli.internal.KeyResolvers;
import dev.keel.cli.internal.DurationConverter;
import dev.keel.identity.Pem;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutionException;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code keel ca issue}: signs a CSR file offline, for an operator who holds the CA's data
 * directory. The identity is the CSR's one URI SAN, checked like any other; the issuance is audited.
 */
@Command(name = "issue", mixinStandardHelpOptions = true,
        description = "Issue an X.509-SVID for a CSR file, offline (the identity is the CSR's URI SAN; audited).")
final class CaIssueCommand implements Callable<Integer> {

    @Option(names = "--data-dir", defaultValue = ".keel/ca", description = "CA data directory (default: ${DEFAULT-VALUE})")
    Path dataDir;

    @Option(names = "--csr", required = true, description = "PEM PKCS#10 request")
    Path csr;

    @Option(names = "--ttl", defaultValue = "0s", converter = DurationConverter.class,
            description = "Requested lifetime; 0s for the default of 24h; capped to 90d")
    Duration ttl;

    @Option(names = {"-o", "--out"}, description = "Write the chain (leaf first) here instead of standard output")
    Path out;

    @Override
    public Integer call() throws Exception {
        KeyResolver keys = KeyResolvers.forDataDir(dataDir);
        CaDirectory.LoadedCa loaded = CaDirectory.load(dataDir, Clock.systemUTC(), keys);
        String request = Files.readString(csr, StandardCharsets.US_ASCII);
        IssuedX509Svid svid;
        try (CitadelCa ca = CitadelCa.open(loaded, keys, IssuancePolicy.DEFAULT, List.of(), Clock.systemUTC())) {
            svid = ca.service().issueAsOperator(System.getProperty("user.name", "unknown"), request, ttl).get();
        } catch (ExecutionException e) {
            throw CaService.unwrap(e);
        }
        String chain = Pem.encodeCertificates(svid.chain());
        if (out == null) {
            System.out.print(chain);
        } else {
            Files.writeString(out, chain, StandardCharsets.US_ASCII);
            System.err.println("issued " + svid.spiffeId() + ", serial " + svid.serial().toString(16) + ", expires "
                    + svid.notAfter() + " -> " + out);
        }
        return 0;
    }
}
