package dev.keel.agent.ca;

import dev.keel.testing.FakeClock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.PriorityQueue;
import java.util.concurrent.AbstractExecutorService;
import java.util.concurrent.Callable;
import java.util.concurrent.Delayed;
import java.util.concurrent.Executors;
import java.util.concurrent.FutureTask;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.RunnableScheduledFuture;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/**
 * A {@link ScheduledExecutorService} whose delays are measured on a {@link FakeClock}: a task runs, on
 * the scheduler's one thread, once the fake clock has reached its due time. Tasks without delay run
 * at once. Tests move time with {@link #advance(Duration)} (or the clock itself) and then wait for
 * effects, or for {@link #awaitIdle()}; nothing depends on how fast the machine is.
 */
public final class FakeClockScheduler extends AbstractExecutorService implements ScheduledExecutorService {

    private final FakeClock clock;
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition changed = lock.newCondition();
    private final PriorityQueue<Task<?>> queue = new PriorityQueue<>();
    private final Thread runner;
    private long sequence;
    private boolean running;
    private volatile boolean shutdown;

    public FakeClockScheduler(FakeClock clock) {
        this.clock = clock;
        this.runner = new Thread(this::loop, "fake-clock-scheduler");
        runner.setDaemon(true);
        runner.start();
    }

    public FakeClock clock() {
        return clock;
    }

    /** Moves the fake clock forward; tasks that became due run on the scheduler thread. */
    public Instant advance(Duration duration) {
        Instant now = clock.advance(duration);
        signal();
        return now;
    }

    /** Waits (up to 10 s) until no task is due and none is running. */
    public void awaitIdle() throws InterruptedException, TimeoutException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        lock.lock();
        try {
            while (running || (!queue.isEmpty() && !queue.peek().due.isAfter(clock.instant()))) {
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    throw new TimeoutException("the scheduler did not become idle");
                }
                changed.await(Math.min(left, TimeUnit.MILLISECONDS.toNanos(2)), TimeUnit.NANOSECONDS);
            }
        } finally {
            lock.unlock();
        }
    }

    /**
     * Waits (up to 10 s) until at least one task is queued, none is due and none is running: all that
     * is left to happen waits for the clock.
     */
    public void awaitWaitingForTime() throws InterruptedException, TimeoutException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        lock.lock();
        try {
            while (running || queue.isEmpty() || !queue.peek().due.isAfter(clock.instant())) {
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    throw new TimeoutException("no task is waiting for the clock");
                }
                changed.await(Math.min(left, TimeUnit.MILLISECONDS.toNanos(2)), TimeUnit.NANOSECONDS);
            }
        } finally {
            lock.unlock();
        }
    }

    /** True when at least one task is queued, none is due and none is running. */
    public boolean isWaitingForTime() {
        lock.lock();
        try {
            return !running && !queue.isEmpty() && queue.peek().due.isAfter(clock.instant());
        } finally {
            lock.unlock();
        }
    }

    /** Tasks waiting, due or not. */
    public int queued() {
        lock.lock();
        try {
            return queue.size();
        } finally {
            lock.unlock();
        }
    }

    private void loop() {
        lock.lock();
        try {
            while (!shutdown) {
                Task<?> next = queue.peek();
                if (next != null && !next.due.isAfter(clock.instant())) {
                    queue.poll();
                    running = true;
                    lock.unlock();
                    try {
                        next.run();
                    } catch (RuntimeException e) {
                        // a FutureTask keeps its own exceptions; nothing else can reach here
                    } finally {
                        lock.lock();
                        running = false;
                        changed.signalAll();
                    }
                } else {
                    // Wakes on new tasks, and every 2 ms to notice a clock moved without advance().
                    changed.await(2, TimeUnit.MILLISECONDS);
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            lock.unlock();
        }
    }

    private void signal() {
        lock.lock();
        try {
            changed.signalAll();
        } finally {
            lock.unlock();
        }
    }

    private <V> Task<V> enqueue(Task<V> task) {
        lock.lock();
        try {
            if (shutdown) {
                throw new RejectedExecutionException("shut down");
            }
            queue.add(task);
            changed.signalAll();
        } finally {
            lock.unlock();
        }
        return task;
    }

    private Instant dueAfter(long delay, TimeUnit unit) {
        return clock.instant().plusNanos(Math.max(0, unit.toNanos(delay)));
    }

    @Override
    public ScheduledFuture<?> schedule(Runnable command, long delay, TimeUnit unit) {
        return enqueue(new Task<Void>(Executors.callable(command, null), dueAfter(delay, unit), 0));
    }

    @Override
    public <V> ScheduledFuture<V> schedule(Callable<V> callable, long delay, TimeUnit unit) {
        return enqueue(new Task<>(callable, dueAfter(delay, unit), 0));
    }

    @Override
    public ScheduledFuture<?> scheduleAtFixedRate(Runnable command, long initialDelay, long period, TimeUnit unit) {
        return enqueue(new Task<Void>(Executors.callable(command, null), dueAfter(initialDelay, unit), unit.toNanos(period)));
    }

    @Override
    public ScheduledFuture<?> scheduleWithFixedDelay(Runnable command, long initialDelay, long delay, TimeUnit unit) {
        return enqueue(new Task<Void>(Executors.callable(command, null), dueAfter(initialDelay, unit), -unit.toNanos(delay)));
    }

    @Override
    public void execute(Runnable command) {
        schedule(command, 0, TimeUnit.NANOSECONDS);
    }

    @Override
    public void shutdown() {
        shutdown = true;
        signal();
    }

    @Override
    public List<Runnable> shutdownNow() {
        lock.lock();
        try {
            shutdown = true;
            List<Runnable> left = new ArrayList<>(queue);
            queue.clear();
            changed.signalAll();
            return left;
        } finally {
            lock.unlock();
        }
    }

    @Override
    public boolean isShutdown() {
        return shutdown;
    }

    @Override
    public boolean isTerminated() {
        return shutdown && !runner.isAlive();
    }

    @Override
    public boolean awaitTermination(long timeout, TimeUnit unit) throws InterruptedException {
        runner.join(Math.max(1, unit.toMillis(timeout)));
        return !runner.isAlive();
    }

    private final class Task<V> extends FutureTask<V> implements RunnableScheduledFuture<V> {

        private Instant due;
        private final long period;
        private final long seq;

        Task(Callable<V> callable, Instant due, long period) {
            super(callable);
            this.due = due;
            this.period = period;
            lock.lock();
            try {
                this.seq = sequence++;
            } finally {
                lock.unlock();
            }
        }

        @Override
        public boolean isPeriodic() {
            return period != 0;
        }

        @Override
        public void run() {
            if (!isPeriodic()) {
                super.run();
            } else if (runAndReset() && !shutdown) {
                due = period > 0 ? due.plusNanos(period) : clock.instant().plusNanos(-period);
                enqueue(this);
            }
        }

        @Override
        public boolean cancel(boolean mayInterruptIfRunning) {
            boolean cancelled = super.cancel(mayInterruptIfRunning);
            lock.lock();
            try {
                queue.remove(this);
            } finally {
                lock.unlock();
            }
            return cancelled;
        }

        @Override
        public long getDelay(TimeUnit unit) {
            return unit.convert(Duration.between(clock.instant(), due).toNanos(), TimeUnit.NANOSECONDS);
        }

        @Override
        public int compareTo(Delayed other) {
            if (other instanceof Task) {
                Task<?> task = (Task<?>) other;
                int byDue = due.compareTo(task.due);
                return byDue != 0 ? byDue : Long.compare(seq, task.seq);
            }
            return Long.compare(getDelay(TimeUnit.NANOSECONDS), other.getDelay(TimeUnit.NANOSECONDS));
        }
    }
}
