package dev.keel.agent.workloadapi;

import dev.keel.proto.workload.SpiffeWorkloadAPIGrpc;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.MetadataUtils;
import io.grpc.stub.StreamObserver;
import io.netty.channel.epoll.EpollDomainSocketChannel;
import io.netty.channel.epoll.EpollEventLoopGroup;
import io.netty.channel.unix.DomainSocketAddress;
import java.nio.file.Path;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * A plain gRPC client of the Workload API over the Unix socket, built here from Keel's own generated
 * stubs, so tests control exactly what is sent (or left out, like the security header).
 */
final class RawClient implements AutoCloseable {

    private final EpollEventLoopGroup group = new EpollEventLoopGroup(1);
    private final ManagedChannel channel;

    RawClient(Path socket) {
        channel = NettyChannelBuilder.forAddress(new DomainSocketAddress(socket.toString()))
                .eventLoopGroup(group)
                .channelType(EpollDomainSocketChannel.class)
                .usePlaintext()
                .build();
    }

    /** A blocking stub that sends {@code workload.spiffe.io: <value>}, or no such header when null. */
    SpiffeWorkloadAPIGrpc.SpiffeWorkloadAPIBlockingStub blocking(String securityHeader) {
        return SpiffeWorkloadAPIGrpc.newBlockingStub(channel).withInterceptors(
                MetadataUtils.newAttachHeadersInterceptor(headers(securityHeader)));
    }

    SpiffeWorkloadAPIGrpc.SpiffeWorkloadAPIBlockingStub blocking() {
        return blocking("true");
    }

    SpiffeWorkloadAPIGrpc.SpiffeWorkloadAPIStub async() {
        return SpiffeWorkloadAPIGrpc.newStub(channel).withInterceptors(MetadataUtils.newAttachHeadersInterceptor(headers("true")));
    }

    private static Metadata headers(String securityHeader) {
        Metadata headers = new Metadata();
        if (securityHeader != null) {
            headers.put(CallerInterceptor.SECURITY_HEADER, securityHeader);
        }
        return headers;
    }

    @Override
    public void close() throws InterruptedException {
        channel.shutdownNow();
        channel.awaitTermination(5, TimeUnit.SECONDS);
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS).await(5, TimeUnit.SECONDS);
    }

    /** Records what a stream delivers: responses, then a {@link StatusRuntimeException} or {@link #COMPLETED}. */
    static final class Recorder<T> implements StreamObserver<T> {

        static final Object COMPLETED = new Object();

        private final BlockingQueue<Object> events = new LinkedBlockingQueue<>();

        @Override
        public void onNext(T value) {
            events.add(value);
        }

        @Override
        public void onError(Throwable t) {
            events.add(t);
        }

        @Override
        public void onCompleted() {
            events.add(COMPLETED);
        }

        /** The next event; fails the test if none comes within ten seconds (a hang, not a timing check). */
        Object next() throws InterruptedException {
            Object event = events.poll(10, TimeUnit.SECONDS);
            if (event == null) {
                throw new AssertionError("no stream event within 10 s");
            }
            return event;
        }

        @SuppressWarnings("unchecked")
        T nextResponse() throws InterruptedException {
            Object event = next();
            if (event instanceof Throwable) {
                throw new AssertionError("expected a response, got " + event, (Throwable) event);
            }
            if (event == COMPLETED) {
                throw new AssertionError("expected a response, the stream completed");
            }
            return (T) event;
        }

        StatusRuntimeException nextError() throws InterruptedException {
            Object event = next();
            if (!(event instanceof StatusRuntimeException)) {
                throw new AssertionError("expected an error status, got " + event);
            }
            return (StatusRuntimeException) event;
        }

        boolean isEmpty() {
            return events.isEmpty();
        }
    }
}
