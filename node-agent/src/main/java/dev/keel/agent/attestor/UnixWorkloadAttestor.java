package dev.keel.agent.attestor;

import dev.keel.agent.AttestationException;
import dev.keel.agent.Selector;
import dev.keel.agent.WorkloadAttestor;
import dev.keel.agent.WorkloadProcess;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;

/**
 * Selectors of type {@code unix} for a process on this node, as SPIRE's unix attestor writes them:
 * <ul>
 *   <li>{@code unix:uid:<n>} and {@code unix:gid:<n>} (unsigned decimal), from the kernel's peer credentials;</li>
 *   <li>{@code unix:user:<name>} and {@code unix:group:<name>} when {@code etc/passwd} and
 *       {@code etc/group} under the configured root name them;</li>
 *   <li>{@code unix:path:<path>}, the executable the process runs ({@code <proc>/<pid>/exe});</li>
 *   <li>{@code unix:sha256:<hex>} of that executable, only when enabled (it reads the whole file on
 *       every call).</li>
 * </ul>
 * Before trusting the pid, it checks that {@code <proc>/<pid>/status} still shows the effective uid
 * the kernel reported for the connection: a process that exited and whose pid was reused by another
 * user's process is refused rather than attested as the newcomer. A process that is gone, or that the
 * agent may not inspect, fails attestation ({@link AttestationException}): the call fails closed.
 *
 * <p>Immutable and thread-safe; user and group names are read again only when the files change.
 */
public final class UnixWorkloadAttestor implements WorkloadAttestor {

    public static final String TYPE = "unix";

    private final Path procRoot;
    private final boolean sha256;
    private final NameFile users;
    private final NameFile groups;

    private UnixWorkloadAttestor(Builder builder) {
        this.procRoot = builder.procRoot;
        this.sha256 = builder.sha256;
        this.users = new NameFile(builder.root.resolve("etc/passwd"));
        this.groups = new NameFile(builder.root.resolve("etc/group"));
    }

    /** A builder with the defaults: {@code /proc}, names from {@code /etc}, no executable hash. */
    public static Builder builder() {
        return new Builder();
    }

    @Override
    public String type() {
        return TYPE;
    }

    @Override
    public Set<Selector> attest(WorkloadProcess process) throws AttestationException {
        Objects.requireNonNull(process, "process");
        Path dir = procRoot.resolve(Integer.toString(process.pid()));
        checkSameProcess(process, dir);
        Set<Selector> selectors = new LinkedHashSet<>();
        selectors.add(Selector.of(TYPE, "uid:" + Integer.toUnsignedString(process.uid())));
        selectors.add(Selector.of(TYPE, "gid:" + Integer.toUnsignedString(process.gid())));
        String user = users.nameOf(process.uid());
        if (user != null) {
            add(selectors, "user:" + user);
        }
        String group = groups.nameOf(process.gid());
        if (group != null) {
            add(selectors, "group:" + group);
        }
        Path exe = dir.resolve("exe");
        String path;
        try {
            path = Files.readSymbolicLink(exe).toString();
        } catch (NoSuchFileException e) {
            throw gone(process);
        } catch (IOException e) {
            throw unreadable(process, exe, e);
        }
        // The kernel marks an executable replaced or deleted since exec: it is not at that path any more.
        if (path.endsWith(" (deleted)")) {
            path = path.substring(0, path.length() - " (deleted)".length());
        }
        add(selectors, "path:" + path);
        if (sha256) {
            selectors.add(Selector.of(TYPE, "sha256:" + sha256(process, exe)));
        }
        return selectors;
    }

    private static void checkSameProcess(WorkloadProcess process, Path dir) throws AttestationException {
        Path status = dir.resolve("status");
        List<String> lines;
        try {
            lines = Files.readAllLines(status);
        } catch (NoSuchFileException e) {
            throw gone(process);
        } catch (IOException e) {
            throw unreadable(process, status, e);
        }
        for (String line : lines) {
            if (line.startsWith("Uid:")) {
                String[] ids = line.substring(4).trim().split("\\s+");
                // Real, effective, saved, filesystem: SO_PEERCRED carries the effective uid at connect time.
                if (ids.length < 2 || !ids[1].equals(Integer.toUnsignedString(process.uid()))) {
                    throw new AttestationException("process " + process.pid() + " now runs as uid "
                            + (ids.length < 2 ? "?" : ids[1]) + ", not the uid " + Integer.toUnsignedString(process.uid())
                            + " it connected with (pid reused, or setuid after connecting); refused");
                }
                return;
            }
        }
        throw new AttestationException("cannot attest process " + process.pid() + ": no Uid line in " + status);
    }

    private static String sha256(WorkloadProcess process, Path exe) throws AttestationException {
        MessageDigest digest;
        try {
            digest = MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is required of every JDK", e);
        }
        // Opening <proc>/<pid>/exe opens the file the process runs, even if the path now holds another.
        byte[] buffer = new byte[64 * 1024];
        try (InputStream in = Files.newInputStream(exe)) {
            for (int n = in.read(buffer); n >= 0; n = in.read(buffer)) {
                digest.update(buffer, 0, n);
            }
        } catch (NoSuchFileException e) {
            throw gone(process);
        } catch (IOException e) {
            throw unreadable(process, exe, e);
        }
        return HexFormat.of().formatHex(digest.digest());
    }

    private static void add(Set<Selector> selectors, String value) {
        try {
            selectors.add(Selector.of(TYPE, value));
        } catch (IllegalArgumentException e) {
            // A name or path no selector can hold (control characters, too long) cannot match any entry either.
        }
    }

    private static AttestationException gone(WorkloadProcess process) {
        return new AttestationException("process " + process.pid() + " exited before it could be attested");
    }

    private static AttestationException unreadable(WorkloadProcess process, Path file, IOException e) {
        String why = e instanceof AccessDeniedException ? "permission denied (the agent must run as root or with "
                + "CAP_SYS_PTRACE to inspect other users' processes)" : e.toString();
        return new AttestationException("cannot attest process " + process.pid() + ": " + file + ": " + why, e);
    }

    /** Configures a {@link UnixWorkloadAttestor}. Not thread-safe. */
    public static final class Builder {

        private Path procRoot = Path.of("/proc");
        private Path root = Path.of("/");
        private boolean sha256;

        Builder() {
        }

        /** Where processes are looked up (default {@code /proc}; a host's proc mounted elsewhere in a container). */
        public Builder procRoot(Path procRoot) {
            this.procRoot = Objects.requireNonNull(procRoot, "procRoot");
            return this;
        }

        /** The root under which {@code etc/passwd} and {@code etc/group} name users and groups (default {@code /}). */
        public Builder root(Path root) {
            this.root = Objects.requireNonNull(root, "root");
            return this;
        }

        /** Whether to add {@code unix:sha256:<hex>} of the executable; costly, read on every call (default off). */
        public Builder sha256(boolean enabled) {
            this.sha256 = enabled;
            return this;
        }

        public UnixWorkloadAttestor build() {
            return new UnixWorkloadAttestor(this);
        }
    }
}
