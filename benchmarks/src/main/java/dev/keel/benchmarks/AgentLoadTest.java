package dev.keel.benchmarks;

import dev.keel.agent.AgentConfig;
import dev.keel.agent.AgentMetrics;
import dev.keel.agent.attestor.UnixWorkloadAttestor;
import dev.keel.agent.cache.SvidManager;
import dev.keel.agent.workloadapi.WorkloadApiServer;
import dev.keel.ca.CaDirectory;
import dev.keel.ca.CitadelCa;
import dev.keel.ca.IssuancePolicy;
import dev.keel.ca.KeyResolver;
import dev.keel.ca.node.CreatedJoinToken;
import dev.keel.ca.node.EntrySpec;
import dev.keel.ca.server.CaServer;
import dev.keel.identity.KeyType;
import dev.keel.identity.TrustDomain;
import dev.keel.proto.workload.JWTSVIDRequest;
import dev.keel.proto.workload.SpiffeWorkloadAPIGrpc;
import dev.keel.proto.workload.X509SVIDRequest;
import dev.keel.proto.workload.X509SVIDResponse;
import io.grpc.Channel;
import io.grpc.ClientInterceptors;
import io.grpc.Context;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.MetadataUtils;
import io.grpc.stub.StreamObserver;
import io.netty.channel.epoll.EpollDomainSocketChannel;
import io.netty.channel.epoll.EpollEventLoopGroup;
import io.netty.channel.unix.DomainSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * The node agent under load, against a real CA on 127.0.0.1 (gRPC over BoringSSL mTLS, durable audit
 * log) in the same JVM:
 * <ol>
 *   <li>cold start: the agent attests and finds 1,000 registration entries bound to its node; the time
 *       until every one has its X.509-SVID (key made on the node, CSR, CA round trip, verification);
 *   <li>1,000 Workload API clients connecting at once to the just-started agent: the time until each
 *       has its first SVID on its stream;
 *   <li>fetch latency of a cached SVID over the Unix socket: a one-shot {@code FetchX509SVID} (first
 *       message, then cancel, as {@code spire-agent api fetch} does) on a warm channel, and a cached
 *       JWT-SVID ({@code FetchJWTSVID}).
 * </ol>
 * All clients run in this process, so they share one uid: each is entitled to the one entry for that
 * uid; the other 1,000 entries select other uids and are issued but never served here.
 *
 * <p>{@code java -cp benchmarks/target/benchmarks.jar dev.keel.benchmarks.AgentLoadTest [--entries 1000]
 * [--clients 1000] [--fetches 20000] [--concurrency 32]}
 */
public final class AgentLoadTest {

    public static void main(String[] args) throws Exception {
        int entries = intArg(args, "--entries", 1000);
        int clients = intArg(args, "--clients", 1000);
        int fetches = intArg(args, "--fetches", 20000);
        int concurrency = intArg(args, "--concurrency", AgentConfig.DEFAULT_MAX_CONCURRENT_ISSUANCE);
        Path work = Files.createTempDirectory(Path.of("/tmp"), "keel-agent-load-");
        Clock clock = Clock.systemUTC();
        TrustDomain td = TrustDomain.parse("cluster.local");
        Path caDir = work.resolve("ca");
        CaDirectory.initSelfSigned(caDir, td, KeyType.EC_P256, clock);
        CaDirectory.LoadedCa loaded = CaDirectory.load(caDir, clock, KeyResolver.files(caDir));
        try (CitadelCa ca = CitadelCa.open(loaded, IssuancePolicy.DEFAULT, List.of(), clock);
                CaServer server = CaServer.builder(ca).host("127.0.0.1").grpcPort(0).bundlePort(-1).build().start()) {
            CreatedJoinToken token = ca.joinTokens().create("bench-node", Duration.ofHours(1));
            String node = token.nodeId().toString();
            long uid = new com.sun.security.auth.module.UnixSystem().getUid();
            ca.entries().create(EntrySpec.of("spiffe://cluster.local/ns/bench/sa/self", node, List.of("unix:uid:" + uid)));
            for (int i = 0; i < entries; i++) {
                ca.entries().create(EntrySpec.of("spiffe://cluster.local/ns/bench/sa/w" + i, node,
                        List.of("unix:uid:" + (100_000 + i))));
            }
            Path socket = work.resolve("agent.sock");
            AgentConfig config = AgentConfig.builder().trustDomain(td).caAddress("127.0.0.1:" + server.grpcPort())
                    .bootstrapBundle(caDir.resolve("root-cert.pem")).dataDir(work.resolve("agent"))
                    .joinToken(AgentConfig.JoinToken.of(token.token())).socketPath(socket)
                    .maxConcurrentIssuance(concurrency).build();
            System.out.printf("machine: %d cores, %s %s%n", Runtime.getRuntime().availableProcessors(),
                    System.getProperty("java.vm.name"), System.getProperty("java.version"));
            System.out.printf("entries: %d (+1 for this process), clients: %d, issuance concurrency: %d%n", entries,
                    clients, concurrency);

            long start = System.nanoTime();
            AgentMetrics metrics = new AgentMetrics(clock);
            try (SvidManager identities = SvidManager.builder(config, metrics).clock(clock).start();
                    WorkloadApiServer api = WorkloadApiServer.builder().socketPath(socket).identities(identities)
                            .attestors(List.of(UnixWorkloadAttestor.builder().build())).metrics(metrics).clock(clock)
                            .build()) {
                identities.awaitFirstSync(Duration.ofMinutes(1));
                api.start();
                long listening = System.nanoTime();
                EpollEventLoopGroup group = new EpollEventLoopGroup(2);
                List<ManagedChannel> channels = new ArrayList<>();
                CountDownLatch served = new CountDownLatch(clients);
                long[] firstSvidAt = new long[clients];
                List<Context.CancellableContext> streams = new ArrayList<>();
                for (int i = 0; i < clients; i++) {
                    ManagedChannel channel = channel(socket, group);
                    channels.add(channel);
                    int n = i;
                    Context.CancellableContext context = Context.current().withCancellation();
                    streams.add(context);
                    context.run(() -> SpiffeWorkloadAPIGrpc.newStub(secured(channel)).fetchX509SVID(
                            X509SVIDRequest.getDefaultInstance(), new StreamObserver<>() {
                                boolean first = true;

                                @Override
                                public void onNext(X509SVIDResponse value) {
                                    if (first) {
                                        first = false;
                                        firstSvidAt[n] = System.nanoTime();
                                        served.countDown();
                                    }
                                }

                                @Override
                                public void onError(Throwable t) {
                                    if (!(t instanceof io.grpc.StatusRuntimeException e
                                            && e.getStatus().getCode() == io.grpc.Status.Code.CANCELLED)) {
                                        System.err.println("client " + n + ": " + t);
                                    }
                                }

                                @Override
                                public void onCompleted() {
                                }
                            }));
                }
                boolean ready = identities.awaitReady(Duration.ofMinutes(5));
                long allIssued = System.nanoTime();
                boolean allServed = served.await(5, TimeUnit.MINUTES);
                long end = System.nanoTime();
                Arrays.sort(firstSvidAt);
                System.out.printf("cold start: node attested and socket open after %d ms%n", ms(listening - start));
                System.out.printf("cold start: all %d SVIDs issued %s after %d ms (%.0f SVIDs/s)%n", entries + 1,
                        ready ? "" : "(NOT all)", ms(allIssued - start), (entries + 1) / ((allIssued - start) / 1e9));
                System.out.printf("cold start: %d clients with their first SVID %s after %d ms (median %d ms)%n",
                        clients, allServed ? "" : "(NOT all)", ms(end - start),
                        ms(firstSvidAt[clients / 2] - start));
                java.io.ByteArrayOutputStream scrape = new java.io.ByteArrayOutputStream();
                metrics.writeText(scrape);
                for (String line : scrape.toString(java.nio.charset.StandardCharsets.UTF_8).split("\n")) {
                    if (line.startsWith("keel_agent_ca_request_duration_seconds_count")
                            || line.startsWith("keel_agent_ca_request_duration_seconds_sum")
                            || line.startsWith("keel_agent_ca_request_failures_total")) {
                        System.out.println("  " + line);
                    }
                }
                for (Context.CancellableContext c : streams) {
                    c.cancel(null);
                }
                for (ManagedChannel c : channels) {
                    c.shutdownNow();
                }

                ManagedChannel warm = channel(socket, group);
                Channel secured = secured(warm);
                var blocking = SpiffeWorkloadAPIGrpc.newBlockingStub(secured);
                long[] x509 = new long[fetches];
                for (int round = 0; round < 2; round++) { // the first round warms the JIT
                    for (int i = 0; i < fetches; i++) {
                        long t0 = System.nanoTime();
                        Context.CancellableContext c = Context.current().withCancellation();
                        try {
                            c.call(() -> blocking.fetchX509SVID(X509SVIDRequest.getDefaultInstance()).next());
                        } finally {
                            c.cancel(null);
                        }
                        x509[i] = System.nanoTime() - t0;
                    }
                }
                report("FetchX509SVID (cached SVID, warm channel, one-shot)", x509);
                long[] jwt = new long[fetches];
                JWTSVIDRequest request = JWTSVIDRequest.newBuilder().addAudience("bench").build();
                for (int round = 0; round < 2; round++) {
                    for (int i = 0; i < fetches; i++) {
                        long t0 = System.nanoTime();
                        blocking.fetchJWTSVID(request);
                        jwt[i] = System.nanoTime() - t0;
                    }
                }
                report("FetchJWTSVID (cached token, warm channel)", jwt);
                warm.shutdownNow();
                group.shutdownGracefully(0, 1, TimeUnit.SECONDS).sync();
            }
        }
    }

    private static ManagedChannel channel(Path socket, EpollEventLoopGroup group) {
        return NettyChannelBuilder.forAddress(new DomainSocketAddress(socket.toString())).eventLoopGroup(group)
                .channelType(EpollDomainSocketChannel.class).usePlaintext()
                .withOption(io.netty.channel.ChannelOption.SO_KEEPALIVE, null).build();
    }

    private static Channel secured(ManagedChannel channel) {
        Metadata header = new Metadata();
        header.put(Metadata.Key.of("workload.spiffe.io", Metadata.ASCII_STRING_MARSHALLER), "true");
        return ClientInterceptors.intercept(channel, MetadataUtils.newAttachHeadersInterceptor(header));
    }

    private static void report(String what, long[] nanos) {
        long[] sorted = nanos.clone();
        Arrays.sort(sorted);
        double total = 0;
        for (long n : sorted) {
            total += n;
        }
        System.out.printf("%s: %d calls, %.0f calls/s, p50 %.1f µs, p99 %.1f µs, max %.1f µs%n", what, sorted.length,
                sorted.length / (total / 1e9), sorted[sorted.length / 2] / 1e3, sorted[(int) (sorted.length * 0.99)] / 1e3,
                sorted[sorted.length - 1] / 1e3);
    }

    private static long ms(long nanos) {
        return nanos / 1_000_000;
    }

    private static int intArg(String[] args, String name, int defaultValue) {
        for (int i = 0; i < args.length - 1; i++) {
            if (args[i].equals(name)) {
                return Integer.parseInt(args[i + 1]);
            }
        }
        return defaultValue;
    }
}
