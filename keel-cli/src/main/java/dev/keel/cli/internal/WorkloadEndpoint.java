package dev.keel.cli.internal;

import java.nio.file.Path;

/**
 * The SPIFFE Workload Endpoint address, as the SPIFFE Workload Endpoint spec writes it
 * ({@code unix:///tmp/keel/agent.sock}, also accepted: {@code unix:/path} and a bare path).
 */
public final class WorkloadEndpoint {

    /** Where the agent listens unless told otherwise, and where clients look. */
    public static final String DEFAULT = "unix:///tmp/keel/agent.sock";
    public static final String ENVIRONMENT_VARIABLE = "SPIFFE_ENDPOINT_SOCKET";

    private WorkloadEndpoint() {
    }

    /** The address from the option, else {@code $SPIFFE_ENDPOINT_SOCKET}, else the default. */
    public static String resolve(String option) {
        if (option != null && !option.isBlank()) {
            return option;
        }
        String env = System.getenv(ENVIRONMENT_VARIABLE);
        return env == null || env.isBlank() ? DEFAULT : env;
    }

    /** The socket file of a {@code unix:} address. */
    public static Path socketPath(String address) {
        String path;
        if (address.startsWith("unix://")) {
            path = address.substring("unix://".length());
        } else if (address.startsWith("unix:")) {
            path = address.substring("unix:".length());
        } else if (address.contains("://") || address.startsWith("tcp:")) {
            throw new IllegalArgumentException("socket: '" + address
                    + "' (expected a Unix domain socket: unix:///path/to/agent.sock)");
        } else {
            path = address;
        }
        if (!path.startsWith("/")) {
            throw new IllegalArgumentException("socket: '" + address + "' (expected an absolute path)");
        }
        return Path.of(path);
    }

    /** The canonical {@code unix://} form of a socket path. */
    public static String of(Path socket) {
        return "unix://" + socket.toAbsolutePath();
    }
}
