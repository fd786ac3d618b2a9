package dev.keel.cli.internal.up;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class UpStateTest {

    @TempDir
    Path tmp;

    private static UpState state(long pid, String pidStarted) {
        UpState.Component c = new UpState.Component("ca", 1, "/tmp/ca.log", Map.of("grpc", "127.0.0.1:1"));
        return new UpState(pid, pidStarted, "2026-11-23T00:00:00Z", "cluster.local", "file", "/p", "/src", c, c, 17090,
                List.of(new UpState.Workload("orders", "spiffe://cluster.local/ns/shop/sa/orders", 1, 2, 3, 4, 5, "/c", "/l")));
    }

    @Test
    void roundTripsAndKnowsAReusedPidFromTheProcessThatWroteIt() throws Exception {
        Path file = tmp.resolve(UpState.FILE);
        state(ProcessHandle.current().pid(), UpState.ownStart()).write(file);
        UpState read = UpState.read(file).orElseThrow();
        assertThat(read.workloads().get(0).adminUrl()).isEqualTo("http://127.0.0.1:5");
        assertThat(read.running()).isTrue();
        assertThat(state(ProcessHandle.current().pid(), "1999-01-01T00:00:00Z").running()).as("same pid, other start")
                .isFalse();
        assertThat(UpState.read(tmp.resolve("absent.json"))).isEmpty();
    }

    @Test
    void aFileThatIsNotAStateFileIsAnErrorNamingIt() throws Exception {
        Path file = Files.writeString(tmp.resolve(UpState.FILE), "{not json");
        assertThatThrownBy(() -> UpState.read(file)).hasMessageContaining(file.toString());
    }
}
