package dev.keel.cli.internal;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializerProvider;
import com.fasterxml.jackson.databind.module.SimpleModule;
import com.fasterxml.jackson.databind.ser.std.StdSerializer;
import com.fasterxml.jackson.databind.ser.std.ToStringSerializer;
import dev.keel.proxy.ProxyConfig;
import dev.keel.proxy.inbound.InboundProxy;
import dev.keel.proxy.outbound.OutboundConfig;
import dev.keel.proxy.outbound.RouteProtocol;
import dev.keel.proxy.pipeline.Pipeline;
import dev.keel.proxy.pipeline.PipelineHolder;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * What {@code /config} on a proxy's admin port shows: the configuration it was started with and what
 * is in force now, per port the PeerAuthentication mode the policies resolve to, the policy version and
 * why the last update was refused. {@code keel status} and {@code keel audit mtls} read it.
 */
public final class EffectiveProxyConfig {

    /** Durations, paths and optionals as plain strings and values, without Jackson's java.time and jdk8 modules. */
    private static final ObjectMapper PLAIN = new ObjectMapper().registerModule(new SimpleModule()
            .addSerializer(Duration.class, new ToStringSerializer(Duration.class))
            .addSerializer(Path.class, new ToStringSerializer(Path.class))
            .addSerializer(new StdSerializer<Optional<?>>(Optional.class, false) {
                @Override
                public void serialize(Optional<?> value, JsonGenerator gen, SerializerProvider provider) throws IOException {
                    if (value.isPresent()) {
                        provider.defaultSerializeValue(value.get(), gen);
                    } else {
                        gen.writeNull();
                    }
                }
            }));

    private EffectiveProxyConfig() {
    }

    public static Map<String, Object> of(ProxyConfig config, InboundProxy inbound, Optional<OutboundConfig> outbound) {
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("config", PLAIN.valueToTree(config));
        PipelineHolder pipelines = inbound.pipelines();
        Pipeline pipeline = pipelines.current();
        Map<String, Object> effective = new LinkedHashMap<>();
        effective.put("spiffe_id", config.workload().spiffeId());
        effective.put("namespace", config.workload().namespace());
        effective.put("labels", config.workload().labels());
        effective.put("root_namespace", config.rootNamespace());
        effective.put("policy_loaded", pipeline.isLoaded());
        effective.put("policy_version", pipeline.version());
        effective.put("policy_errors", pipelines.errors());
        List<Map<String, Object>> ports = new ArrayList<>();
        ports.add(port(config.app().port(), inbound.port(), "HTTP", pipeline));
        for (ProxyConfig.PortSettings p : config.inbound().ports()) {
            ports.add(port(p.port(), inbound.port(p.port()), p.protocol().name(), pipeline));
        }
        effective.put("ports", ports);
        out.put("effective", effective);
        outbound.ifPresent(o -> {
            Map<String, Object> section = new LinkedHashMap<>();
            section.put("listen", o.host() + ":" + o.port());
            List<Map<String, Object>> routes = new ArrayList<>();
            for (OutboundConfig.Route route : o.routes()) {
                Map<String, Object> r = new LinkedHashMap<>();
                r.put("host", route.host() + ":" + route.port());
                r.put("address", route.address().getHostString() + ":" + route.address().getPort());
                r.put("identities", route.identities().stream().map(Object::toString).toList());
                r.put("protocol", route.protocol().name());
                if (route.protocol() == RouteProtocol.TCP) {
                    r.put("listen_port", route.listenPort());
                }
                routes.add(r);
            }
            section.put("routes", routes);
            out.put("outbound", section);
        });
        return out;
    }

    private static Map<String, Object> port(int appPort, int listenPort, String protocol, Pipeline pipeline) {
        Map<String, Object> p = new LinkedHashMap<>();
        p.put("app_port", appPort);
        p.put("listen_port", listenPort);
        p.put("protocol", protocol);
        p.put("mode", pipeline.mode(appPort).name());
        return p;
    }
}
