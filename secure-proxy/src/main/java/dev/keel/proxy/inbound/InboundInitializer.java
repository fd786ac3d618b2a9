package dev.keel.proxy.inbound;

import dev.keel.authz.Protocol;
import dev.keel.identity.SpiffeId;
import dev.keel.policy.PeerAuthentication.MutualTLS.Mode;
import dev.keel.proxy.ProxyConfig;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelPipeline;
import io.netty.channel.socket.SocketChannel;
import io.netty.handler.codec.http2.Http2FrameCodecBuilder;
import io.netty.handler.flush.FlushConsolidationHandler;
import io.netty.handler.codec.http2.Http2Settings;
import io.netty.handler.ssl.ApplicationProtocolNames;
import io.netty.handler.ssl.ApplicationProtocolNegotiationHandler;
import io.netty.handler.ssl.SslHandler;
import java.net.InetSocketAddress;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.cert.Certificate;
import java.security.cert.CertificateEncodingException;
import java.security.cert.CertificateParsingException;
import java.security.cert.X509Certificate;
import java.util.HexFormat;
import java.util.List;
import javax.net.ssl.ExtendedSSLSession;
import javax.net.ssl.SNIHostName;
import javax.net.ssl.SNIServerName;
import javax.net.ssl.SSLPeerUnverifiedException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Sets up each accepted connection of one listener: the PeerAuthentication mode of the listener's
 * port (read from the pipeline in force when the connection arrives) decides between TLS, plaintext
 * and detecting which from the first bytes; then HTTP/1.1, HTTP/2 (ALPN h2, or h2c prior knowledge)
 * or the TCP relay. Shared by the listener's connections; stateless.
 */
final class InboundInitializer extends ChannelInitializer<SocketChannel> {

    private static final Logger LOG = LoggerFactory.getLogger(InboundInitializer.class);

    private final InboundServices services;
    private final ListenerSpec spec;

    InboundInitializer(InboundServices services, ListenerSpec spec) {
        this.services = services;
        this.spec = spec;
    }

    @Override
    protected void initChannel(SocketChannel ch) {
        InetSocketAddress remote = ch.remoteAddress();
        InetSocketAddress local = ch.localAddress();
        ConnectionInfo info = new ConnectionInfo(spec, remote.getAddress().getHostAddress(), remote.getPort(),
                local.getAddress().getHostAddress());
        ch.attr(ConnectionInfo.KEY).set(info);
        ProxyConfig.Limits limits = services.config().limits();
        ChannelPipeline p = ch.pipeline();
        p.addLast("idle", new IdleTimeout(limits.idleTimeout().toMillis()));
        Mode mode = services.pipelines().current().mode(spec.targetPort());
        switch (mode) {
            case STRICT -> addTls(ch, info, true);
            case DISABLE -> addPlaintext(ch, info);
            default -> p.addLast("detect-tls", new TlsDetector(this, info));
        }
    }

    /** TLS with the current server context; ALPN then picks the application protocol. */
    void addTls(Channel ch, ConnectionInfo info, boolean requireClientCertificate) {
        SslHandler ssl = services.tls().current(requireClientCertificate).newHandler(ch.alloc());
        ch.pipeline().addLast("tls", ssl);
        ch.pipeline().addLast("alpn", new AlpnHandler(info, ssl));
    }

    void addPlaintext(Channel ch, ConnectionInfo info) {
        info.securityPolicy = ConnectionInfo.NONE;
        services.plaintextPeers().record(info.remoteIp, spec.targetPort());
        if (spec.protocol() == Protocol.TCP) {
            addTcp(ch, info);
        } else {
            ch.pipeline().addLast("detect-h2c", new H2cDetector(this, info));
        }
    }

    void addTcp(Channel ch, ConnectionInfo info) {
        ch.pipeline().addLast("tcp", new TcpRelayHandler(services, info));
    }

    /** Requests decoded on the bytes, whole; responses written as bytes (no HTTP message objects either way). */
    void addHttp1(Channel ch, ConnectionInfo info) {
        ChannelPipeline p = ch.pipeline();
        p.addLast("h1-decoder", new Http1RequestDecoder(services, info));
        p.addLast("h1-server", new Http1ServerHandler(new RequestFlow(services, info)));
    }

    void addHttp2(Channel ch, ConnectionInfo info) {
        ProxyConfig.Limits limits = services.config().limits();
        ChannelPipeline p = ch.pipeline();
        // Both ALPN h2 and h2c detection leave the connection preface in the byte stream.
        p.addLast("h2-header-timeout", new Http2HeaderTimeout(services, info, true));
        // Responses of many streams finish in the same event-loop turn (their upstream reads are ready
        // together); one flush for all of them means one TLS record and one write instead of one each.
        p.addLast("h2-flush", new FlushConsolidationHandler(FlushConsolidationHandler.DEFAULT_EXPLICIT_FLUSH_AFTER_FLUSHES,
                true));
        p.addLast("h2-codec", Http2FrameCodecBuilder.forServer()
                .initialSettings(Http2Settings.defaultSettings()
                        .maxConcurrentStreams(limits.maxConcurrentStreams())
                        .maxHeaderListSize(limits.maxHeaderBytes()))
                .validateHeaders(true)
                .build());
        // One handler for every stream of the connection, on the frames: no child channel, pipeline or
        // HTTP/1 message objects per stream.
        p.addLast("h2-request", new Http2RequestHandler(services, info, new RequestFlow(services, info)));
    }

    /** After the handshake: the peer's identity, then the protocol ALPN chose (http/1.1 without ALPN). */
    private final class AlpnHandler extends ApplicationProtocolNegotiationHandler {
        private final ConnectionInfo info;
        private final SslHandler ssl;

        AlpnHandler(ConnectionInfo info, SslHandler ssl) {
            super(ApplicationProtocolNames.HTTP_1_1);
            this.info = info;
            this.ssl = ssl;
        }

        @Override
        protected void configurePipeline(ChannelHandlerContext ctx, String protocol) {
            readPeer(info, ssl);
            if (!ConnectionInfo.MUTUAL_TLS.equals(info.securityPolicy)) {
                services.plaintextPeers().record(info.remoteIp, spec.targetPort()); // PERMISSIVE: TLS without a client certificate
            }
            if (spec.protocol() == Protocol.TCP) {
                addTcp(ctx.channel(), info);
            } else if (ApplicationProtocolNames.HTTP_2.equals(protocol)) {
                addHttp2(ctx.channel(), info);
            } else {
                addHttp1(ctx.channel(), info);
            }
        }

        @Override
        protected void handshakeFailure(ChannelHandlerContext ctx, Throwable cause) {
            LOG.debug("TLS handshake with {} failed: {}", ctx.channel().remoteAddress(), cause.toString());
            ctx.close();
        }
    }

    /** Fills the connection's source principal and certificate hash from the verified peer chain. */
    static void readPeer(ConnectionInfo info, SslHandler ssl) {
        info.securityPolicy = ConnectionInfo.NONE;
        info.tls = true;
        try {
            if (ssl.engine().getSession() instanceof ExtendedSSLSession session) {
                for (SNIServerName name : session.getRequestedServerNames()) {
                    if (name instanceof SNIHostName host) {
                        info.sni = host.getAsciiName();
                    }
                }
            }
        } catch (UnsupportedOperationException e) {
            LOG.trace("no SNI from this engine", e);
        }
        Certificate[] peer;
        try {
            peer = ssl.engine().getSession().getPeerCertificates();
        } catch (SSLPeerUnverifiedException e) {
            return; // PERMISSIVE: TLS without a client certificate is not mutual TLS
        }
        if (peer.length == 0 || !(peer[0] instanceof X509Certificate leaf)) {
            return;
        }
        String id = uriSan(leaf);
        if (id == null) {
            return;
        }
        info.sourcePrincipal = id;
        info.peerCertificateHash = sha256Hex(leaf);
        info.securityPolicy = ConnectionInfo.MUTUAL_TLS;
    }

    private static String uriSan(X509Certificate leaf) {
        try {
            if (leaf.getSubjectAlternativeNames() == null) {
                return null;
            }
            for (List<?> san : leaf.getSubjectAlternativeNames()) {
                if (Integer.valueOf(6).equals(san.get(0))) {
                    return SpiffeId.parse((String) san.get(1)).toString();
                }
            }
        } catch (CertificateParsingException | RuntimeException e) {
            LOG.debug("unreadable peer SAN", e);
        }
        return null;
    }

    private static String sha256Hex(X509Certificate cert) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(cert.getEncoded()));
        } catch (NoSuchAlgorithmException | CertificateEncodingException e) {
            throw new IllegalStateException(e);
        }
    }
}
