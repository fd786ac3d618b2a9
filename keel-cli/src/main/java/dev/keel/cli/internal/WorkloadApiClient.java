package dev.keel.cli.internal;

import dev.keel.proto.workload.JWTSVIDRequest;
import dev.keel.proto.workload.JWTSVIDResponse;
import dev.keel.proto.workload.SpiffeWorkloadAPIGrpc;
import dev.keel.proto.workload.X509SVIDRequest;
import dev.keel.proto.workload.X509SVIDResponse;
import io.grpc.ClientInterceptors;
import io.grpc.Context;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.MetadataUtils;
import io.grpc.stub.StreamObserver;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.epoll.EpollDomainSocketChannel;
import io.netty.channel.epoll.EpollEventLoopGroup;
import io.netty.channel.unix.DomainSocketAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A small SPIFFE Workload API client for the {@code keel svid} commands: one Unix-socket channel,
 * the {@code workload.spiffe.io: true} security header on every call.
 */
public final class WorkloadApiClient implements AutoCloseable {

    private static final Metadata.Key<String> SECURITY_HEADER =
            Metadata.Key.of("workload.spiffe.io", Metadata.ASCII_STRING_MARSHALLER);

    private final EventLoopGroup group;
    private final ManagedChannel channel;
    private final SpiffeWorkloadAPIGrpc.SpiffeWorkloadAPIStub async;
    private final SpiffeWorkloadAPIGrpc.SpiffeWorkloadAPIBlockingStub blocking;

    public WorkloadApiClient(Path socket) {
        group = new EpollEventLoopGroup(1, r -> {
            Thread t = new Thread(r, "keel-workload-api-client");
            t.setDaemon(true);
            return t;
        });
        channel = NettyChannelBuilder.forAddress(new DomainSocketAddress(socket.toString()))
                .eventLoopGroup(group)
                .channelType(EpollDomainSocketChannel.class)
                .usePlaintext()
                // gRPC asks every transport for TCP keepalive; on a Unix socket Netty warns about it each connect.
                .withOption(ChannelOption.SO_KEEPALIVE, null)
                .maxInboundMessageSize(64 * 1024 * 1024)
                .build();
        Metadata header = new Metadata();
        header.put(SECURITY_HEADER, "true");
        var intercepted = ClientInterceptors.intercept(channel, MetadataUtils.newAttachHeadersInterceptor(header));
        async = SpiffeWorkloadAPIGrpc.newStub(intercepted);
        blocking = SpiffeWorkloadAPIGrpc.newBlockingStub(intercepted);
    }

    /** The first X509SVIDResponse of the stream, waiting at most {@code timeout}. */
    public X509SVIDResponse fetchX509(Duration timeout) {
        Context.CancellableContext context = Context.current().withCancellation();
        try {
            return context.call(() -> {
                Iterator<X509SVIDResponse> stream = blocking.withDeadlineAfter(timeout.toMillis(), TimeUnit.MILLISECONDS)
                        .fetchX509SVID(X509SVIDRequest.getDefaultInstance());
                return stream.next();
            });
        } catch (RuntimeException e) {
            throw e;
        } catch (Exception e) {
            throw new IllegalStateException(e);
        } finally {
            // The stream stays open on the server until cancelled; a one-shot fetch closes it.
            context.cancel(null);
        }
    }

    public JWTSVIDResponse fetchJwt(List<String> audience, String spiffeId, Duration timeout) {
        JWTSVIDRequest.Builder request = JWTSVIDRequest.newBuilder().addAllAudience(audience);
        if (spiffeId != null) {
            request.setSpiffeId(spiffeId);
        }
        return blocking.withDeadlineAfter(timeout.toMillis(), TimeUnit.MILLISECONDS).fetchJWTSVID(request.build());
    }

    /** Streams X509SVIDResponses to {@code observer} until the context is cancelled or the stream ends. */
    public void watchX509(StreamObserver<X509SVIDResponse> observer) {
        async.fetchX509SVID(X509SVIDRequest.getDefaultInstance(), observer);
    }

    @Override
    public void close() {
        channel.shutdownNow();
        try {
            channel.awaitTermination(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS);
    }
}
