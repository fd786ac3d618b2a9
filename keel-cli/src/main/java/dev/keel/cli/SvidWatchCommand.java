package dev.keel.cli;

import dev.keel.cli.internal.SvidPrinter;
import dev.keel.cli.internal.WorkloadApiClient;
import dev.keel.cli.internal.WorkloadEndpoint;
import dev.keel.proto.workload.X509SVIDResponse;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.StreamObserver;
import java.nio.file.Path;
import java.time.Instant;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.Callable;
import java.util.concurrent.LinkedBlockingQueue;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code keel svid watch}: prints every X.509-SVID update the agent streams, e.g. each rotation. */
@Command(name = "watch", mixinStandardHelpOptions = true,
        description = "Watch this process's X.509-SVIDs: print each update the Workload API streams (rotations, new bundles).")
final class SvidWatchCommand implements Callable<Integer> {

    @Option(names = "--socket", description = "Workload API address (default: $SPIFFE_ENDPOINT_SOCKET, else "
            + WorkloadEndpoint.DEFAULT + ")")
    String socket;

    @Option(names = "--count", defaultValue = "0", description = "Stop after this many updates; 0 watches until interrupted")
    int count;

    @Override
    public Integer call() throws Exception {
        Path path = WorkloadEndpoint.socketPath(WorkloadEndpoint.resolve(socket));
        BlockingQueue<Object> events = new LinkedBlockingQueue<>();
        try (WorkloadApiClient client = new WorkloadApiClient(path)) {
            client.watchX509(new StreamObserver<>() {
                @Override
                public void onNext(X509SVIDResponse value) {
                    events.add(value);
                }

                @Override
                public void onError(Throwable t) {
                    events.add(t);
                }

                @Override
                public void onCompleted() {
                    events.add(Boolean.TRUE);
                }
            });
            for (int received = 0; count == 0 || received < count; received++) {
                Object event = events.take();
                if (event instanceof X509SVIDResponse response) {
                    System.out.println("Update #" + (received + 1) + " at " + Instant.now() + ": "
                            + response.getSvidsCount() + " SVID(s)");
                    SvidPrinter.print(response, Instant.now(), System.out);
                    System.out.flush();
                } else if (event instanceof StatusRuntimeException e) {
                    return SvidFetchCommand.report(e, path);
                } else if (event instanceof Throwable t) {
                    System.err.println("keel: watch failed: " + t);
                    return 1;
                } else {
                    System.err.println("keel: the agent closed the stream");
                    return 1;
                }
            }
            return 0;
        }
    }
}
