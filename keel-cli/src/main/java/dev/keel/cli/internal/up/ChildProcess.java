package dev.keel.cli.internal.up;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * One {@code keel} subcommand in its own JVM, started the way an operator would start it, its output
 * appended to a log file. The child gets {@value #PARENT_PID_ENV} so that it exits when {@code keel up}
 * dies without a chance to stop it (SIGKILL): no orphaned CA or proxy keeps the ports.
 */
public final class ChildProcess implements AutoCloseable {

    /** Set in a child's environment: the pid whose exit the child follows. */
    public static final String PARENT_PID_ENV = "KEEL_PARENT_PID";

    private final String name;
    private final Process process;
    private final Path log;
    private final long logStart;

    private ChildProcess(String name, Process process, Path log, long logStart) {
        this.name = name;
        this.process = process;
        this.log = log;
        this.logStart = logStart;
    }

    /**
     * Starts {@code keel <args>} with this JVM's java and class path.
     *
     * @param jvmOptions options for the child JVM, e.g. {@code -Xmx128m}
     * @param env added to (and overriding) this process's environment
     */
    public static ChildProcess start(String name, Path log, List<String> jvmOptions, Map<String, String> env,
            List<String> args) throws IOException {
        List<String> command = new ArrayList<>();
        command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        command.addAll(jvmOptions);
        command.add("-cp");
        command.add(System.getProperty("java.class.path"));
        command.add("dev.keel.cli.Keel");
        command.addAll(args);
        Files.createDirectories(log.toAbsolutePath().getParent());
        long start = Files.exists(log) ? Files.size(log) : 0;
        ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()));
        builder.environment().putAll(env);
        builder.environment().put(PARENT_PID_ENV, Long.toString(ProcessHandle.current().pid()));
        return new ChildProcess(name, builder.start(), log, start);
    }

    /**
     * Called first thing in a child: when {@value #PARENT_PID_ENV} names a process, exit (running the
     * shutdown hooks, so sockets and files are closed) as soon as that process is gone.
     */
    public static void followParent(Map<String, String> env) {
        String value = env.get(PARENT_PID_ENV);
        if (value == null || value.isBlank()) {
            return;
        }
        Optional<ProcessHandle> parent;
        try {
            parent = ProcessHandle.of(Long.parseLong(value.trim()));
        } catch (NumberFormatException e) {
            return;
        }
        if (parent.isEmpty()) {
            System.exit(143);
        }
        parent.get().onExit().thenRun(() -> System.exit(143));
    }

    public String name() {
        return name;
    }

    public long pid() {
        return process.pid();
    }

    public boolean isAlive() {
        return process.isAlive();
    }

    public Path log() {
        return log;
    }

    /**
     * Waits until the child has printed a line matching {@code regex} since it started.
     *
     * @throws IOException naming the child and quoting the end of its log when it exits first or the
     *     timeout passes
     */
    public Matcher await(String regex, Duration timeout) throws IOException, InterruptedException {
        Pattern pattern = Pattern.compile(regex, Pattern.MULTILINE);
        Instant deadline = Instant.now().plus(timeout);
        while (true) {
            Matcher m = pattern.matcher(output());
            if (m.find()) {
                return m;
            }
            if (!process.isAlive()) {
                throw new IOException(name + " exited with status " + process.exitValue() + "; the end of " + log
                        + ":\n" + tail(20));
            }
            if (Instant.now().isAfter(deadline)) {
                throw new IOException(name + " did not start within " + timeout.toSeconds() + " s; the end of " + log
                        + ":\n" + tail(20));
            }
            Thread.sleep(50);
        }
    }

    /** What the child printed since it started. */
    public String output() throws IOException {
        if (!Files.exists(log)) {
            return "";
        }
        byte[] all = Files.readAllBytes(log);
        int from = (int) Math.min(logStart, all.length);
        return new String(all, from, all.length - from, StandardCharsets.UTF_8);
    }

    /** The last {@code lines} lines the child printed. */
    public String tail(int lines) throws IOException {
        List<String> all = output().lines().toList();
        return String.join("\n", all.subList(Math.max(0, all.size() - lines), all.size()));
    }

    /** SIGTERM, then SIGKILL after {@code grace}; returns the exit status. */
    public int stop(Duration grace) throws InterruptedException {
        process.destroy();
        if (!process.waitFor(grace.toMillis(), TimeUnit.MILLISECONDS)) {
            process.destroyForcibly();
            process.waitFor(10, TimeUnit.SECONDS);
        }
        return process.isAlive() ? -1 : process.exitValue();
    }

    @Override
    public void close() throws InterruptedException {
        if (process.isAlive()) {
            stop(Duration.ofSeconds(10));
        }
    }
}
