package radiod.lifecycle.process;

import java.io.IOException;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.DoubleSupplier;
import java.util.function.LongSupplier;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Keeps one child process running while it is wanted: starts it, pumps its output to a sink line by line, starts
 * it again with {@link Backoff} when it dies (giving up after {@link Policy#maxFailures()} crashes within
 * {@link Policy#failureWindow()}), and stops it with SIGTERM, then SIGKILL after a grace.
 *
 * <p>Invariant: at most one child of a supervisor is alive at a time; a new one starts only after the one before
 * it has exited (it may still hold a port or a mount).
 *
 * <p>Restarts and exits are handled on the given executor; {@link #run()} and {@link #stop(Duration)} may be called
 * on any thread and return at once.
 */
public final class Supervisor implements AutoCloseable {

    /** Makes the command for the next start; may write the files it reads first. */
    @FunctionalInterface
    public interface Launch {
        ProcessBuilder prepare() throws IOException;
    }

    /** Told with the supervisor's lock held, on the thread that learnt it: keep it quick, never block. */
    public interface Listener {
        /** A child was started; {@code restart} when after a crash. */
        default void started(Process process, boolean restart) {
        }

        /**
         * The child died unasked, or could not be started ({@code process} empty); {@code restartIn} is empty when
         * the supervisor gave up on it.
         */
        default void crashed(Optional<Process> process, Optional<Duration> restartIn) {
        }

        /** Too many crashes: the child stays stopped until {@link #run()}. Told on the executor, without the lock. */
        default void gaveUp() {
        }
    }

    /**
     * @param maxFailures   give up after this many crashes within {@code failureWindow}
     * @param stopGrace     how long a stopped child has after SIGTERM before SIGKILL
     */
    public record Policy(Backoff backoff, int maxFailures, Duration failureWindow, Duration stopGrace) {
        public Policy {
            Objects.requireNonNull(backoff, "backoff");
            Objects.requireNonNull(failureWindow, "failureWindow");
            Objects.requireNonNull(stopGrace, "stopGrace");
            if (maxFailures < 1) {
                throw new IllegalArgumentException("maxFailures must be at least 1, got " + maxFailures);
            }
        }

        /** Restarts for as long as it is wanted. */
        public static Policy forever(Backoff backoff, Duration stopGrace) {
            return new Policy(backoff, Integer.MAX_VALUE, backoff.stableAfter(), stopGrace);
        }
    }

    private static final Logger log = LoggerFactory.getLogger(Supervisor.class);

    private final String name;
    private final Launch launch;
    private final Policy policy;
    private final OutputSink output;
    private final ScheduledExecutorService executor;
    private final Listener listener;
    private final LongSupplier clock;
    private final DoubleSupplier random;
    private final AtomicLong starts = new AtomicLong();

    // Guarded by this.
    private boolean wanted;
    private Process process;
    private boolean terminating;
    private long startedAtNanos;
    private ScheduledFuture<?> pendingStart;
    private final Deque<Long> failures = new ArrayDeque<>();
    private int backoffStep;

    /**
     * @param name     for the logs and the output thread, e.g. {@code icecast 127.0.0.1:8000}
     * @param executor runs restarts and handles exits; shutting it down ends the supervision
     */
    public Supervisor(String name, Launch launch, Policy policy, OutputSink output, ScheduledExecutorService executor,
                      Listener listener) {
        this(name, launch, policy, output, executor, listener, System::nanoTime,
                () -> ThreadLocalRandom.current().nextDouble());
    }

    /** With a clock (for calm runs and the failure window) and the jitter's random numbers of one's own. */
    Supervisor(String name, Launch launch, Policy policy, OutputSink output, ScheduledExecutorService executor,
               Listener listener, LongSupplier clock, DoubleSupplier random) {
        this.name = name;
        this.launch = launch;
        this.policy = policy;
        this.output = output;
        this.executor = executor;
        this.listener = listener;
        this.clock = clock;
        this.random = random;
    }

    /**
     * Wants a fresh child: starts one now, or, when one is running, stops it and starts the new one once it has
     * exited. Forgets earlier crashes.
     */
    public synchronized void run() {
        wanted = true;
        failures.clear();
        backoffStep = 0;
        cancelPendingStart();
        if (process != null) {
            terminate(process, policy.stopGrace()); // the new one starts when this one has exited
        } else {
            launch(false);
        }
    }

    /** Stops the child with the policy's grace. */
    public CompletableFuture<Void> stop() {
        return stop(policy.stopGrace());
    }

    /**
     * No child is wanted any more: SIGTERM now, SIGKILL if it is still alive {@code grace} later. Returns at once;
     * completes once the child has exited.
     */
    public synchronized CompletableFuture<Void> stop(Duration grace) {
        wanted = false;
        cancelPendingStart();
        Process p = process;
        if (p == null) {
            return CompletableFuture.completedFuture(null);
        }
        terminate(p, grace);
        return p.onExit().thenApply(x -> null);
    }

    /** Stops the child and waits for it to exit (the grace, then a little for SIGKILL). */
    @Override
    public void close() {
        try {
            stop().get(policy.stopGrace().toMillis() + 2000, TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (ExecutionException | TimeoutException e) {
            log.warn("{}: did not exit after SIGKILL: {}", name, e.toString());
        }
    }

    /**
     * SIGKILL to the running child if it is still the process {@code pid} (a hung one, say); its exit is then handled
     * as a crash: restarted under the policy. False, and nothing sent, when that child is gone: the JDK never signals
     * a process it has reaped, so a reused pid is never hit.
     */
    public synchronized boolean kill(long pid) {
        Process p = process;
        if (p == null || p.pid() != pid || !p.isAlive()) {
            return false;
        }
        p.destroyForcibly();
        return true;
    }

    /** Whether a child runs (one being stopped included; a zombie not). */
    public synchronized boolean isRunning() {
        return process != null && process.isAlive() && ProcessLiveness.isAlive(process.pid());
    }

    /** Whether a child is wanted: running, starting, or waiting to be restarted. */
    public synchronized boolean isWanted() {
        return wanted;
    }

    public synchronized OptionalLong pid() {
        return isRunning() ? OptionalLong.of(process.pid()) : OptionalLong.empty();
    }

    /** How many children were started: 1 in a calm life. */
    public long starts() {
        return starts.get();
    }

    private void launch(boolean restart) {
        if (!wanted || process != null) {
            return;
        }
        Process p;
        try {
            p = launch.prepare().start();
        } catch (IOException | RuntimeException e) {
            crashed(Optional.empty(), "cannot start: " + e.getMessage());
            return;
        }
        process = p;
        terminating = false;
        startedAtNanos = clock.getAsLong();
        starts.incrementAndGet();
        log.info("{}: started (pid {})", name, p.pid());
        OutputPump.start(name, p, output);
        p.onExit().thenRun(() -> onExecutor(() -> exited(p)));
        listener.started(p, restart);
    }

    private synchronized void exited(Process p) {
        if (p != process) {
            return;
        }
        process = null;
        boolean deliberate = terminating;
        terminating = false;
        if (deliberate) {
            launch(false); // when a new one was asked for meanwhile
            return;
        }
        if (!wanted) {
            return;
        }
        long upNanos = clock.getAsLong() - startedAtNanos;
        if (upNanos >= policy.backoff().stableAfter().toNanos()) {
            backoffStep = 0;
        }
        crashed(Optional.of(p), "pid " + p.pid() + " exited with status " + p.exitValue() + " after "
                + TimeUnit.NANOSECONDS.toMillis(upNanos) + " ms");
    }

    private void crashed(Optional<Process> p, String why) {
        long now = clock.getAsLong();
        failures.addLast(now);
        while (!failures.isEmpty() && now - failures.peekFirst() > policy.failureWindow().toNanos()) {
            failures.removeFirst();
        }
        if (failures.size() >= policy.maxFailures()) {
            log.error("{}: failed {} times within {} s ({}); giving up", name, failures.size(),
                    policy.failureWindow().toSeconds(), why);
            wanted = false;
            listener.crashed(p, Optional.empty());
            onExecutor(listener::gaveUp);
            return;
        }
        Duration delay = policy.backoff().delay(backoffStep, random.getAsDouble());
        backoffStep = Math.min(backoffStep + 1, 62);
        log.warn("{}: {}; restarting in {} ms", name, why, delay.toMillis());
        listener.crashed(p, Optional.of(delay));
        try {
            pendingStart = executor.schedule(this::restart, delay.toMillis(), TimeUnit.MILLISECONDS);
        } catch (RejectedExecutionException e) {
            wanted = false; // the owner is shutting down
        }
    }

    private synchronized void restart() {
        pendingStart = null;
        launch(true);
    }

    private void terminate(Process p, Duration grace) {
        if (!terminating) {
            terminating = true;
            p.destroy();
            // Logged off the executor: its owner may shut it down as soon as the child is gone.
            p.onExit().thenRun(() -> log.info("{}: stopped (pid {}, status {})", name, p.pid(), p.exitValue()));
        }
        // Not on the executor: a stop is enforced even while the executor is busy or shut down.
        CompletableFuture.delayedExecutor(grace.toMillis(), TimeUnit.MILLISECONDS).execute(() -> {
            if (p.isAlive()) {
                log.warn("{}: pid {} still alive {} ms after SIGTERM; sending SIGKILL", name, p.pid(), grace.toMillis());
                p.destroyForcibly();
            }
        });
    }

    private void cancelPendingStart() {
        if (pendingStart != null) {
            pendingStart.cancel(false);
            pendingStart = null;
        }
    }

    private void onExecutor(Runnable task) {
        try {
            executor.execute(task);
        } catch (RejectedExecutionException e) {
            // the owner is shutting down: nothing more to supervise
        }
    }

    @Override
    public String toString() {
        return "supervisor of " + name;
    }
}
