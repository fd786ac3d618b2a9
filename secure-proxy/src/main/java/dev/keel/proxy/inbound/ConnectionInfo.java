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
    /** {@code ip:port} of the peer and of the app, for the access log; built once per connection. */
    final String downstream;
    final String upstream;
    /** The {@code x-forwarded-client-cert} value for this peer, built on first use. */
    private String xfcc;
    /** Request metric series already looked up for this connection; see {@link #requestSeries}. */
    private final SeriesKey[] series = new SeriesKey[MAX_SERIES];
    private int seriesCount;
    private static final int MAX_SERIES = 8;

    private record SeriesKey(String protocol, int status, String flags, ProxyMetrics.RequestSeries series) {
    }

    ConnectionInfo(ListenerSpec listener, String remoteIp, int remotePort, String localIp) {
        this.listener = listener;
        this.remoteIp = remoteIp;
        this.remotePort = remotePort;
        this.localIp = localIp;
        this.downstream = remoteIp + ":" + remotePort;
        this.upstream = listener.upstream().getHostString() + ":" + listener.upstream().getPort();
    }

    /**
     * The request metrics for this connection's labels with {@code protocol}, {@code status} and
     * {@code flags}. A connection sees few such combinations, so they are kept and the registry's label
     * lookup (hashing every label) is paid once per combination, not per request. Event loop only:
     * HTTP/2 streams run on their connection's loop.
     */
    ProxyMetrics.RequestSeries requestSeries(InboundServices services, String protocol, int status, String flags) {
        for (int i = 0; i < seriesCount; i++) {
            SeriesKey k = series[i];
            if (k.status == status && k.protocol.equals(protocol) && k.flags.equals(flags)) {
                return k.series;
            }
        }
        String[] labels = requestLabels(services.ownSpiffeId(), services.destinationWorkload(),
                services.destinationNamespace(), protocol);
        labels[8] = Integer.toString(status);
        labels[9] = flags;
        ProxyMetrics.RequestSeries s = services.metrics().requestSeries(labels);
        if (seriesCount < MAX_SERIES) {
            series[seriesCount++] = new SeriesKey(protocol, status, flags, s);
        }
        return s;
    }

    /** Envoy's {@code By=<us>;Hash=<peer cert sha256>;URI=<peer>}; null without a client certificate. */
    String xfcc(String ownSpiffeId) {
        if (sourcePrincipal == null) {
            return null;
        }
        if (xfcc == null) {
            xfcc = "By=" + ownSpiffeId + ";Hash=" + peerCertificateHash + ";URI=" + sourcePrincipal;
        }
        return xfcc;
    }

    boolean mutualTls() {
        return sourcePrincipal != null;
    }

    /** The labels of {@link ProxyMetrics#labelNames()} for this connection; response code and flags to fill. */
    String[] requestLabels(String destinationPrincipal, String destinationWorkload, String destinationNamespace,
            String protocol) {
        return new String[] {"destination", orUnknown(sourcePrincipal), orUnknown(sourceWorkload()),
                orUnknown(sourceNamespace()), destinationPrincipal, destinationWorkload, destinationNamespace, protocol, "",
                "-", securityPolicy};
    }

    /** The labels of {@link ProxyMetrics#tcpLabelNames()}. */
    String[] tcpLabels(String destinationPrincipal, String destinationWorkload, String destinationNamespace, String flags) {
        return new String[] {"destination", orUnknown(sourcePrincipal), orUnknown(sourceWorkload()),
                orUnknown(sourceNamespace()), destinationPrincipal, destinationWorkload, destinationNamespace, "tcp", flags,
                securityPolicy};
    }

    /** {@code <ns>} of a peer {@code spiffe://<td>/ns/<ns>/sa/<sa>}; null for another shape or no peer. */
    String sourceNamespace() {
        int ns = nsIndex();
        if (ns < 0) {
            return null;
        }
        int sa = sourcePrincipal.indexOf("/sa/", ns + 4);
        return sa < 0 || sa == ns + 4 ? null : sourcePrincipal.substring(ns + 4, sa);
    }

    /**
     * The peer's service account {@code <sa>} of {@code spiffe://<td>/ns/<ns>/sa/<sa>}, standing in for
     * the workload name. Istio takes {@code source_workload} from peer metadata exchanged in-band
     * (the Deployment's name); Keel exchanges none, so the best name the peer has proven is its service
     * account, which Kubernetes deployments conventionally name after the workload. Null for another
     * SPIFFE ID shape or no peer (the label is then {@code unknown}, as Istio reports it).
     */
    String sourceWorkload() {
        int ns = nsIndex();
        if (ns < 0) {
            return null;
        }
        int sa = sourcePrincipal.indexOf("/sa/", ns + 4);
        if (sa < 0 || sa == ns + 4) {
            return null;
        }
        int start = sa + 4;
        int end = sourcePrincipal.indexOf('/', start);
        // Only exactly .../sa/<name>: a longer path is some other ID scheme and proves no service account.
        return end >= 0 || start == sourcePrincipal.length() ? null : sourcePrincipal.substring(start);
    }

    private int nsIndex() {
        if (sourcePrincipal == null || !sourcePrincipal.startsWith("spiffe://")) {
            return -1;
        }
        int path = sourcePrincipal.indexOf('/', "spiffe://".length());
        return path >= 0 && sourcePrincipal.startsWith("/ns/", path) ? path : -1;
    }

    private static String orUnknown(String s) {
        return s == null ? "unknown" : s;
    }
}
