package radiod.lifecycle;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;

/** Steps run in order on the one scheduler thread; a stopped scheduler drops them, and finishing runs what is queued. */
class StepsTest {

    @Test
    void stepsRunInTheOrderTheyWereHandedOverOnTheSchedulersThread() throws Exception {
        ScheduledExecutorService scheduler = DaemonThreads.scheduled("steps-test");
        Steps steps = new Steps(scheduler, "test");
        List<String> ran = new CopyOnWriteArrayList<>();
        CountDownLatch done = new CountDownLatch(1);
        for (int i = 0; i < 50; i++) {
            int n = i;
            assertTrue(steps.post(() -> ran.add(n + " " + Thread.currentThread().getName())));
        }
        assertTrue(steps.after(1, done::countDown).isPresent());
        assertTrue(done.await(5, TimeUnit.SECONDS));
        for (int i = 0; i < 50; i++) {
            assertEquals(i + " steps-test", ran.get(i));
        }
        DaemonThreads.stop(scheduler, Duration.ofSeconds(1));
    }

    @Test
    void finishingRunsTheQueuedStepsDropsTheDelayedOnesAndLaterStepsAreDroppedQuietly() {
        ScheduledExecutorService scheduler = DaemonThreads.scheduled("steps-test");
        Steps steps = new Steps(scheduler, "test");
        List<String> ran = new CopyOnWriteArrayList<>();
        CountDownLatch hold = new CountDownLatch(1);
        steps.post(() -> {
            try {
                hold.await(5, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
        steps.post(() -> ran.add("queued"));
        steps.after(60_000, () -> ran.add("delayed"));
        hold.countDown();
        Steps.finish(scheduler, Duration.ofSeconds(5));
        assertTrue(scheduler.isTerminated());
        assertEquals(List.of("queued"), ran);
        assertFalse(steps.post(() -> ran.add("late")));
        assertTrue(steps.after(1, () -> ran.add("late")).isEmpty());
        assertTrue(steps.every(1, () -> ran.add("late")).isEmpty());
    }
}
