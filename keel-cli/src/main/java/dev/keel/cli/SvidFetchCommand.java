package dev.keel.cli;

import dev.keel.cli.internal.DurationConverter;
import dev.keel.cli.internal.SvidPrinter;
import dev.keel.cli.internal.WorkloadApiClient;
import dev.keel.cli.internal.WorkloadEndpoint;
import dev.keel.proto.workload.JWTSVID;
import dev.keel.proto.workload.JWTSVIDResponse;
import dev.keel.proto.workload.X509SVIDResponse;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code keel svid fetch}: what {@code spire-agent api fetch} does, against Keel's agent or any Workload API. */
@Command(name = "fetch", mixinStandardHelpOptions = true,
        description = "Fetch this process's X.509-SVIDs (or, with --audience, JWT-SVIDs) from the Workload API and print them.")
final class SvidFetchCommand implements Callable<Integer> {

    /** Exit code when the agent has no identity for this process (PermissionDenied). */
    static final int NO_IDENTITY = 3;
    /** Exit code when the agent cannot be reached or does not answer in time. */
    static final int UNREACHABLE = 4;

    @Option(names = "--socket", description = "Workload API address (default: $SPIFFE_ENDPOINT_SOCKET, else "
            + WorkloadEndpoint.DEFAULT + ")")
    String socket;

    @Option(names = "--timeout", defaultValue = "5s", converter = DurationConverter.class,
            description = "How long to wait for the first answer (default: ${DEFAULT-VALUE})")
    Duration timeout;

    @Option(names = "--write", description = "Also write svid.N.pem, svid.N.key (0600) and bundle.N.pem into this directory")
    Path writeDir;

    @Option(names = "--audience", split = ",",
            description = "Fetch JWT-SVIDs for these audiences instead of X.509-SVIDs")
    List<String> audience;

    @Option(names = "--spiffe-id", description = "With --audience: only the JWT-SVID for this SPIFFE ID")
    String spiffeId;

    @Override
    public Integer call() throws Exception {
        Path path = WorkloadEndpoint.socketPath(WorkloadEndpoint.resolve(socket));
        try (WorkloadApiClient client = new WorkloadApiClient(path)) {
            long start = System.nanoTime();
            if (audience != null && !audience.isEmpty()) {
                JWTSVIDResponse response = client.fetchJwt(audience, spiffeId, timeout);
                System.out.println("Received " + response.getSvidsCount() + " JWT-SVID(s) after " + millis(start) + " ms");
                System.out.println();
                for (JWTSVID svid : response.getSvidsList()) {
                    System.out.println("SPIFFE ID: " + svid.getSpiffeId());
                    if (!svid.getHint().isEmpty()) {
                        System.out.println("Hint:      " + svid.getHint());
                    }
                    // Printed because the operator asked for it on their own terminal; never logged.
                    System.out.println("Token:     " + svid.getSvid());
                    System.out.println();
                }
                return 0;
            }
            X509SVIDResponse response = client.fetchX509(timeout);
            System.out.println("Received " + response.getSvidsCount() + " SVID(s) after " + millis(start) + " ms");
            System.out.println();
            SvidPrinter.print(response, Instant.now(), System.out);
            if (writeDir != null) {
                for (Path file : SvidPrinter.write(response, writeDir)) {
                    System.out.println("Wrote " + file);
                }
            }
            return 0;
        } catch (StatusRuntimeException e) {
            return report(e, path);
        }
    }

    static int report(StatusRuntimeException e, Path path) {
        Status status = e.getStatus();
        String detail = status.getDescription() == null ? "" : ": " + status.getDescription();
        switch (status.getCode()) {
            case PERMISSION_DENIED -> {
                System.err.println("keel: the agent has no identity for this process (PermissionDenied" + detail + ")");
                return NO_IDENTITY;
            }
            case UNAVAILABLE -> {
                System.err.println("keel: no Workload API at " + path + " (" + status.getCode() + detail + ")");
                return UNREACHABLE;
            }
            case DEADLINE_EXCEEDED -> {
                System.err.println("keel: the agent at " + path + " did not answer in time (it may still be issuing)");
                return UNREACHABLE;
            }
            default -> {
                System.err.println("keel: Workload API error " + status.getCode() + detail);
                return 1;
            }
        }
    }

    private static long millis(long start) {
        return (System.nanoTime() - start) / 1_000_000;
    }
}
