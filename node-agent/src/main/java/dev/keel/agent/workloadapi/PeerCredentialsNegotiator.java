package dev.keel.agent.workloadapi;

import dev.keel.agent.WorkloadProcess;
import io.grpc.Attributes;
import io.grpc.ServerCredentials;
import io.grpc.netty.GrpcHttp2ConnectionHandler;
import io.grpc.netty.InternalNettyServerCredentials;
import io.grpc.netty.InternalProtocolNegotiationEvent;
import io.grpc.netty.InternalProtocolNegotiator;
import io.grpc.netty.InternalProtocolNegotiators;
import io.grpc.netty.ProtocolNegotiationEvent;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.epoll.EpollDomainSocketChannel;
import io.netty.channel.unix.PeerCredentials;
import io.netty.util.AsciiString;
import java.io.IOException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Puts the kernel's peer credentials of each Unix socket connection (SO_PEERCRED: pid, uid, gid at
 * connect time) into the gRPC transport attributes under {@link #WORKLOAD_PROCESS}, where an
 * interceptor reads them with {@code ServerCall.getAttributes()}. Nothing the client sends is used.
 *
 * <p>Why grpc-netty's {@code Internal*} API: gRPC gives a call no access to its Netty channel, and
 * Netty's {@code EpollServerDomainSocketChannel} is final, so the credentials cannot be attached by a
 * public hook. A server protocol negotiator is the one place that sees both the channel and the
 * attributes that gRPC copies into every call of the connection; grpc-netty exposes it only through
 * {@link InternalNettyServerCredentials} and {@link InternalProtocolNegotiators} (the same hooks
 * grpc-xds uses for its security negotiators). This class is the only user of that API, so a grpc
 * upgrade that changes it breaks here and nowhere else; the Workload API tests connect over a real
 * socket and fail if the credentials stop arriving.
 *
 * <p>Pipeline: grpc-netty's wait-until-active handler fires the {@link ProtocolNegotiationEvent} once
 * the channel is active; {@link CaptureHandler} adds the credentials to the event's attributes,
 * replaces itself with gRPC's own negotiation handler and passes the event on. Runs on the event loop;
 * reading SO_PEERCRED is one non-blocking syscall.
 */
final class PeerCredentialsNegotiator implements InternalProtocolNegotiator.ProtocolNegotiator {

    /** The process at the other end of the connection; absent when the kernel could not say. */
    static final Attributes.Key<WorkloadProcess> WORKLOAD_PROCESS = Attributes.Key.create("keel.workload-process");

    private static final Logger log = LoggerFactory.getLogger(PeerCredentialsNegotiator.class);
    private static final AsciiString SCHEME = AsciiString.of("http");

    private PeerCredentialsNegotiator() {
    }

    /** Plaintext server credentials (a Unix socket needs no TLS) that attach the peer credentials. */
    static ServerCredentials serverCredentials() {
        return InternalNettyServerCredentials.create(new PeerCredentialsNegotiator());
    }

    @Override
    public AsciiString scheme() {
        return SCHEME;
    }

    @Override
    public ChannelHandler newHandler(GrpcHttp2ConnectionHandler grpcHandler) {
        return InternalProtocolNegotiators.waitUntilActiveHandler(new CaptureHandler(grpcHandler),
                grpcHandler.getNegotiationLogger());
    }

    @Override
    public void close() {
    }

    /** The process behind {@code channel}, or null when it is not a Unix socket or the kernel refuses. */
    static WorkloadProcess peerOf(Channel channel) {
        if (!(channel instanceof EpollDomainSocketChannel)) {
            log.warn("Workload API connection on {} is not an epoll Unix socket; no peer credentials", channel);
            return null;
        }
        try {
            PeerCredentials credentials = ((EpollDomainSocketChannel) channel).peerCredentials();
            int[] gids = credentials.gids();
            if (credentials.pid() <= 0 || gids.length == 0) {
                log.warn("Workload API connection {}: incomplete peer credentials {}", channel, credentials);
                return null;
            }
            return new WorkloadProcess(credentials.pid(), credentials.uid(), gids[0]);
        } catch (IOException e) {
            log.warn("Workload API connection {}: cannot read SO_PEERCRED: {}", channel, e.toString());
            return null;
        }
    }

    /** Decides once per connection, then removes itself (replaced by gRPC's negotiation handler). */
    private static final class CaptureHandler extends ChannelInboundHandlerAdapter {

        private final GrpcHttp2ConnectionHandler grpcHandler;

        CaptureHandler(GrpcHttp2ConnectionHandler grpcHandler) {
            this.grpcHandler = grpcHandler;
        }

        @Override
        public void userEventTriggered(ChannelHandlerContext ctx, Object evt) throws Exception {
            if (!(evt instanceof ProtocolNegotiationEvent)) {
                super.userEventTriggered(ctx, evt);
                return;
            }
            ProtocolNegotiationEvent event = (ProtocolNegotiationEvent) evt;
            Attributes.Builder attributes = InternalProtocolNegotiationEvent.getAttributes(event).toBuilder();
            WorkloadProcess process = peerOf(ctx.channel());
            if (process != null) {
                attributes.set(WORKLOAD_PROCESS, process);
            }
            // replace() points this context's next at the new handler, so the event fired below reaches it.
            ctx.pipeline().replace(this, null, InternalProtocolNegotiators.grpcNegotiationHandler(grpcHandler));
            ctx.fireUserEventTriggered(InternalProtocolNegotiationEvent.withAttributes(event, attributes.build()));
        }
    }
}
