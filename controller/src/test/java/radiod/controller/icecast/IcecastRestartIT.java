package radiod.controller.icecast;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import org.slf4j.LoggerFactory;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import radiod.cluster.model.Mount;
import radiod.controller.icecast.IcecastPlan.MountPlan;
import radiod.lifecycle.process.ProcessLiveness;
import radiod.testkit.Ports;
import radiod.testkit.Processes;
import radiod.testkit.encoder.RetryingEncoder;
import radiod.testkit.encoder.Tone;

/** The supervisor keeps one Icecast alive and in line with the latest plan, whatever happens to the process. */
class IcecastRestartIT {
    static final String HOST = "127.0.0.1";
    static final Mount LIVE = new Mount("/live.mp3", "source", "live-Pw-1", null, null, 0, 128, null);
    /** Declared in icecast.xml for its fallback to /live.mp3. */
    static final Mount SHOW = new Mount("/show.mp3", "dj", "show-Pw-2", null, "/live.mp3", 0, 128, null);
    static final IcecastPlan PLAN = new IcecastPlan(List.of(MountPlan.of(LIVE), MountPlan.of(SHOW)));

    @TempDir
    Path tmp;

    @BeforeEach
    void reachableByIcecastsUser() throws IOException {
        Files.setPosixFilePermissions(tmp, PosixFilePermissions.fromString("rwxr-xr-x"));
    }

    IcecastSettings settings() {
        return IcecastSettings.of(tmp.resolve("icecast"), HOST, Ports.free(HOST), HOST);
    }

    static boolean answers(IcecastSettings s) {
        return Ports.answersHttp(HOST, s.port(), "/status-json.xsl");
    }

    @Test
    void aKilledIcecastIsRestartedAndAnswersAgainWithTheSamePlan() {
        IcecastSettings s = settings();
        AtomicInteger changes = new AtomicInteger();
        try (IcecastSupervisor icecast = new IcecastSupervisor(s, changes::incrementAndGet)) {
            icecast.apply(PLAN);
            icecast.start();
            await().atMost(Duration.ofSeconds(5)).until(() -> icecast.stats().up());
            long first = icecast.pid().orElseThrow();

            Processes.signal(first, "KILL");

            await().atMost(Duration.ofSeconds(3)).until(() -> !icecast.stats().up());
            assertFalse(icecast.outOfService(), "a crash's restart is not out of service");
            await().atMost(Duration.ofSeconds(5)).until(() -> icecast.stats().up());
            assertNotEquals(first, icecast.pid().orElseThrow());
            assertTrue(answers(s));
            assertEquals(2, icecast.starts());
            assertEquals(1, icecast.crashRestarts());
            assertEquals(0, icecast.hangRestarts());
            assertTrue(changes.get() >= 3, "told of up, down and up again, got " + changes.get());
            assertEquals(401, IcecastClient.status(HOST, s.port(), "/admin/stats", "admin", "wrong"));
            assertEquals(200, IcecastClient.status(HOST, s.port(), "/admin/stats", "admin", s.adminPassword()));
            assertEquals(401, IcecastClient.sourcePut(HOST, s.port(), LIVE.path(), "source", "wrong"));
            assertEquals(200, IcecastClient.sourcePut(HOST, s.port(), LIVE.path(), "source", s.sourcePassword()),
                    "the restarted Icecast takes feeds with the same random password");
            assertEquals(PLAN, icecast.plan());
        }
    }

    /**
     * An Icecast that hangs (stopped here: its kernel still takes connections, nothing answers) is killed once it has
     * not answered for {@link IcecastSupervisor#HUNG_MILLIS}, not before, and started again.
     */
    @Test
    void aHungIcecastIsKilledOnceItHasBeenSilentTenSecondsAndStartedAgain() {
        IcecastSettings s = settings();
        try (IcecastSupervisor icecast = new IcecastSupervisor(s).start()) {
            await().atMost(Duration.ofSeconds(5)).until(() -> icecast.stats().up());
            long first = icecast.pid().orElseThrow();

            long stopped = System.nanoTime();
            Processes.signal(first, "STOP");

            await().atMost(Duration.ofSeconds(3)).until(() -> !icecast.stats().up());
            assertFalse(icecast.outOfService(), "down a moment: not out of service yet");
            // Out of service once down OUT_OF_SERVICE_MILLIS (players coming back are then sent to other nodes).
            await().atMost(Duration.ofMillis(IcecastSupervisor.OUT_OF_SERVICE_MILLIS + 3_000)).pollInterval(Duration.ofMillis(20))
                    .until(icecast::outOfService);
            long outMs = (System.nanoTime() - stopped) / 1_000_000;
            assertTrue(outMs >= IcecastSupervisor.OUT_OF_SERVICE_MILLIS, "out of service " + outMs + " ms after the stop");
            await().atMost(Duration.ofMillis(IcecastSupervisor.HUNG_MILLIS + 10_000)).pollInterval(Duration.ofMillis(20))
                    .until(() -> icecast.pid().orElse(first) != first);
            long killedMs = (System.nanoTime() - stopped) / 1_000_000;
            await().atMost(Duration.ofSeconds(5)).until(() -> icecast.stats().up());
            long upMs = (System.nanoTime() - stopped) / 1_000_000;
            System.out.printf("measured: a stopped Icecast out of service %d ms after it stopped, replaced after %d ms,"
                    + " answering again after %d ms%n", outMs, killedMs, upMs);
            assertTrue(killedMs >= IcecastSupervisor.HUNG_MILLIS, "killed after " + killedMs + " ms of silence");
            // The first unanswered read starts within a poll period (0.5 s) of the stop; the first read started 10 s
            // after it kills when it ends (a poll gap and up to 1.5 s later); the restart follows 0.5-0.6 s after that.
            assertTrue(killedMs <= IcecastSupervisor.HUNG_MILLIS + 5_000, "a hung Icecast was left " + killedMs + " ms");
            assertEquals(1, icecast.hangKills());
            assertEquals(2, icecast.starts());
            assertEquals(1, icecast.hangRestarts(), "counted as a hang's restart");
            assertEquals(0, icecast.crashRestarts(), "not as a crash's");
            assertTrue(answers(s));
            assertFalse(icecast.outOfService(), "back in service");
            assertFalse(ProcessLiveness.isAlive(first), "the hung one is gone");
        }
    }

    @Test
    void aPlanAppliedWhileIcecastStartsIsLoadedWithoutARestart() {
        IcecastSettings s = settings();
        try (IcecastSupervisor icecast = new IcecastSupervisor(s).start();
             RetryingEncoder tone = RetryingEncoder.of(Tone.mp3(Tone.url("source", s.sourcePassword(), HOST, s.port(), LIVE.path())))) {
            // Right after the start: a SIGHUP before Icecast installs its handler would kill it.
            icecast.apply(PLAN);

            await().atMost(Duration.ofSeconds(10)).until(() -> icecast.stats().listenersByMount().containsKey(LIVE.path()));
            // Loaded once /show.mp3, which has no source, sends a listener to its fallback.
            await().atMost(Duration.ofSeconds(5)).until(() -> icecast.reloads() == 1
                    && IcecastClient.status(HOST, s.port(), SHOW.path(), null, null) == 200);
            assertEquals(1, icecast.starts());
        }
    }

    @Test
    void closingStopsIcecastAndFreesItsPort() {
        IcecastSettings s = settings();
        IcecastSupervisor icecast = new IcecastSupervisor(s).start();
        await().atMost(Duration.ofSeconds(5)).until(() -> answers(s));
        long pid = icecast.pid().orElseThrow();

        icecast.close();

        assertTrue(ProcessHandle.of(pid).map(h -> !h.isAlive()).orElse(true));
        assertTrue(!answers(s) && !icecast.isRunning());
        assertEquals(IcecastStats.DOWN, icecast.stats());
    }

    @Test
    void whyIcecastCannotStartReachesOurLogWithTheRemedy() throws IOException {
        Path locked = Files.createDirectory(tmp.resolve("locked"));
        Files.setPosixFilePermissions(locked, PosixFilePermissions.fromString("rwx------"));
        IcecastSettings s = IcecastSettings.of(locked.resolve("icecast"), HOST, Ports.free(HOST), HOST);
        Logger logger = (Logger) LoggerFactory.getLogger(IcecastSupervisor.class);
        ListAppender<ILoggingEvent> events = new ListAppender<>();
        events.start();
        logger.addAppender(events);
        try (IcecastSupervisor icecast = new IcecastSupervisor(s).start()) {
            await().atMost(Duration.ofSeconds(5)).until(() -> List.copyOf(events.list).stream()
                    .anyMatch(e -> e.getFormattedMessage().contains("could not open error logging")));
            assertTrue(List.copyOf(events.list).stream().anyMatch(e -> e.getFormattedMessage()
                    .contains(locked + " does not let user icecast2 through")), "and we say what to do");
        } finally {
            logger.detachAppender(events);
        }
    }

    @Test
    void anIcecastThatCannotStartIsRetriedWithBackoffAndNotSpun() throws IOException {
        IcecastSettings s = settings().withBinary(Path.of("/bin/false"));
        try (IcecastSupervisor icecast = new IcecastSupervisor(s).start()) {
            // 0.5 s, then 1 s: three starts take at least 1.5 s.
            long t0 = System.nanoTime();
            await().atMost(Duration.ofSeconds(4)).until(() -> icecast.starts() >= 3);
            long elapsedMillis = (System.nanoTime() - t0) / 1_000_000;
            assertTrue(elapsedMillis >= 1400, "backoff between restarts, took " + elapsedMillis + " ms");
            assertTrue(!icecast.stats().up());
        }
    }
}
