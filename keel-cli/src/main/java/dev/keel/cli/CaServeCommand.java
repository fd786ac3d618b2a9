package dev.keel.cli;

import dev.keel.ca.CaDirectory;
import dev.keel.ca.CitadelCa;
import dev.keel.ca.IntermediateRenewal;
import dev.keel.ca.IssuancePolicy;
import dev.keel.ca.auth.CallerAuthenticator;
import dev.keel.ca.auth.JwtIssuerAuthenticator;
import dev.keel.ca.auth.KubernetesTokenReviewAuthenticator;
import dev.keel.ca.node.JoinTokens;
import dev.keel.ca.node.KubernetesPodVerifier;
import dev.keel.ca.node.PodVerifier;
import dev.keel.ca.node.RegistrationEntries;
import dev.keel.ca.server.CaServer;
import dev.keel.cli.internal.DurationConverter;
import dev.keel.cli.internal.KeyResolvers;
import dev.keel.identity.KeyType;
import dev.keel.identity.TrustDomain;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code keel ca serve}: runs the CA's gRPC and bundle endpoints until stopped. */
@Command(name = "serve", mixinStandardHelpOptions = true,
        description = "Serve Istio's IstioCertificateService and keel.ca.v1 over gRPC/TLS, and the SPIFFE bundle endpoint over HTTPS.")
final class CaServeCommand implements Callable<Integer> {

    @Option(names = "--data-dir", defaultValue = ".keel/ca", description = "CA data directory (default: ${DEFAULT-VALUE})")
    Path dataDir;

    @Option(names = "--host", defaultValue = "0.0.0.0", description = "Address to bind (default: ${DEFAULT-VALUE})")
    String host;

    @Option(names = "--port", defaultValue = "15012", description = "gRPC port (default: ${DEFAULT-VALUE})")
    int port;

    @Option(names = "--bundle-port", defaultValue = "15014", description = "Bundle endpoint port; -1 disables (default: ${DEFAULT-VALUE})")
    int bundlePort;

    @Option(names = "--serving-host", split = ",", defaultValue = "localhost,127.0.0.1",
            description = "Host names and IPs put in the CA's serving certificate (default: ${DEFAULT-VALUE})")
    List<String> servingHosts;

    @Option(names = "--default-ttl", defaultValue = "24h", converter = DurationConverter.class,
            description = "SVID lifetime when none is requested (default: ${DEFAULT-VALUE})")
    Duration defaultTtl;

    @Option(names = "--max-ttl", defaultValue = "90d", converter = DurationConverter.class,
            description = "Longer requests are capped to this (default: ${DEFAULT-VALUE})")
    Duration maxTtl;

    @Option(names = "--k8s-token-review",
            description = "Authenticate service-account tokens with the Kubernetes TokenReview API (in-cluster or kubeconfig)")
    boolean tokenReview;

    @Option(names = "--k8s-audience", split = ",", defaultValue = "istio-ca",
            description = "Audiences a service-account token must carry, for --k8s-token-review and --jwt-issuer (default: ${DEFAULT-VALUE})")
    List<String> audiences;

    @Option(names = "--jwt-issuer",
            description = "Authenticate service-account tokens locally: the issuer (iss) they must carry")
    String jwtIssuer;

    @Option(names = "--jwt-jwks", description = "With --jwt-issuer: a JWKS file, or an https:// URL to fetch it from")
    String jwtJwks;

    @Option(names = "--kubernetes-pods",
            description = "Kubernetes mode for node agents: check through the Kubernetes API (in-cluster or kubeconfig) "
                    + "that a pod an agent asks for runs on that agent's node (needs 'get' on pods)")
    boolean kubernetesPods;

    @Option(names = "--trust-domain", defaultValue = "cluster.local",
            description = "Trust domain when the data directory holds no CA yet and one is created (default: ${DEFAULT-VALUE})")
    String trustDomain;

    @Override
    public Integer call() throws Exception {
        if (!Files.exists(dataDir.resolve(CaDirectory.CONFIG))) {
            // Istio's istiod does the same: no plugged-in cacerts means a self-signed CA of its own.
            CaDirectory.initSelfSigned(dataDir, TrustDomain.parse(trustDomain), KeyType.EC_P256, Clock.systemUTC());
            System.out.println("no CA in " + dataDir.toAbsolutePath() + ": created a self-signed one for " + trustDomain);
        }
        CaDirectory.LoadedCa loaded = CaDirectory.load(dataDir, Clock.systemUTC(), KeyResolvers.forDataDir(dataDir));
        IssuancePolicy policy = new IssuancePolicy(defaultTtl, maxTtl, IssuancePolicy.DEFAULT.backdate());
        List<CallerAuthenticator> tokens = new ArrayList<>();
        KubernetesClient kubernetes = null;
        if (tokenReview || kubernetesPods) {
            kubernetes = new KubernetesClientBuilder().build();
        }
        if (tokenReview) {
            tokens.add(KubernetesTokenReviewAuthenticator.builder(kubernetes, loaded.config().trustDomain())
                    .audiences(audiences)
                    .build());
        }
        if (jwtIssuer != null) {
            if (jwtJwks == null) {
                throw new IllegalArgumentException("--jwt-issuer needs --jwt-jwks (a JWKS file or an https:// URL)");
            }
            JwtIssuerAuthenticator.Builder jwt = JwtIssuerAuthenticator.builder(loaded.config().trustDomain(), jwtIssuer)
                    .audiences(audiences);
            if (jwtJwks.startsWith("https://")) {
                jwt.jwksUri(URI.create(jwtJwks));
            } else {
                jwt.jwks(Files.readString(Path.of(jwtJwks)));
            }
            tokens.add(jwt.build());
        }
        PodVerifier pods = kubernetesPods ? KubernetesPodVerifier.create(kubernetes) : PodVerifier.none();
        CountDownLatch stopped = new CountDownLatch(1);
        try (CitadelCa ca = CitadelCa.open(loaded, KeyResolvers.forDataDir(dataDir), policy, tokens, pods, Clock.systemUTC());
                CaServer server = CaServer.builder(ca)
                        .host(host).grpcPort(port).bundlePort(bundlePort).servingHosts(servingHosts)
                        .build().start()) {
            IntermediateRenewal renewal = new IntermediateRenewal(KeyResolvers.successors(),
                    Optional.ofNullable(loaded.config().upstream()).map(KeyResolvers::upstream));
            renewIntermediate(ca, renewal);
            ScheduledExecutorService maintenance = Executors.newSingleThreadScheduledExecutor(runnable -> {
                Thread thread = new Thread(runnable, "keel-ca-maintenance");
                thread.setDaemon(true);
                return thread;
            });
            java.security.cert.X509Certificate issuing = loaded.signingCa().certificate();
            long every = checkInterval(Duration.between(issuing.getNotBefore().toInstant(),
                    issuing.getNotAfter().toInstant())).toMillis();
            maintenance.scheduleWithFixedDelay(() -> renewIntermediate(ca, renewal), every, every, TimeUnit.MILLISECONDS);
            Runtime.getRuntime().addShutdownHook(new Thread(() -> {
                maintenance.shutdownNow();
                server.close();
                ca.close();
                stopped.countDown();
            }, "keel-ca-shutdown"));
            System.out.println("keel CA for " + loaded.config().trustDomain() + " serving");
            System.out.println("  gRPC (IstioCertificateService, keel.ca.v1): " + host + ":" + server.grpcPort());
            if (server.bundlePort() >= 0) {
                System.out.println("  SPIFFE bundle endpoint:                     https://" + host + ":" + server.bundlePort() + "/");
            }
            System.out.println("  node attestation (keel ca token|entry):     " + dataDir.resolve(JoinTokens.FILE) + ", "
                    + dataDir.resolve(RegistrationEntries.FILE) + (kubernetesPods ? "; pods checked with the Kubernetes API" : ""));
            System.out.println("  audit log:                                  " + loaded.auditLog());
            System.out.flush();
            stopped.await();
        } finally {
            if (kubernetes != null) {
                kubernetes.close();
            }
        }
        return 0;
    }

    /**
     * How often renewal is checked: a twentieth of the issuing intermediate's lifetime, between 1 s and
     * 1 h, so that a short-lived intermediate under Vault is renewed near half its life and a failed
     * attempt is retried many times before the old one runs out.
     */
    static Duration checkInterval(Duration lifetime) {
        Duration every = lifetime.dividedBy(20);
        return every.compareTo(Duration.ofSeconds(1)) < 0 ? Duration.ofSeconds(1)
                : every.compareTo(Duration.ofHours(1)) > 0 ? Duration.ofHours(1) : every;
    }

    private static void renewIntermediate(CitadelCa ca, IntermediateRenewal renewal) {
        try {
            java.security.cert.X509Certificate before = ca.loaded().signingCa().certificate();
            if (ca.renewIntermediateIfDue(renewal)) {
                java.security.cert.X509Certificate now = ca.loaded().signingCa().certificate();
                System.out.println("renewed the issuing intermediate: serial " + now.getSerialNumber().toString(16)
                        + ", key " + ca.loaded().signingCa().key().id() + ", expires " + now.getNotAfter().toInstant()
                        + "; the previous one (serial " + before.getSerialNumber().toString(16) + ") stays valid until "
                        + before.getNotAfter().toInstant());
                System.out.flush();
            }
        } catch (java.io.IOException | RuntimeException e) {
            // keep issuing from the current intermediate, still valid; the next run retries
            System.err.println("keel: cannot renew the issuing intermediate: " + e.getMessage());
        }
    }
}
