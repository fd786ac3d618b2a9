package dev.keel.policy.source;

import dev.keel.policy.PolicyError;
import dev.keel.policy.PolicyParser;
import java.io.IOException;
import java.nio.file.ClosedWatchServiceException;
import java.nio.file.FileSystems;
import java.nio.file.Path;
import java.nio.file.StandardWatchEventKinds;
import java.nio.file.WatchKey;
import java.nio.file.WatchService;
import java.time.Duration;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The policies in one directory's files (which files: {@link PolicyFiles}), reloaded when they change.
 *
 * <p>Loading is all or nothing: a new {@link PolicySet} is published only when every file reads, parses
 * and validates and no policy is defined twice. Otherwise the last good set stays in force, whole, and
 * {@link #errors()} says why, with file, line and field path; the next good load clears them. Deleting a
 * file removes its policies; a file that vanishes mid-read makes the source read again, not report.
 *
 * <p>Changes are seen through a {@link WatchService} on the directory, debounced so that a burst (an
 * editor's temporary file and rename, a {@code kubectl cp}) loads once, and through a full rescan every
 * {@link Options#rescanInterval()}, because watch services drop events (overflow, network file systems,
 * a directory replaced under the watch) and on some platforms only poll. Files are compared by content,
 * so a rescan that finds nothing new publishes nothing. A mounted Kubernetes ConfigMap works: its files
 * are symbolic links through {@code ..data}, which kubelet swaps atomically, and the swap is an event in
 * the watched directory.
 *
 * <p>Thread-safe. {@link #open} loads once on the caller's thread, then one daemon thread watches and
 * loads, and another calls listeners (see {@link PolicySource}). {@link #close()} stops both.
 */
public final class DirectoryPolicySource implements PolicySource {

    private static final Logger LOG = LoggerFactory.getLogger(DirectoryPolicySource.class);
    private static final Pattern NAMESPACE = Pattern.compile("[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?");
    private static final int MAX_LOGGED_ERRORS = 20;
    private static final long RETRY_NANOS = TimeUnit.MILLISECONDS.toNanos(20);

    /**
     * How a directory is read and watched.
     *
     * @param defaultNamespace for policies without {@code metadata.namespace}
     * @param debounce         how long the directory must be quiet after an event before loading
     * @param rescanInterval   how often to read everything regardless of events
     */
    public record Options(String defaultNamespace, Duration debounce, Duration rescanInterval) {

        public Options {
            Objects.requireNonNull(defaultNamespace, "defaultNamespace");
            Objects.requireNonNull(debounce, "debounce");
            Objects.requireNonNull(rescanInterval, "rescanInterval");
            if (!NAMESPACE.matcher(defaultNamespace).matches()) {
                throw new IllegalArgumentException("defaultNamespace: \"" + defaultNamespace
                        + "\" (expected: a Kubernetes namespace name)");
            }
            if (debounce.isNegative()) {
                throw new IllegalArgumentException("debounce: " + debounce + " (expected: >= 0)");
            }
            if (rescanInterval.compareTo(Duration.ofMillis(10)) < 0) {
                throw new IllegalArgumentException("rescanInterval: " + rescanInterval + " (expected: >= 10ms)");
            }
        }

        /** Namespace {@code default}, 200 ms of quiet, a rescan every 2 s. */
        public static Options defaults() {
            return new Options(PolicyParser.DEFAULT_NAMESPACE, Duration.ofMillis(200), Duration.ofSeconds(2));
        }
    }

    private final Path directory;
    private final Options options;
    private final Publisher publisher;
    private final Thread watcherThread;
    private final WatchService watchService;
    private volatile boolean closed;

    // Owned by the loading thread (the caller of open(), then watcherThread).
    private WatchKey watchKey;
    private PolicyFiles.Texts lastAttempt;
    private PolicyFiles.Texts lastGood;
    private long version;

    private DirectoryPolicySource(Path directory, Options options) throws IOException {
        this.directory = directory;
        this.options = options;
        this.publisher = new Publisher("keel-policy-listeners-" + directory.getFileName());
        this.watchService = FileSystems.getDefault().newWatchService();
        this.watcherThread = new Thread(this::watchLoop, "keel-policy-watch-" + directory.getFileName());
        this.watcherThread.setDaemon(true);
    }

    /** {@link #open(Path, Options)} with {@link Options#defaults()}. */
    public static DirectoryPolicySource open(Path directory) throws IOException {
        return open(directory, Options.defaults());
    }

    /**
     * Loads {@code directory} and starts watching it. A directory that is missing or holds bad files is
     * not an error here: the source starts {@linkplain PolicySet#notLoaded() not loaded}, reports why in
     * {@link #errors()}, and loads as soon as the directory is good.
     *
     * @throws IOException when no watch service can be created
     */
    public static DirectoryPolicySource open(Path directory, Options options) throws IOException {
        Objects.requireNonNull(directory, "directory");
        Objects.requireNonNull(options, "options");
        DirectoryPolicySource source = new DirectoryPolicySource(directory, options);
        // Watch first, then read: a change between the two is then an event, not a loss.
        source.watch();
        try {
            source.load();
        } catch (RuntimeException e) {
            source.close();
            throw e;
        }
        source.watcherThread.start();
        return source;
    }

    public Path directory() {
        return directory;
    }

    @Override
    public PolicySet current() {
        return publisher.current();
    }

    @Override
    public List<PolicyError> errors() {
        return publisher.errors();
    }

    @Override
    public Registration onChange(Consumer<? super PolicySet> listener) {
        return publisher.register(listener);
    }

    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        try {
            watchService.close();
        } catch (IOException e) {
            LOG.debug("closing the watch service of {}", directory, e);
        }
        publisher.closeAfter(watcherThread);
    }

    /** True while the watching thread runs; false after {@link #close()}. */
    boolean isWatching() {
        return watcherThread.isAlive();
    }

    private void watchLoop() {
        long debounceNanos = options.debounce().toNanos();
        long rescanNanos = options.rescanInterval().toNanos();
        long nextRescan = System.nanoTime() + rescanNanos;
        long lastEvent = 0;
        boolean dirty = false;
        while (!closed) {
            try {
                long now = System.nanoTime();
                long wait = nextRescan - now;
                if (dirty) {
                    wait = Math.min(wait, lastEvent + debounceNanos - now);
                }
                WatchKey key = wait > 0 ? watchService.poll(wait, TimeUnit.NANOSECONDS) : watchService.poll();
                if (key != null) {
                    // Which file changed does not matter: every load reads the whole directory.
                    key.pollEvents();
                    if (!key.reset() && key == watchKey) {
                        watchKey = null;
                    }
                    dirty = true;
                    lastEvent = System.nanoTime();
                }
                now = System.nanoTime();
                boolean rescan = now - nextRescan >= 0;
                if (dirty && now - lastEvent >= debounceNanos || rescan) {
                    if (rescan && (watchKey == null || !watchKey.isValid())) {
                        watch();
                    }
                    dirty = !load();
                    if (dirty) {
                        // The directory changed under the read: read again shortly, not in a tight loop.
                        lastEvent = now + Math.max(0, RETRY_NANOS - debounceNanos);
                    }
                    nextRescan = now + rescanNanos;
                }
            } catch (InterruptedException | ClosedWatchServiceException e) {
                return;
            } catch (RuntimeException e) {
                // Never let the loading thread die: the last good set would then be frozen silently.
                LOG.error("loading policies from {} failed; retrying at the next rescan", directory, e);
                nextRescan = System.nanoTime() + rescanNanos;
            }
        }
    }

    private void watch() {
        try {
            watchKey = directory.register(watchService, StandardWatchEventKinds.ENTRY_CREATE,
                    StandardWatchEventKinds.ENTRY_DELETE, StandardWatchEventKinds.ENTRY_MODIFY);
        } catch (IOException | ClosedWatchServiceException e) {
            // A missing directory is reported by load(); the rescan registers again once it exists.
            watchKey = null;
            LOG.debug("cannot watch {} yet", directory, e);
        }
    }

    /** Reads the directory and publishes if it changed and is good; false when it must be read again soon. */
    private boolean load() {
        PolicyFiles.Texts texts = PolicyFiles.readTexts(directory);
        if (texts.racing()) {
            return false;
        }
        if (texts.equals(lastAttempt)) {
            return true;
        }
        lastAttempt = texts;
        PolicyFiles.Result result = PolicyFiles.parse(texts, options.defaultNamespace());
        if (!result.isOk()) {
            publisher.errors(result.errors());
            PolicySet inForce = publisher.current();
            LOG.warn("refused the policies in {} with {} error(s); {}", directory, result.errors().size(),
                    inForce.isLoaded() ? "version " + inForce.version() + " stays in force" : "nothing is loaded yet");
            result.errors().stream().limit(MAX_LOGGED_ERRORS).forEach(e -> LOG.warn("  {}", e));
            return true;
        }
        publisher.errors(List.of());
        if (lastGood != null && lastGood.texts().equals(texts.texts())) {
            return true;
        }
        lastGood = texts;
        PolicySet set = PolicySet.of(++version, result.policies());
        publisher.publish(set);
        LOG.info("loaded {} policies from {} file(s) in {} (version {})", set.size(), texts.texts().size(), directory,
                set.version());
        return true;
    }
}
