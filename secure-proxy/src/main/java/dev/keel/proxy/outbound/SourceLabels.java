package dev.keel.proxy.outbound;

import dev.keel.identity.SpiffeId;
import dev.keel.proxy.ProxyMetrics;
import java.util.Optional;
import java.util.function.Supplier;

/**
 * The values of Istio's standard labels as the source side reports them ({@code reporter="source"}):
 * this proxy is the source, the destination is whoever passed secure naming. Workload names are the
 * service accounts of the SPIFFE IDs (what both sides can know without metadata exchange);
 * {@code connection_security_policy} is {@code unknown}, as Istio reports it from the source.
 * Stateless apart from reading the current own identity; thread-safe.
 */
final class SourceLabels {

    private static final String UNKNOWN = "unknown";

    private final Supplier<Optional<SpiffeId>> self;

    SourceLabels(Supplier<Optional<SpiffeId>> self) {
        this.self = self;
    }

    /** Values for {@link ProxyMetrics#labelNames()}; {@code peer} null when no upstream was reached. */
    String[] request(RouteTable.Route route, SpiffeId peer, String protocol, int status, String flags) {
        Optional<SpiffeId> own = self.get();
        return new String[] {
            "source",
            own.map(SpiffeId::toString).orElse(UNKNOWN),
            own.map(SourceLabels::serviceAccount).orElse(UNKNOWN),
            own.map(SourceLabels::namespace).orElse(UNKNOWN),
            peer == null ? UNKNOWN : peer.toString(),
            peer == null ? UNKNOWN : serviceAccount(peer),
            peer == null ? UNKNOWN : namespace(peer),
            protocol,
            Integer.toString(status),
            flags,
            UNKNOWN,
        };
    }

    /** Values for {@link ProxyMetrics#tcpLabelNames()}. */
    String[] tcp(SpiffeId peer, String flags) {
        Optional<SpiffeId> own = self.get();
        return new String[] {
            "source",
            own.map(SpiffeId::toString).orElse(UNKNOWN),
            own.map(SourceLabels::serviceAccount).orElse(UNKNOWN),
            own.map(SourceLabels::namespace).orElse(UNKNOWN),
            peer == null ? UNKNOWN : peer.toString(),
            peer == null ? UNKNOWN : serviceAccount(peer),
            peer == null ? UNKNOWN : namespace(peer),
            "tcp",
            flags,
            UNKNOWN,
        };
    }

    static String namespace(SpiffeId id) {
        return segmentAfter(id, "ns");
    }

    static String serviceAccount(SpiffeId id) {
        return segmentAfter(id, "sa");
    }

    private static String segmentAfter(SpiffeId id, String key) {
        String[] segments = id.path().split("/");
        for (int i = 0; i + 1 < segments.length; i++) {
            if (segments[i].equals(key)) {
                return segments[i + 1];
            }
        }
        return UNKNOWN;
    }
}
