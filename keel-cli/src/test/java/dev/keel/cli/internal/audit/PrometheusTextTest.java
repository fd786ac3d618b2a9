package dev.keel.cli.internal.audit;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.junit.jupiter.api.Test;

class PrometheusTextTest {

    @Test
    void readsSamplesWithLabelsAndEscapes() {
        List<PrometheusText.Sample> samples = PrometheusText.parse("""
                # HELP istio_requests_total Requests
                # TYPE istio_requests_total counter
                istio_requests_total{reporter="destination",source_principal="spiffe://td/ns/a/sa/b",detail="say \\"hi\\"\\\\n"} 7.0
                istio_tcp_connections_opened_total{connection_security_policy="none"} 2
                keel_up 1 1700000000000
                """);
        assertThat(samples).hasSize(3);
        assertThat(samples.get(0).name()).isEqualTo("istio_requests_total");
        assertThat(samples.get(0).label("source_principal")).isEqualTo("spiffe://td/ns/a/sa/b");
        assertThat(samples.get(0).label("detail")).isEqualTo("say \"hi\"\\n");
        assertThat(samples.get(0).value()).isEqualTo(7.0);
        assertThat(samples.get(1).label("connection_security_policy")).isEqualTo("none");
        assertThat(samples.get(2).labels()).isEmpty();
        assertThat(samples.get(2).value()).isEqualTo(1.0);
    }

    @Test
    void skipsWhatDoesNotParse() {
        assertThat(PrometheusText.parse("no_value\nname{broken 3\nname{a=\"x\"} notanumber\n\n")).isEmpty();
        assertThat(PrometheusText.parse("x{a=\"1\"} 3\n").get(0).label("missing")).isEmpty();
    }
}
