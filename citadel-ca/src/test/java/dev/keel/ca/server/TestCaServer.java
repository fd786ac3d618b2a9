package dev.keel.ca.server;

import dev.keel.ca.CaDirectory;
import dev.keel.ca.CitadelCa;
import dev.keel.ca.IssuancePolicy;
import dev.keel.ca.KeyResolver;
import dev.keel.ca.auth.CallerAuthenticator;
import dev.keel.ca.node.PodVerifier;
import dev.keel.identity.KeyType;
import dev.keel.identity.TrustDomain;
import io.grpc.ManagedChannel;
import io.grpc.netty.GrpcSslContexts;
import io.grpc.netty.NettyChannelBuilder;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslProvider;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.util.List;

/**
 * A self-signed CA in a temporary data directory, served over gRPC/TLS and HTTPS on loopback
 * (free ports), and clients for it: the shared setup of the end-to-end tests.
 */
final class TestCaServer implements AutoCloseable {

    final Path dataDir;
    final CitadelCa ca;
    final CaServer server;
    final X509Certificate root;

    private TestCaServer(Path dataDir, CitadelCa ca, CaServer server) {
        this.dataDir = dataDir;
        this.ca = ca;
        this.server = server;
        this.root = ca.loaded().signingCa().roots().get(0);
    }

    /** Creates a CA for cluster.local in {@code dataDir} and starts serving it. */
    static TestCaServer start(Path dataDir, List<CallerAuthenticator> tokenAuthenticators, PodVerifier pods)
            throws Exception {
        CaDirectory.LoadedCa loaded = CaDirectory.initSelfSigned(dataDir, TrustDomain.CLUSTER_LOCAL, KeyType.EC_P256,
                Clock.systemUTC());
        CitadelCa ca = CitadelCa.open(loaded, KeyResolver.files(dataDir), IssuancePolicy.DEFAULT, tokenAuthenticators,
                pods, Clock.systemUTC());
        CaServer server = CaServer.builder(ca).host("127.0.0.1").grpcPort(0).bundlePort(0).build().start();
        return new TestCaServer(dataDir, ca, server);
    }

    /** A TLS channel that trusts the CA's root and, when {@code clientKey} is given, presents {@code clientChain}. */
    ManagedChannel channel(KeyPair clientKey, List<X509Certificate> clientChain) throws Exception {
        SslContextBuilder tls = GrpcSslContexts.configure(SslContextBuilder.forClient(), SslProvider.OPENSSL)
                .trustManager(root);
        if (clientKey != null) {
            tls.keyManager(clientKey.getPrivate(), clientChain.toArray(new X509Certificate[0]));
        }
        return NettyChannelBuilder.forAddress("localhost", server.grpcPort()).sslContext(tls.build()).build();
    }

    /** A server-authenticated TLS channel without a client certificate. */
    ManagedChannel channel() throws Exception {
        return channel(null, null);
    }

    @Override
    public void close() {
        server.close();
        ca.close();
    }
}
