package radiod.lifecycle.process;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongSupplier;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.LoggerFactory;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import radiod.lifecycle.DaemonThreads;

/** Supervision of real children: small {@code /bin/sh} scripts that crash, linger, ignore SIGTERM or talk. */
class SupervisorTest {
    private static final Backoff QUICK = new Backoff(Duration.ofMillis(50), Duration.ofMillis(400), Duration.ofSeconds(10), 0.5);

    @TempDir
    Path dir;

    private final ScheduledExecutorService executor = DaemonThreads.scheduled("supervisor-test");
    private final List<String> lines = new CopyOnWriteArrayList<>();
    private final List<Long> linePids = new CopyOnWriteArrayList<>();
    private final List<Long> startedAt = new CopyOnWriteArrayList<>();
    private final List<Optional<Duration>> restartIns = new CopyOnWriteArrayList<>();
    private final CountDownLatch gaveUp = new CountDownLatch(1);
    private Supervisor supervisor;
    private Runnable onStart = () -> { };

    @AfterEach
    void stop() throws Exception {
        if (supervisor != null) {
            supervisor.stop(Duration.ZERO).get(5, TimeUnit.SECONDS);
        }
        DaemonThreads.stop(executor, Duration.ofSeconds(1));
    }

    private Supervisor supervise(String script, Supervisor.Policy policy, LongSupplier clock) {
        supervisor = new Supervisor("test child", () -> new ProcessBuilder("/bin/sh", "-c", script)
                .directory(dir.toFile())
                .redirectErrorStream(true)
                .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null"))),
                policy, (pid, line) -> {
                    linePids.add(pid);
                    lines.add(line);
                }, executor, new Supervisor.Listener() {
                    @Override
                    public void started(Process process, boolean restart) {
                        startedAt.add(System.nanoTime());
                        onStart.run();
                    }

                    @Override
                    public void crashed(Optional<Process> process, Optional<Duration> restartIn) {
                        restartIns.add(restartIn);
                    }

                    @Override
                    public void gaveUp() {
                        gaveUp.countDown();
                    }
                }, clock, () -> 0.5);
        return supervisor;
    }

    private Supervisor supervise(String script, Supervisor.Policy policy) {
        return supervise(script, policy, System::nanoTime);
    }

    @Test
    void aChildThatExitsAtOnceIsRestartedWithGrowingBackoffAndJitter() {
        supervise("exit 3", Supervisor.Policy.forever(QUICK, Duration.ofSeconds(1))).run();

        await().atMost(Duration.ofSeconds(10)).until(() -> startedAt.size() >= 6);
        // 50 ms doubling to 400, each with a quarter added (half the jitter of 0.5).
        List<Duration> planned = restartIns.subList(0, 5).stream().map(Optional::orElseThrow).toList();
        assertEquals(List.of(62L, 125L, 250L, 500L, 500L), planned.stream().map(Duration::toMillis).toList());
        for (int i = 0; i < 5; i++) {
            long gap = startedAt.get(i + 1) - startedAt.get(i);
            assertTrue(gap >= planned.get(i).toNanos(), "restart " + (i + 1) + " came after "
                    + TimeUnit.NANOSECONDS.toMillis(gap) + " ms, planned " + planned.get(i).toMillis());
        }
        assertTrue(supervisor.isWanted());
    }

    @Test
    void aRunThatLastedLongEnoughResetsTheBackoff() {
        AtomicLong clock = new AtomicLong();
        // The third child "runs" ten seconds: the clock jumps before its exit is seen.
        onStart = () -> {
            if (startedAt.size() == 3) {
                clock.addAndGet(Duration.ofSeconds(10).toNanos());
            }
        };
        supervise("exit 3", Supervisor.Policy.forever(QUICK, Duration.ofSeconds(1)), clock::get).run();

        await().atMost(Duration.ofSeconds(10)).until(() -> restartIns.size() >= 4);
        assertEquals(List.of(62L, 125L, 62L, 125L),
                restartIns.subList(0, 4).stream().map(d -> d.orElseThrow().toMillis()).toList());
    }

    @Test
    void tooManyCrashesWithinTheWindowStopTheRestartsUntilTheNextRun() throws Exception {
        supervise("exit 3", new Supervisor.Policy(QUICK, 3, Duration.ofSeconds(60), Duration.ofSeconds(1))).run();

        assertTrue(gaveUp.await(10, TimeUnit.SECONDS));
        assertEquals(3, supervisor.starts());
        assertFalse(supervisor.isWanted());
        assertEquals(Optional.empty(), restartIns.get(2), "the third crash plans no restart");

        supervisor.run();
        await().atMost(Duration.ofSeconds(5)).until(() -> supervisor.starts() >= 4);
    }

    @Test
    void aChildThatIgnoresSigtermIsKilledAfterTheGraceAndNotRestarted() throws Exception {
        supervise("trap '' TERM; echo ready; while :; do sleep 0.05; done", Supervisor.Policy.forever(QUICK, Duration.ofSeconds(5))).run();
        await().atMost(Duration.ofSeconds(5)).until(() -> lines.contains("ready"));
        long pid = supervisor.pid().orElseThrow();

        long t0 = System.nanoTime();
        supervisor.stop(Duration.ofMillis(300)).get(5, TimeUnit.SECONDS);
        long took = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);

        assertTrue(took >= 300, "gone after " + took + " ms although it ignores SIGTERM");
        assertFalse(ProcessLiveness.isAlive(pid));
        assertFalse(supervisor.isRunning());
        assertEquals(1, supervisor.starts());
        assertEquals(List.of(), restartIns, "a stopped child is not a crash");
    }

    @Test
    void anObedientChildEndsWithSigtermAlone() throws Exception {
        supervise("echo ready; exec sleep 30", Supervisor.Policy.forever(QUICK, Duration.ofSeconds(10))).run();
        await().atMost(Duration.ofSeconds(5)).until(() -> lines.contains("ready"));

        long t0 = System.nanoTime();
        supervisor.stop().get(5, TimeUnit.SECONDS);

        assertTrue(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0) < 5000, "SIGTERM alone ends it");
        assertFalse(supervisor.isRunning());
    }

    @Test
    void outputReachesTheSinkLineByLineWithoutBlankLines() {
        supervise("printf 'one\\n\\n  two  \\n'; echo three >&2; exec sleep 30", Supervisor.Policy.forever(QUICK, Duration.ofSeconds(1))).run();

        await().atMost(Duration.ofSeconds(5)).until(() -> lines.size() >= 3);
        assertEquals(List.of("one", "two", "three"), lines);
        long pid = supervisor.pid().orElseThrow();
        assertEquals(List.of(pid, pid, pid), linePids);
    }

    @Test
    void theLogSinkWritesEachLineAfterItsPrefixAndThePid() {
        Logger logger = (Logger) LoggerFactory.getLogger("radiod.lifecycle.process.test-output");
        ListAppender<ILoggingEvent> appender = new ListAppender<>();
        appender.start();
        logger.addAppender(appender);
        try {
            OutputSink.log(logger, "icecast 127.0.0.1:8000").line(4242, "Changed groupid to 118.");
        } finally {
            logger.detachAppender(appender);
        }
        assertEquals(List.of("icecast 127.0.0.1:8000 (pid 4242): Changed groupid to 118."),
                appender.list.stream().map(ILoggingEvent::getFormattedMessage).toList());
    }

    @Test
    void aNewRunStartsTheNextChildOnlyAfterTheRunningOneHasExited() throws Exception {
        Path log = dir.resolve("log");
        String script = "echo \"start $$\" >> log; trap 'sleep 0.3; echo \"end $$\" >> log; exit 0' TERM; "
                + "while :; do sleep 0.05; done";
        supervise(script, Supervisor.Policy.forever(QUICK, Duration.ofSeconds(5))).run();
        await().atMost(Duration.ofSeconds(5)).until(() -> Files.exists(log) && Files.readAllLines(log).size() == 1);

        supervisor.run();

        await().atMost(Duration.ofSeconds(5)).until(() -> Files.readAllLines(log).size() == 3);
        List<String> events = Files.readAllLines(log);
        String first = events.get(0).split(" ")[1];
        List<String> expected = new ArrayList<>(List.of("start " + first, "end " + first));
        assertEquals(expected, events.subList(0, 2));
        assertTrue(events.get(2).startsWith("start ") && !events.get(2).endsWith(" " + first), events.toString());
        assertEquals(2, supervisor.starts());
        assertEquals(List.of(), restartIns);
    }
}
