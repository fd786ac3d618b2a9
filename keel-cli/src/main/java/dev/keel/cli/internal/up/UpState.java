package dev.keel.cli.internal.up;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;
import java.util.Optional;

/**
 * What a running {@code keel up} wrote to {@code .keel/up.json}: its processes and where they listen.
 * {@code keel status} and {@code keel audit mtls} find the mesh through it.
 */
public record UpState(long pid, String pidStarted, String started, String trustDomain, String keyCustody, String policyDirectory,
        String policySource, Component ca, Component agent, int tokenIssuerPort, List<Workload> workloads) {

    public static final String FILE = "up.json";

    private static final ObjectMapper JSON = new ObjectMapper()
            .disable(SerializationFeature.WRITE_DATES_AS_TIMESTAMPS)
            .disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
            .enable(SerializationFeature.INDENT_OUTPUT);

    public UpState {
        workloads = List.copyOf(workloads);
    }

    /** A process of the mesh: its pid, its log, and its addresses (name to URL or host:port). */
    public record Component(String name, long pid, String log, java.util.Map<String, String> addresses) {
        public Component {
            addresses = java.util.Map.copyOf(addresses);
        }
    }

    /** A demo workload: its app's port, its proxy process, and the proxy's ports. */
    public record Workload(String name, String spiffeId, int appPort, long proxyPid, int inboundPort, int outboundPort,
            int adminPort, String proxyConfig, String log) {
        public String adminUrl() {
            return "http://127.0.0.1:" + adminPort;
        }
    }

    public void write(Path file) throws IOException {
        Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
        JSON.writeValue(tmp.toFile(), this);
        Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    }

    /** The state file of a mesh, if one was written; a file that does not parse is an error naming it. */
    public static Optional<UpState> read(Path file) throws IOException {
        if (!Files.exists(file)) {
            return Optional.empty();
        }
        try {
            return Optional.of(JSON.readValue(file.toFile(), UpState.class));
        } catch (IOException e) {
            throw new IOException(file + " is not a keel up state file: " + e.getMessage(), e);
        }
    }

    /**
     * Whether the {@code keel up} that wrote this is still running: its pid alive and started when it
     * was (after a crash or reboot the pid may belong to another process by now).
     */
    public boolean running() {
        return ProcessHandle.of(pid).filter(ProcessHandle::isAlive)
                .map(p -> pidStarted == null || p.info().startInstant().map(Object::toString).orElse("").equals(pidStarted))
                .orElse(false);
    }

    /** When this process started, as {@link #running} compares it. */
    public static String ownStart() {
        return ProcessHandle.current().info().startInstant().map(Object::toString).orElse(null);
    }
}
