package radiod.lifecycle;

import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The steps of one component (a watch, an election) on the node's shared single-thread scheduler: they run
 * one at a time, in the order handed over. Once the scheduler is stopped (the node is stopping) a step is dropped
 * rather than thrown back at whoever handed it over, often a jetcd callback.
 */
public final class Steps {
    private static final Logger log = LoggerFactory.getLogger(Steps.class);

    private final ScheduledExecutorService scheduler;
    private final String owner;

    /** @param owner what the steps are of, for the log: {@code election /radiod/master} */
    public Steps(ScheduledExecutorService scheduler, String owner) {
        this.scheduler = scheduler;
        this.owner = owner;
    }

    /**
     * Stops a scheduler of steps: the steps already handed over still run (a watch's or an election's closing step
     * among them), the delayed ones are dropped, and after {@code grace} whatever still runs is interrupted.
     */
    public static void finish(ScheduledExecutorService scheduler, Duration grace) {
        scheduler.shutdown();
        try {
            if (!scheduler.awaitTermination(grace.toMillis(), TimeUnit.MILLISECONDS)) {
                scheduler.shutdownNow();
            }
        } catch (InterruptedException e) {
            scheduler.shutdownNow();
            Thread.currentThread().interrupt();
        }
    }

    /** Runs {@code step} soon; false if it was dropped. */
    public boolean post(Runnable step) {
        try {
            scheduler.execute(step);
            return true;
        } catch (RejectedExecutionException e) {
            log.debug("{}: scheduler stopped; step dropped", owner);
            return false;
        }
    }

    /** Runs {@code step} in {@code delayMillis}; empty if it was dropped. */
    public Optional<ScheduledFuture<?>> after(long delayMillis, Runnable step) {
        try {
            return Optional.of(scheduler.schedule(step, delayMillis, TimeUnit.MILLISECONDS));
        } catch (RejectedExecutionException e) {
            log.debug("{}: scheduler stopped; step dropped", owner);
            return Optional.empty();
        }
    }

    /** Runs {@code step} every {@code periodMillis}, the first time after one period; empty if it was dropped. */
    public Optional<ScheduledFuture<?>> every(long periodMillis, Runnable step) {
        try {
            return Optional.of(scheduler.scheduleWithFixedDelay(step, periodMillis, periodMillis, TimeUnit.MILLISECONDS));
        } catch (RejectedExecutionException e) {
            log.debug("{}: scheduler stopped; step dropped", owner);
            return Optional.empty();
        }
    }
}
