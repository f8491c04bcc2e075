package radiod.lifecycle;

import java.time.Duration;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The one place radiod makes its own threads: daemon threads with a name (so a stuck node's thread dump says who is
 * who), and the one way to stop them.
 */
public final class DaemonThreads {

    private DaemonThreads() {
    }

    /** Daemon threads named {@code name}, or {@code name-2}, {@code name-3}… when the factory makes more than one. */
    public static ThreadFactory factory(String name) {
        AtomicInteger count = new AtomicInteger();
        return r -> {
            int n = count.incrementAndGet();
            Thread t = new Thread(r, n == 1 ? name : name + "-" + n);
            t.setDaemon(true);
            return t;
        };
    }

    /** A single daemon thread that runs tasks in order and on a schedule; cancelled tasks are dropped at once. */
    public static ScheduledExecutorService scheduled(String name) {
        return scheduled(name, 1);
    }

    /** {@code threads} daemon threads sharing one schedule; cancelled tasks are dropped at once. */
    public static ScheduledExecutorService scheduled(String name, int threads) {
        ScheduledThreadPoolExecutor executor = new ScheduledThreadPoolExecutor(threads, factory(name));
        executor.setRemoveOnCancelPolicy(true);
        executor.setExecuteExistingDelayedTasksAfterShutdownPolicy(false);
        return executor;
    }

    /** A single daemon thread without a schedule. */
    public static ExecutorService single(String name) {
        return Executors.newSingleThreadExecutor(factory(name));
    }

    /** Starts {@code task} on its own daemon thread. */
    public static Thread start(String name, Runnable task) {
        Thread t = new Thread(task, name);
        t.setDaemon(true);
        t.start();
        return t;
    }

    /**
     * Stops an executor: no new tasks, running ones interrupted, then waits up to {@code grace} for them to end.
     * Returns whether it ended in time. Never throws; an interrupted caller keeps its interrupt flag.
     */
    public static boolean stop(ExecutorService executor, Duration grace) {
        executor.shutdownNow();
        try {
            return executor.awaitTermination(grace.toMillis(), TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }
}
