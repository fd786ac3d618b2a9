package dev.keel.proxy.inbound;

import dev.keel.proxy.ProxyMetrics;
import io.netty.util.AttributeKey;

/**
 * What the proxy knows about one downstream connection once TLS (or plaintext) is settled: the peer's
 * SPIFFE ID (the source principal), the hash of its leaf certificate for XFCC, and the labels every
 * metric of the connection shares. Written once on the event loop before any request is read.
 */
final class ConnectionInfo {

    static final AttributeKey<ConnectionInfo> KEY = AttributeKey.valueOf("keel.inbound.connection");

    static final String MUTUAL_TLS = "mutual_tls";
    static final String NONE = "none";

    final ListenerSpec listener;
    final String remoteIp;
    final int remotePort;
    final String localIp;
    /** {@code spiffe://...} of the peer, or null on plaintext. */
    String sourcePrincipal;
    /** Hex SHA-256 of the peer's leaf certificate (DER), or null. */
    String peerCertificateHash;
    String securityPolicy = NONE;
    /** True when the connection is TLS, with or without a client certificate. */
    boolean tls;
    String sni;

    ConnectionInfo(ListenerSpec listener, String remoteIp, int remotePort, String localIp) {
        this.listener = listener;
        this.remoteIp = remoteIp;
        this.remotePort = remotePort;
        this.localIp = localIp;
    }

    boolean mutualTls() {
        return sourcePrincipal != null;
    }

    /** The labels of {@link ProxyMetrics#labelNames()} for this connection; response code and flags to fill. */
    String[] requestLabels(String destinationPrincipal, String destinationWorkload, String destinationNamespace,
            String protocol) {
        return new String[] {"destination", orUnknown(sourcePrincipal), "unknown", orUnknown(sourceNamespace()),
                destinationPrincipal, destinationWorkload, destinationNamespace, protocol, "", "-", securityPolicy};
    }

    /** The labels of {@link ProxyMetrics#tcpLabelNames()}. */
    String[] tcpLabels(String destinationPrincipal, String destinationWorkload, String destinationNamespace, String flags) {
        return new String[] {"destination", orUnknown(sourcePrincipal), "unknown", orUnknown(sourceNamespace()),
                destinationPrincipal, destinationWorkload, destinationNamespace, "tcp", flags, securityPolicy};
    }

    String sourceNamespace() {
        if (sourcePrincipal == null) {
            return null;
        }
        int ns = sourcePrincipal.indexOf("/ns/");
        if (ns < 0) {
            return null;
        }
        int sa = sourcePrincipal.indexOf("/sa/", ns + 4);
        return sa < 0 ? null : sourcePrincipal.substring(ns + 4, sa);
    }

    private static String orUnknown(String s) {
        return s == null ? "unknown" : s;
    }
}
