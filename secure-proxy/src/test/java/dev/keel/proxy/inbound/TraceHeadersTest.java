package dev.keel.proxy.inbound;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.HashSet;
import java.util.Set;
import java.util.UUID;
import org.junit.jupiter.api.Test;

/** Request ids and traceparents: kept when well-formed, generated in the standard shapes otherwise. */
class TraceHeadersTest {

    static final String TRACEPARENT = "[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}";

    @Test
    void wellFormedValuesPassThrough() {
        assertThat(TraceHeaders.requestId("abc-123_x.y:z")).isEqualTo("abc-123_x.y:z");
        String tp = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
        assertThat(TraceHeaders.traceparent(tp)).isEqualTo(tp);
    }

    @Test
    void malformedValuesAreReplaced() {
        for (String bad : new String[] {"", "has space", "x".repeat(129), "bad/slash", "ünï"}) {
            assertThat(TraceHeaders.requestId(bad)).as(bad).isNotEqualTo(bad);
        }
        for (String bad : new String[] {"ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
                "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
                "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
                "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
                "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra", "garbage"}) {
            assertThat(TraceHeaders.traceparent(bad)).as(bad).isNotEqualTo(bad).matches(TRACEPARENT);
        }
    }

    @Test
    void generatedRequestIdsAreVersion4UuidsAndGeneratedTraceparentsAreSampled() {
        Set<String> seen = new HashSet<>();
        for (int i = 0; i < 1000; i++) {
            String id = TraceHeaders.requestId(null);
            UUID uuid = UUID.fromString(id);
            assertThat(uuid.toString()).isEqualTo(id);
            assertThat(uuid.version()).isEqualTo(4);
            assertThat(uuid.variant()).isEqualTo(2);
            assertThat(seen.add(id)).isTrue();
            String tp = TraceHeaders.traceparent(null);
            assertThat(tp).matches(TRACEPARENT).startsWith("00-").endsWith("-01");
            assertThat(TraceHeaders.traceparent(tp)).isEqualTo(tp);
        }
    }
}
