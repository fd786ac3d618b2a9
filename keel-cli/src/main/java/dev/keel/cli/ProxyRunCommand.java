package dev.keel.cli;

import dev.keel.cli.internal.DurationConverter;
import dev.keel.cli.internal.EffectiveProxyConfig;
import dev.keel.proxy.IdentitySource;
import dev.keel.proxy.ProxyConfig;
import dev.keel.proxy.ProxyMetrics;
import dev.keel.proxy.X509Material;
import dev.keel.proxy.admin.AdminServer;
import dev.keel.proxy.identity.FileIdentitySource;
import dev.keel.proxy.inbound.AccessLogFile;
import dev.keel.proxy.inbound.IdentityServerTlsContexts;
import dev.keel.proxy.inbound.InboundProxy;
import dev.keel.proxy.outbound.OutboundConfig;
import dev.keel.proxy.outbound.OutboundListener;
import dev.keel.proxy.tls.TlsContextHolder;
import io.netty.handler.ssl.ClientAuth;
import dev.keel.proxy.workload.WorkloadApiIdentitySource;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code keel proxy run}: the proxy's own identity from the node agent's Workload API (or, with an
 * {@code identity} section in the config, from PEM files), the inbound listeners in front of the app,
 * and the admin port.
 */
@Command(name = "run", mixinStandardHelpOptions = true,
        description = "Run the secure proxy: take its SVID from the Workload API (or from the files of the config's "
                + "identity section), terminate mTLS in front of the app, "
                + "authenticate JWTs and authorize every request with the policies in the policy directory.")
final class ProxyRunCommand implements Callable<Integer> {

    @Option(names = "--config", required = true, description = "The proxy's YAML configuration")
    Path configFile;

    @Option(names = "--admin-host", defaultValue = "127.0.0.1", description = "Admin address (default: ${DEFAULT-VALUE})")
    String adminHost;

    @Option(names = "--identity-timeout", defaultValue = "60s", converter = DurationConverter.class,
            description = "How long to wait for the first SVID from the agent (default: ${DEFAULT-VALUE})")
    Duration identityTimeout;

    @Option(names = "--access-log", paramLabel = "FILE",
            description = "Append the JSON access log to FILE, written in batches every 100 ms instead of one write per "
                    + "request (default: the keel.access logger)")
    Path accessLogFile;

    @Override
    public Integer call() throws Exception {
        String yaml = Files.readString(configFile);
        ProxyConfig config = ProxyConfig.parse(yaml);
        Optional<OutboundConfig> outboundConfig = OutboundConfig.parse(yaml);
        ProxyMetrics metrics = new ProxyMetrics();
        IdentitySource identity;
        AutoCloseable identityHandle;
        X509Material first;
        if (config.identity().isPresent()) {
            FileIdentitySource files;
            try {
                files = FileIdentitySource.open(config.identity().get());
            } catch (IllegalArgumentException e) {
                System.err.println("keel: " + e.getMessage());
                return 4;
            }
            identity = files;
            identityHandle = files;
            first = files.current().orElseThrow();
        } else {
            WorkloadApiIdentitySource agent = WorkloadApiIdentitySource.builder()
                    .endpoint(config.workloadApiSocket())
                    // Several workloads of one user share the agent's selectors; each proxy takes its own SVID.
                    .spiffeId(dev.keel.identity.SpiffeId.parse(config.workload().spiffeId()))
                    .build().start();
            try {
                first = agent.awaitFirst(identityTimeout);
            } catch (TimeoutException e) {
                agent.close();
                System.err.println("keel: no SVID from the Workload API at " + config.workloadApiSocket() + " within "
                        + DurationConverter.human(identityTimeout) + " (is the agent running, and is there an entry for "
                        + "this process?)");
                return 4;
            }
            identity = agent;
            identityHandle = agent;
        }
        IdentityServerTlsContexts tls = null;
        AccessLogFile accessLog = null;
        InboundProxy inbound = null;
        TlsContextHolder clientTls = null;
        OutboundListener outbound = null;
        AdminServer admin = null;
        try {
            tls = IdentityServerTlsContexts.create(identity);
            InboundProxy.Builder inboundBuilder = InboundProxy.builder(config).tls(tls).metrics(metrics);
            if (accessLogFile != null) {
                accessLog = AccessLogFile.open(accessLogFile, Duration.ofMillis(100));
                inboundBuilder.accessLog(accessLog);
            }
            inbound = inboundBuilder.build().start();
            InboundProxy listening = inbound;
            AdminServer.Builder adminBuilder = AdminServer.builder()
                    .address(new InetSocketAddress(adminHost, config.adminPort()))
                    .metrics(metrics).identity(identity)
                    .config(() -> EffectiveProxyConfig.of(config, listening, outboundConfig))
                    .jsonEndpoint("/peers", () -> listening.plaintextPeers().toJson())
                    .readinessCheck("inbound listener", () -> listening.port() > 0);
            if (outboundConfig.isPresent()) {
                OutboundConfig out = outboundConfig.get();
                // Origination presents this proxy's SVID; the server side of this holder is unused.
                clientTls = TlsContextHolder.follow(identity, ClientAuth.REQUIRE, List.of("http/1.1"));
                outbound = OutboundListener.builder().address(new InetSocketAddress(out.host(), out.port()))
                        .routes(out.routeTable()).tls(clientTls).metrics(metrics).build().start();
                adminBuilder.readinessCheck("outbound listener", outbound::listening);
            }
            admin = adminBuilder.build().start();
            System.out.println("keel proxy for " + first.spiffeId() + " serving");
            System.out.println("  inbound:  " + config.inbound().host() + ":" + inbound.port() + " -> app "
                    + config.app().host() + ":" + config.app().port());
            for (ProxyConfig.PortSettings port : config.inbound().ports()) {
                System.out.println("  port " + port.port() + " (" + port.protocol() + "): " + config.inbound().host() + ":"
                        + inbound.port(port.port()));
            }
            if (outbound != null) {
                System.out.println("  outbound: " + outboundConfig.get().host() + ":" + outbound.port() + " ("
                        + outboundConfig.get().routes().size() + " routes, mTLS with secure naming)");
            }
            System.out.println("  admin:    http://" + adminHost + ":" + admin.port() + "/ready /metrics /certs /config");
            System.out.flush();
            CountDownLatch stopped = new CountDownLatch(1);
            AutoCloseable[] parts = {admin, outbound, clientTls, inbound, accessLog, tls, identityHandle};
            AtomicBoolean closed = new AtomicBoolean();
            Runtime.getRuntime().addShutdownHook(new Thread(() -> {
                if (closed.compareAndSet(false, true)) {
                    closeAll(parts);
                }
                stopped.countDown();
            }, "keel-proxy-shutdown"));
            stopped.await();
            return 0;
        } catch (Exception | Error e) {
            closeAll(new AutoCloseable[] {admin, outbound, clientTls, inbound, accessLog, tls, identityHandle});
            throw e;
        }
    }

    private static void closeAll(AutoCloseable[] parts) {
        for (AutoCloseable part : parts) {
            if (part == null) {
                continue;
            }
            try {
                part.close();
            } catch (Exception e) {
                System.err.println("keel: closing " + part.getClass().getSimpleName() + ": " + e.getMessage());
            }
        }
    }
}
