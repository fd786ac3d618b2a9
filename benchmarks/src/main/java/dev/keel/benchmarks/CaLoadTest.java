package dev.keel.benchmarks;

import dev.keel.ca.CaDirectory;
import dev.keel.ca.CaService;
import dev.keel.ca.CitadelCa;
import dev.keel.ca.IssuancePolicy;
import dev.keel.ca.IssuedX509Svid;
import dev.keel.ca.audit.AuditLogVerifier;
import dev.keel.ca.audit.VerificationReport;
import dev.keel.ca.auth.CallerCredentials;
import dev.keel.ca.server.CaServer;
import dev.keel.identity.KeyType;
import dev.keel.identity.Pem;
import dev.keel.identity.SpiffeId;
import dev.keel.identity.TrustDomain;
import dev.keel.proto.istio.v1.auth.IstioCertificateRequest;
import dev.keel.proto.istio.v1.auth.IstioCertificateResponse;
import dev.keel.proto.istio.v1.auth.IstioCertificateServiceGrpc;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.netty.GrpcSslContexts;
import io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.StreamObserver;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollEventLoopGroup;
import io.netty.channel.epoll.EpollSocketChannel;
import io.netty.channel.nio.NioEventLoopGroup;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.handler.ssl.OpenSsl;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslProvider;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadInfo;
import java.lang.management.ThreadMXBean;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;

/**
 * End-to-end load on the CA: a self-signed CA in a temporary directory with its durable audit log,
 * {@link CaServer} on 127.0.0.1 (gRPC, BoringSSL, client certificates), and N concurrent clients
 * renewing their own identity with {@code istio.v1.auth.IstioCertificateService/CreateCertificate}.
 *
 * <p>Each gRPC channel is one TLS connection authenticated by its own client X.509-SVID
 * ({@code spiffe://cluster.local/ns/bench/sa/client-C}, bootstrapped with
 * {@link CaService#issueAsOperator}); the clients are spread round-robin over the channels and ask
 * for their channel's identity with pre-generated CSRs. Each client keeps at most
 * {@code --outstanding} calls in flight (closed loop). After the warm-up, completions are counted
 * for {@code --seconds}; then no new call starts, the calls in flight are drained, everything is
 * closed, and the audit log is checked to hold exactly one line per request the CA answered.
 *
 * <p>The warm-up defaults to 60 s: on a 2-core machine the C2 compiler is still taking 15-35% of
 * the CPU 10-30 s into the load, so a shorter warm-up measures the JIT, not the CA.
 *
 * <p>{@code --mode direct} skips gRPC and TLS: N threads call {@link CaService#createCertificate}
 * in-process with the same credentials, which isolates the CA and its audit log.
 *
 * <p>Exits by itself: the process halts if it has not finished {@code 120 s} after the planned
 * end. Exit code 0 when every call succeeded and the audit log matches, 1 otherwise.
 */
public final class CaLoadTest {

    private static final TrustDomain TRUST_DOMAIN = TrustDomain.parse("cluster.local");
    private static final int MAX_SAMPLES = 4 << 20;

    private record Options(String mode, int clients, int channels, int outstanding, int seconds, int warmup,
            int csrsPerIdentity, int clientThreads, int handlerThreads, Path parent, boolean keep) {

        static Options parse(String[] args) {
            Map<String, String> values = new TreeMap<>();
            for (int i = 0; i < args.length; i++) {
                String name = args[i];
                if (!name.startsWith("--")) {
                    throw new IllegalArgumentException("unexpected argument: " + name);
                }
                if (name.equals("--keep")) {
                    values.put("keep", "true");
                    continue;
                }
                if (i + 1 >= args.length) {
                    throw new IllegalArgumentException(name + ": missing value");
                }
                values.put(name.substring(2), args[++i]);
            }
            int clients = intOption(values, "clients", 64);
            Options options = new Options(values.getOrDefault("mode", "grpc"), clients,
                    Math.min(clients, intOption(values, "channels", 4)), intOption(values, "outstanding", 1),
                    intOption(values, "seconds", 20), intOption(values, "warmup", 60),
                    intOption(values, "csrs", 8), intOption(values, "client-threads", 1),
                    intOption(values, "handler-threads", 0),
                    Path.of(values.getOrDefault("dir", System.getProperty("java.io.tmpdir"))),
                    values.containsKey("keep"));
            values.keySet().removeAll(List.of("mode", "clients", "channels", "outstanding", "seconds", "warmup",
                    "csrs", "client-threads", "handler-threads", "dir", "keep"));
            if (!values.isEmpty()) {
                throw new IllegalArgumentException("unknown options: " + values.keySet());
            }
            if (!options.mode.equals("grpc") && !options.mode.equals("direct")) {
                throw new IllegalArgumentException("--mode: " + options.mode + " (expected: grpc or direct)");
            }
            return options;
        }

        private static int intOption(Map<String, String> values, String name, int defaultValue) {
            String value = values.get(name);
            int n = value == null ? defaultValue : Integer.parseInt(value);
            if (n < 0 || (n == 0 && !name.equals("handler-threads") && !name.equals("warmup"))) {
                throw new IllegalArgumentException("--" + name + ": " + n + " (expected: > 0)");
            }
            return n;
        }
    }

    /** What the clients observed, shared by all of them. */
    private static final class Stats {
        volatile boolean measuring;
        volatile boolean running = true;
        final AtomicLong started = new AtomicLong();
        final AtomicLong answered = new AtomicLong();
        final LongAdder ok = new LongAdder();
        final LongAdder measuredOk = new LongAdder();
        final Map<Status.Code, LongAdder> errors = new ConcurrentHashMap<>();
        final Map<String, String> firstError = new ConcurrentHashMap<>();
        final AtomicInteger samples = new AtomicInteger();
        final long[] latencies = new long[MAX_SAMPLES];
        final AtomicInteger badResponses = new AtomicInteger();

        void completed(long startNanos, Status.Code code, String description) {
            long latency = System.nanoTime() - startNanos;
            answered.incrementAndGet();
            if (code == Status.Code.OK) {
                ok.increment();
            } else {
                errors.computeIfAbsent(code, c -> new LongAdder()).increment();
                firstError.putIfAbsent(code.name(), String.valueOf(description));
            }
            if (measuring) {
                if (code == Status.Code.OK) {
                    measuredOk.increment();
                }
                int i = samples.getAndIncrement();
                if (i < latencies.length) {
                    latencies[i] = latency;
                }
            }
        }

        long inFlight() {
            return started.get() - answered.get();
        }
    }

    private CaLoadTest() {
    }

    public static void main(String[] args) throws Exception {
        String usage = "usage: CaLoadTest [--mode grpc|direct] [--clients 64] [--channels 4] [--outstanding 1]"
                + " [--seconds 20] [--warmup 60] [--csrs 8] [--client-threads 1] [--handler-threads N]"
                + " [--dir /tmp] [--keep]";
        if (List.of(args).contains("--help")) {
            System.out.println(usage);
            return;
        }
        Options options;
        try {
            options = Options.parse(args);
        } catch (IllegalArgumentException e) {
            System.err.println("error: " + e.getMessage());
            System.err.println(usage);
            System.exit(2);
            return;
        }
        startWatchdog(options);
        int exit;
        try {
            exit = run(options);
        } catch (Throwable t) {
            t.printStackTrace();
            exit = 1;
        }
        System.out.flush();
        System.exit(exit);
    }

    private static void startWatchdog(Options options) {
        long limitSeconds = options.warmup() + options.seconds() + 120L;
        Thread watchdog = new Thread(() -> {
            try {
                Thread.sleep(TimeUnit.SECONDS.toMillis(limitSeconds));
            } catch (InterruptedException e) {
                return;
            }
            System.err.println("watchdog: still running after " + limitSeconds + " s; halting");
            Runtime.getRuntime().halt(3);
        }, "bench-watchdog");
        watchdog.setDaemon(true);
        watchdog.start();
    }

    private static int run(Options options) throws Exception {
        Path dir = Files.createTempDirectory(options.parent(), "keel-ca-load");
        System.out.printf("CaLoadTest: mode=%s clients=%d channels=%d outstanding/client=%d warmup=%ds measure=%ds"
                        + " csrs/identity=%d dir=%s%n", options.mode(), options.clients(), options.channels(),
                options.outstanding(), options.warmup(), options.seconds(), options.csrsPerIdentity(), dir);
        CaDirectory.LoadedCa loaded = CaDirectory.initSelfSigned(dir.resolve("ca"), TRUST_DOMAIN, KeyType.EC_P256,
                Clock.systemUTC());
        CitadelCa ca = CitadelCa.open(loaded, IssuancePolicy.DEFAULT, List.of(), Clock.systemUTC());
        CaServer server = null;
        Stats stats = new Stats();
        Runnable stopClients = () -> { };
        boolean caClosed = false;
        try {
            // One identity per channel (per TLS connection), bootstrapped by the operator path.
            int identities = options.channels();
            List<Identity> ids = new ArrayList<>();
            for (int c = 0; c < identities; c++) {
                ids.add(Identity.bootstrap(ca.service(), c, options.csrsPerIdentity()));
            }
            long bootstrapLines = identities;
            List<X509Certificate> roots = loaded.signingCa().roots();

            if (options.mode().equals("grpc")) {
                CaServer.Builder builder = CaServer.builder(ca.service(), ca.bundle())
                        .host("127.0.0.1").grpcPort(0).bundlePort(-1);
                if (options.handlerThreads() > 0) {
                    builder.handlerThreads(options.handlerThreads());
                }
                server = builder.build().start();
                System.out.printf("CaServer listening on 127.0.0.1:%d (BoringSSL: %s, %s)%n", server.grpcPort(),
                        OpenSsl.isAvailable(), OpenSsl.versionString());
                stopClients = startGrpcClients(options, stats, ids, roots, server.grpcPort());
            } else {
                stopClients = startDirectClients(options, stats, ids, ca.service());
            }

            // Warm-up, then the measured window.
            Thread.sleep(TimeUnit.SECONDS.toMillis(options.warmup()));
            CpuSnapshot cpuBefore = CpuSnapshot.take();
            long answeredBefore = stats.answered.get();
            long t0 = System.nanoTime();
            stats.measuring = true;
            Thread.sleep(TimeUnit.SECONDS.toMillis(options.seconds()));
            stats.measuring = false;
            long t1 = System.nanoTime();
            CpuSnapshot cpuAfter = CpuSnapshot.take();
            long answeredInWindow = stats.answered.get() - answeredBefore;

            // Stop: no new calls; wait for those in flight.
            stats.running = false;
            long drainDeadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (stats.inFlight() > 0 && System.nanoTime() < drainDeadline) {
                Thread.sleep(10);
            }
            long leftInFlight = stats.inFlight();
            stopClients.run();
            if (server != null) {
                server.close();
                server = null;
            }
            ca.close();
            caClosed = true;

            double seconds = (t1 - t0) / 1e9;
            report(options, stats, seconds, answeredInWindow, cpuBefore, cpuAfter);

            VerificationReport audit = AuditLogVerifier.verify(loaded.auditLog());
            long expected = bootstrapLines + stats.answered.get();
            boolean auditMatches = audit.ok() && audit.lines() == expected;
            System.out.printf("audit log: %s; %d lines, expected %d (%d bootstrap + %d answered requests): %s%n",
                    audit.summary(), audit.lines(), expected, bootstrapLines, stats.answered.get(),
                    auditMatches ? "MATCH" : "MISMATCH");
            if (!audit.ok()) {
                audit.problems().stream().limit(10).forEach(p -> System.out.println("  " + p));
            }
            if (leftInFlight > 0) {
                System.out.println("WARNING: " + leftInFlight + " calls still in flight after the 30 s drain");
            }
            boolean clean = stats.errors.isEmpty() && stats.badResponses.get() == 0 && leftInFlight == 0;
            return auditMatches && clean ? 0 : 1;
        } finally {
            stats.running = false;
            stopClients.run();
            if (server != null) {
                server.close();
            }
            if (!caClosed) {
                ca.close();
            }
            if (options.keep()) {
                System.out.println("kept " + dir);
            } else {
                Directories.deleteRecursively(dir);
            }
        }
    }

    /** A client identity: its SVID (key and chain) and CSRs asking for it. */
    private record Identity(SpiffeId id, java.security.PrivateKey key, List<X509Certificate> chain, String[] csrs) {

        static Identity bootstrap(CaService service, int n, int csrCount) throws Exception {
            SpiffeId id = SpiffeId.parse("spiffe://cluster.local/ns/bench/sa/client-" + n);
            Csrs.Csr own = Csrs.create(id);
            IssuedX509Svid svid = service.issueAsOperator("bench", own.pem(), Duration.ofHours(2))
                    .get(30, TimeUnit.SECONDS);
            String[] csrs = new String[csrCount];
            for (int i = 0; i < csrCount; i++) {
                csrs[i] = Csrs.create(id).pem();
            }
            return new Identity(id, own.keyPair().getPrivate(), svid.chain(), csrs);
        }
    }

    private static Runnable startGrpcClients(Options options, Stats stats, List<Identity> ids,
            List<X509Certificate> roots, int port) throws Exception {
        boolean epoll = Epoll.isAvailable();
        ThreadFactory threads = daemonThreads("bench-client-io");
        EventLoopGroup group = epoll ? new EpollEventLoopGroup(options.clientThreads(), threads)
                : new NioEventLoopGroup(options.clientThreads(), threads);
        List<ManagedChannel> channels = new ArrayList<>();
        List<IstioCertificateServiceGrpc.IstioCertificateServiceStub> stubs = new ArrayList<>();
        for (Identity identity : ids) {
            SslContext tls = GrpcSslContexts.configure(SslContextBuilder.forClient(), SslProvider.OPENSSL)
                    .keyManager(identity.key(), identity.chain().toArray(new X509Certificate[0]))
                    .trustManager(roots.toArray(new X509Certificate[0]))
                    .protocols("TLSv1.3", "TLSv1.2")
                    .build();
            ManagedChannel channel = NettyChannelBuilder.forAddress("localhost", port)
                    .sslContext(tls)
                    .eventLoopGroup(group)
                    .channelType(epoll ? EpollSocketChannel.class : NioSocketChannel.class)
                    .directExecutor()
                    .maxInboundMessageSize(1 << 20)
                    .build();
            channels.add(channel);
            stubs.add(IstioCertificateServiceGrpc.newStub(channel));
        }
        List<IstioCertificateRequest[]> requests = new ArrayList<>();
        for (Identity identity : ids) {
            IstioCertificateRequest[] forIdentity = new IstioCertificateRequest[identity.csrs().length];
            for (int i = 0; i < forIdentity.length; i++) {
                forIdentity[i] = IstioCertificateRequest.newBuilder().setCsr(identity.csrs()[i])
                        .setValidityDuration(Duration.ofHours(24).toSeconds()).build();
            }
            requests.add(forIdentity);
        }
        ScheduledExecutorService retries = Executors.newSingleThreadScheduledExecutor(daemonThreads("bench-retry"));
        for (int client = 0; client < options.clients(); client++) {
            int c = client % ids.size();
            GrpcClient loop = new GrpcClient(stats, stubs.get(c), requests.get(c), client, retries);
            for (int k = 0; k < options.outstanding(); k++) {
                loop.fire();
            }
        }
        return () -> {
            retries.shutdownNow();
            for (ManagedChannel channel : channels) {
                channel.shutdown();
            }
            for (ManagedChannel channel : channels) {
                try {
                    if (!channel.awaitTermination(5, TimeUnit.SECONDS)) {
                        channel.shutdownNow();
                    }
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    channel.shutdownNow();
                }
            }
            group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
        };
    }

    /** One closed-loop client: each completion starts the next call while the test runs. */
    private static final class GrpcClient {
        private final Stats stats;
        private final IstioCertificateServiceGrpc.IstioCertificateServiceStub stub;
        private final IstioCertificateRequest[] requests;
        private final AtomicInteger next;
        private final ScheduledExecutorService retries;

        GrpcClient(Stats stats, IstioCertificateServiceGrpc.IstioCertificateServiceStub stub,
                IstioCertificateRequest[] requests, int offset, ScheduledExecutorService retries) {
            this.stats = stats;
            this.retries = retries;
            this.stub = stub;
            this.requests = requests;
            this.next = new AtomicInteger(offset);
        }

        void fire() {
            if (!stats.running) {
                return;
            }
            IstioCertificateRequest request = requests[Math.floorMod(next.getAndIncrement(), requests.length)];
            stats.started.incrementAndGet();
            long start = System.nanoTime();
            stub.createCertificate(request, new StreamObserver<>() {
                private int chainLength;

                @Override
                public void onNext(IstioCertificateResponse response) {
                    chainLength = response.getCertChainCount();
                }

                @Override
                public void onError(Throwable t) {
                    Status status = Status.fromThrowable(t);
                    stats.completed(start, status.getCode(), status.getDescription());
                    // Not inline: a broken channel fails calls at once, and directExecutor would recurse.
                    retries.schedule(GrpcClient.this::fire, 10, TimeUnit.MILLISECONDS);
                }

                @Override
                public void onCompleted() {
                    if (chainLength < 3) {
                        // leaf, issuing intermediate, root
                        stats.badResponses.incrementAndGet();
                    }
                    stats.completed(start, Status.Code.OK, null);
                    fire();
                }
            });
        }
    }

    private static Runnable startDirectClients(Options options, Stats stats, List<Identity> ids, CaService service) {
        CountDownLatch done = new CountDownLatch(options.clients());
        for (int client = 0; client < options.clients(); client++) {
            Identity identity = ids.get(client % ids.size());
            CallerCredentials credentials = new CallerCredentials(null, identity.chain());
            int offset = client;
            Thread thread = new Thread(() -> {
                try {
                    for (int i = offset; stats.running; i++) {
                        String csr = identity.csrs()[i % identity.csrs().length];
                        stats.started.incrementAndGet();
                        long start = System.nanoTime();
                        Status.Code code = Status.Code.OK;
                        String description = null;
                        try {
                            service.createCertificate(credentials, csr, Duration.ZERO).join();
                        } catch (RuntimeException e) {
                            code = Status.Code.UNKNOWN;
                            description = CaService.unwrap(e).code() + ": " + CaService.unwrap(e).getMessage();
                        }
                        stats.completed(start, code, description);
                    }
                } finally {
                    done.countDown();
                }
            }, "bench-direct-" + client);
            thread.setDaemon(true);
            thread.start();
        }
        return () -> {
            try {
                done.await(30, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        };
    }

    private static void report(Options options, Stats stats, double seconds, long answeredInWindow,
            CpuSnapshot before, CpuSnapshot after) {
        long measuredOk = stats.measuredOk.sum();
        int n = Math.min(stats.samples.get(), MAX_SAMPLES);
        long[] sorted = Arrays.copyOf(stats.latencies, n);
        Arrays.sort(sorted);
        System.out.println();
        System.out.printf("RESULT mode=%s clients=%d channels=%d outstanding/client=%d window=%.1fs%n",
                options.mode(), options.clients(), options.channels(), options.outstanding(), seconds);
        System.out.printf("RESULT certificates/s: %.0f  (%d issued in the window, %d answered)%n",
                measuredOk / seconds, measuredOk, answeredInWindow);
        System.out.printf("RESULT latency ms: p50 %.2f  p90 %.2f  p99 %.2f  max %.2f  (%d samples)%n",
                percentile(sorted, 0.50), percentile(sorted, 0.90), percentile(sorted, 0.99),
                n == 0 ? 0.0 : sorted[n - 1] / 1e6, n);
        Map<String, Long> errors = new TreeMap<>();
        stats.errors.forEach((code, count) -> errors.put(code.name(), count.sum()));
        System.out.printf("RESULT errors by status: %s%s%n", errors.isEmpty() ? "none" : errors,
                stats.badResponses.get() > 0 ? "; " + stats.badResponses.get() + " responses with a short chain" : "");
        stats.firstError.forEach((code, description) -> System.out.println("  first " + code + ": " + description));
        System.out.printf("RESULT whole run: %d calls answered, %d OK%n", stats.answered.get(), stats.ok.sum());
        after.printDelta(before, seconds);
    }

    private static double percentile(long[] sorted, double p) {
        if (sorted.length == 0) {
            return 0;
        }
        int index = (int) Math.ceil(p * sorted.length) - 1;
        return sorted[Math.max(0, Math.min(sorted.length - 1, index))] / 1e6;
    }

    private static ThreadFactory daemonThreads(String prefix) {
        AtomicInteger n = new AtomicInteger();
        return runnable -> {
            Thread thread = new Thread(runnable, prefix + "-" + n.incrementAndGet());
            thread.setDaemon(true);
            return thread;
        };
    }

    /**
     * CPU time at one instant: per thread group (thread name without its trailing number, VM threads
     * included where {@code /proc} shows them), the whole process, and the whole machine from
     * {@code /proc/stat}, so the report can say where the CPU went and whether something else on
     * the machine took some of it.
     */
    private record CpuSnapshot(Map<String, Long> byGroup, long processNanos, long machineBusyTicks,
            long machineTotalTicks) {

        static CpuSnapshot take() {
            Map<String, Long> groups = perThreadFromProc();
            if (groups == null) {
                groups = perThreadFromJmx();
            }
            long process = ((com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean())
                    .getProcessCpuTime();
            long busy = -1;
            long total = -1;
            try {
                String[] cpu = Files.readAllLines(Path.of("/proc/stat"), StandardCharsets.US_ASCII).get(0)
                        .trim().split("\\s+");
                total = 0;
                for (int i = 1; i < cpu.length && i <= 8; i++) {
                    total += Long.parseLong(cpu[i]);
                }
                busy = total - Long.parseLong(cpu[4]) - Long.parseLong(cpu[5]);
            } catch (Exception e) {
                // not Linux: no machine-wide figure
            }
            return new CpuSnapshot(groups, process, busy, total);
        }

        /**
         * Every thread of this process, VM threads (GC, JIT compilers) included, from
         * {@code /proc/self/task/N/stat}; names are the kernel's, cut to 15 characters. Null if not Linux.
         */
        private static Map<String, Long> perThreadFromProc() {
            Path tasks = Path.of("/proc/self/task");
            if (!Files.isDirectory(tasks)) {
                return null;
            }
            long nanosPerTick = 10_000_000L; // USER_HZ is 100 on Linux
            Map<String, Long> groups = new TreeMap<>();
            try (java.util.stream.Stream<Path> list = Files.list(tasks)) {
                for (Path task : list.toList()) {
                    String stat;
                    try {
                        stat = Files.readString(task.resolve("stat"), StandardCharsets.US_ASCII);
                    } catch (java.io.IOException gone) {
                        continue;
                    }
                    int open = stat.indexOf('(');
                    int close = stat.lastIndexOf(')');
                    String name = stat.substring(open + 1, close);
                    String[] fields = stat.substring(close + 2).split(" ");
                    // fields[0] is field 3 (state); utime and stime are fields 14 and 15
                    long ticks = Long.parseLong(fields[11]) + Long.parseLong(fields[12]);
                    groups.merge(group(name), ticks * nanosPerTick, Long::sum);
                }
            } catch (java.io.IOException | RuntimeException e) {
                return null;
            }
            return groups;
        }

        private static Map<String, Long> perThreadFromJmx() {
            ThreadMXBean threads = ManagementFactory.getThreadMXBean();
            Map<String, Long> groups = new TreeMap<>();
            for (long id : threads.getAllThreadIds()) {
                ThreadInfo info = threads.getThreadInfo(id);
                long cpu = threads.getThreadCpuTime(id);
                if (info == null || cpu < 0) {
                    continue;
                }
                groups.merge(group(info.getThreadName()), cpu, Long::sum);
            }
            return groups;
        }

        private static String group(String name) {
            return name.replaceAll("[-#_ ]?\\d+$", "");
        }

        void printDelta(CpuSnapshot before, double seconds) {
            int cores = Runtime.getRuntime().availableProcessors();
            double process = (processNanos - before.processNanos) / 1e9;
            System.out.printf("CPU in the window: this JVM %.1f core-s of %.1f available (%.0f%% of %d cores)%n",
                    process, seconds * cores, 100 * process / (seconds * cores), cores);
            if (machineTotalTicks > 0 && before.machineTotalTicks > 0) {
                double busy = (double) (machineBusyTicks - before.machineBusyTicks)
                        / (machineTotalTicks - before.machineTotalTicks);
                double othersCoreSeconds = Math.max(0, busy * seconds * cores - process);
                System.out.printf("CPU in the window: machine %.0f%% busy; other processes about %.1f core-s%n",
                        100 * busy, othersCoreSeconds);
            }
            Map<String, Long> delta = new TreeMap<>();
            long threadNanos = 0;
            for (Map.Entry<String, Long> e : byGroup.entrySet()) {
                long d = e.getValue() - before.byGroup.getOrDefault(e.getKey(), 0L);
                if (d > 0) {
                    delta.put(e.getKey(), d);
                    threadNanos += d;
                }
            }
            System.out.println("CPU by thread (group names as the kernel has them;"
                    + " core-s in the window, share of this JVM):");
            delta.entrySet().stream()
                    .sorted(Map.Entry.<String, Long>comparingByValue().reversed())
                    .filter(e -> e.getValue() >= 50_000_000L)
                    .forEach(e -> System.out.printf("  %-40s %6.2f  %5.1f%%%n", e.getKey(), e.getValue() / 1e9,
                            100.0 * e.getValue() / (process * 1e9)));
            System.out.printf("  %-40s %6.2f  %5.1f%%%n", "(threads that ended, rounding)",
                    Math.max(0, process - threadNanos / 1e9), 100.0 * Math.max(0, process * 1e9 - threadNanos)
                            / (process * 1e9));
        }
    }
}
