package dev.keel.policy.source;

import dev.keel.policy.PolicyError;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The part both sources share: the current snapshot and errors, and the listener thread. Each delivery
 * task reads the latest snapshot when it runs, so a slow listener sees fewer, newer snapshots rather than
 * a backlog, and a listener never gets an older version after a newer one.
 */
final class Publisher {

    private static final Logger LOG = LoggerFactory.getLogger(Publisher.class);

    private final ExecutorService notifier;
    private final CopyOnWriteArrayList<Listener> listeners = new CopyOnWriteArrayList<>();
    private volatile PolicySet current = PolicySet.notLoaded();
    private volatile List<PolicyError> errors = List.of();
    private volatile Thread notifierThread;

    Publisher(String threadName) {
        this.notifier = Executors.newSingleThreadExecutor(r -> {
            Thread t = new Thread(r, threadName);
            t.setDaemon(true);
            notifierThread = t;
            return t;
        });
    }

    PolicySet current() {
        return current;
    }

    List<PolicyError> errors() {
        return errors;
    }

    void errors(List<PolicyError> errors) {
        this.errors = List.copyOf(errors);
    }

    /** Called by the one thread that loads; versions must grow. */
    void publish(PolicySet set) {
        if (set.version() <= current.version()) {
            throw new IllegalStateException("version " + set.version() + " after " + current.version());
        }
        current = set;
        schedule();
    }

    PolicySource.Registration register(Consumer<? super PolicySet> consumer) {
        Listener listener = new Listener(Objects.requireNonNull(consumer, "listener"));
        listeners.add(listener);
        if (current.isLoaded()) {
            schedule();
        }
        return () -> listeners.remove(listener);
    }

    private void schedule() {
        try {
            notifier.execute(this::deliver);
        } catch (RejectedExecutionException closed) {
            // Closed: listeners are no longer called.
        }
    }

    private void deliver() {
        PolicySet set = current;
        for (Listener listener : listeners) {
            if (listener.delivered >= set.version()) {
                continue;
            }
            listener.delivered = set.version();
            try {
                listener.consumer.accept(set);
            } catch (RuntimeException e) {
                LOG.error("a policy listener failed on {}", set, e);
            }
        }
    }

    /**
     * Stops a source's worker thread (waiting up to 5 s unless called from it), then this
     * publisher: the common end of every source's {@code close()}.
     */
    void closeAfter(Thread worker) {
        worker.interrupt();
        if (Thread.currentThread() != worker) {
            try {
                worker.join(java.util.concurrent.TimeUnit.SECONDS.toMillis(5));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        close();
    }

    void close() {
        notifier.shutdown();
        if (Thread.currentThread() != notifierThread) {
            try {
                if (!notifier.awaitTermination(5, TimeUnit.SECONDS)) {
                    notifier.shutdownNow();
                }
            } catch (InterruptedException e) {
                notifier.shutdownNow();
                Thread.currentThread().interrupt();
            }
        }
    }

    private static final class Listener {
        final Consumer<? super PolicySet> consumer;
        /** Only touched on the notifier thread. */
        long delivered;

        Listener(Consumer<? super PolicySet> consumer) {
            this.consumer = consumer;
        }
    }
}
