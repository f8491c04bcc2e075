package radiod.transcoder.process;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.LoggerFactory;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;

/**
 * Supervision of the liquidsoap process, with small shell scripts standing in for liquidsoap (they get the same
 * command line: options, then the script file) so that crashes, slow exits and ignored signals are exact.
 */
class TranscoderProcessIT {
    private static final String MOUNT = "/live-64.mp3";

    @TempDir
    Path dir;

    private final ScheduledExecutorService executor = Executors.newSingleThreadScheduledExecutor();
    private final AtomicInteger restarts = new AtomicInteger();
    private final AtomicInteger gaveUp = new AtomicInteger();
    private TranscoderProcess process;

    @AfterEach
    void stop() throws Exception {
        if (process != null) {
            process.stop(Duration.ZERO).get(5, TimeUnit.SECONDS);
        }
        executor.shutdownNow();
    }

    private TranscoderProcess start(String fakeBody, RestartPolicy policy) throws IOException {
        Path fake = dir.resolve("fake-liquidsoap");
        Files.writeString(fake, "#!/bin/sh\nfor a; do script=$a; done\nlog=\"$(dirname \"$script\")/log\"\n" + fakeBody);
        Files.setPosixFilePermissions(fake, PosixFilePermissions.fromString("rwx------"));
        process = new TranscoderProcess(fake, List.of("--no-stdlib"), dir.resolve("scripts/live-64.mp3.liq"), MOUNT, policy, executor,
                new TranscoderProcess.Listener() {
                    @Override
                    public void restarted() {
                        restarts.incrementAndGet();
                    }

                    @Override
                    public void gaveUp() {
                        gaveUp.incrementAndGet();
                    }
                });
        return process;
    }

    private List<String> log() throws IOException {
        Path log = dir.resolve("scripts/log");
        return Files.exists(log) ? Files.readAllLines(log) : List.of();
    }

    @Test
    void aCrashingLiquidsoapIsRestartedWithGrowingBackoffAndGivenUpOnAfterTooManyFailures() throws Exception {
        RestartPolicy policy = new RestartPolicy(3, Duration.ofSeconds(60), Duration.ofMillis(200), Duration.ofSeconds(5),
                Duration.ofSeconds(1));
        start("echo \"run $(date +%s%N)\" >> \"$log\"\nexit 3\n", policy).run("script");

        await().atMost(Duration.ofSeconds(10)).until(() -> gaveUp.get() == 1);
        List<String> runs = log();
        assertEquals(3, runs.size(), runs.toString());
        assertEquals(2, restarts.get());
        long first = Long.parseLong(runs.get(1).split(" ")[1]) - Long.parseLong(runs.get(0).split(" ")[1]);
        long second = Long.parseLong(runs.get(2).split(" ")[1]) - Long.parseLong(runs.get(1).split(" ")[1]);
        assertTrue(first >= 200_000_000L, "first restart after " + first / 1_000_000 + " ms, expected >= 200");
        assertTrue(second >= 400_000_000L, "second restart after " + second / 1_000_000 + " ms, expected >= 400 (doubled)");
        assertFalse(process.isWanted());
        // Given up: nothing restarts it any more.
        await().during(Duration.ofMillis(1000)).atMost(Duration.ofSeconds(2)).until(() -> log().size() == 3);
        assertFalse(process.isRunning());
    }

    @Test
    void stopSendsSigtermAndSigkillsALiquidsoapThatIgnoresIt() throws Exception {
        start("echo started >> \"$log\"\ntrap '' TERM\nwhile :; do sleep 0.05; done\n", RestartPolicy.DEFAULT).run("script");
        await().atMost(Duration.ofSeconds(5)).until(() -> log().contains("started"));
        long pid = process.pid().orElseThrow();

        long t0 = System.nanoTime();
        process.stop(Duration.ofMillis(400)).get(5, TimeUnit.SECONDS);
        long took = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
        assertTrue(took >= 400, "gone after " + took + " ms although it ignores SIGTERM");
        assertTrue(ProcessHandle.of(pid).map(h -> !h.isAlive()).orElse(true));
        assertFalse(process.isRunning());
        assertEquals(0, restarts.get(), "a stopped liquidsoap is not restarted");
    }

    @Test
    void stopEndsAnObedientLiquidsoapWithSigtermAlone() throws Exception {
        start("echo started >> \"$log\"\nexec sleep 60\n", RestartPolicy.DEFAULT).run("script");
        await().atMost(Duration.ofSeconds(5)).until(() -> log().contains("started"));
        long t0 = System.nanoTime();
        process.stop(Duration.ofSeconds(3)).get(5, TimeUnit.SECONDS);
        long took = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
        assertTrue(took < 1000, "SIGTERM took " + took + " ms");
        await().during(Duration.ofMillis(700)).atMost(Duration.ofSeconds(2)).until(() -> log().size() == 1);
    }

    @Test
    void theScriptWithTheSourcePasswordIsReadableByItsOwnerOnlyWhenLiquidsoapReadsIt() throws Exception {
        Path scripts = Files.createDirectories(dir.resolve("scripts"));
        // An older radiod's script, readable by everyone (a left-over temporary file is AtomicFilesTest's case).
        Path script = scripts.resolve("live-64.mp3.liq");
        Files.writeString(script, "old");
        Files.setPosixFilePermissions(script, PosixFilePermissions.fromString("rw-r--r--"));
        start("""
                echo "start $(stat -c %a "$script") $(cat "$script")" >> "$log"
                while :; do sleep 0.05; done
                """, RestartPolicy.DEFAULT);

        process.run("password = \"s3cret\"");
        await().atMost(Duration.ofSeconds(5)).until(() -> log().size() == 1);
        assertEquals("start 600 password = \"s3cret\"", log().get(0), "mode and script as liquidsoap found them");
        assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(script)));
    }

    @Test
    void aNewScriptReplacesTheRunningLiquidsoapOnlyAfterItHasExited() throws Exception {
        start("""
                echo "start $$ $(cat "$script")" >> "$log"
                trap 'sleep 0.3; echo "end $$" >> "$log"; exit 0' TERM
                while :; do sleep 0.05; done
                """, RestartPolicy.DEFAULT);
        process.run("A");
        await().atMost(Duration.ofSeconds(5)).until(() -> log().size() == 1);
        process.run("B");
        await().atMost(Duration.ofSeconds(5)).until(() -> log().size() == 3);
        List<String> log = log();
        String pidA = log.get(0).split(" ")[1];
        assertTrue(log.get(0).endsWith(" A"), log.toString());
        assertEquals("end " + pidA, log.get(1), "the old one has exited before the new one starts: " + log);
        assertTrue(log.get(2).startsWith("start ") && log.get(2).endsWith(" B"), log.toString());
        assertEquals("B", Files.readString(dir.resolve("scripts/live-64.mp3.liq")));

        process.run("B"); // same script: left alone
        await().during(Duration.ofMillis(600)).atMost(Duration.ofSeconds(2)).until(() -> log().size() == 3);
        assertEquals(0, restarts.get());
    }

    @Test
    void liquidsoapsOutputIsLoggedWithTheMountAsContextAndItsLevelButChatterAndRepeatsOnlyInDebug() throws Exception {
        Logger logger = (Logger) LoggerFactory.getLogger(TranscoderProcess.class);
        ListAppender<ILoggingEvent> appender = new ListAppender<>();
        appender.start();
        logger.addAppender(appender);
        try {
            start("""
                    echo '2026/11/22 14:17:41 [/live-64.mp3:2] Connection failed: 401, Unauthorized'
                    echo '2026/11/22 14:17:42 [/live-64.mp3:2] Connection failed: 401, Unauthorized'
                    echo '2026/11/22 14:17:41 [clock.main:3] Streaming loop starts in auto-sync mode'
                    echo '2026/11/22 14:17:41 [safe:3] Switch to silence.'
                    echo '[tcp @ 0x7fc7e8007dc0] Connection to tcp://127.0.0.1:1 failed: Connection refused'
                    echo 'Error 4: Undefined variable x'
                    exec sleep 60
                    """, RestartPolicy.DEFAULT).run("script");
            await().atMost(Duration.ofSeconds(5)).until(() -> appender.list.stream()
                    .anyMatch(e -> e.getFormattedMessage().contains("Undefined variable")));
            List<ILoggingEvent> lines = appender.list.stream()
                    .filter(e -> e.getLoggerName().equals(TranscoderProcess.class.getName()))
                    .filter(e -> e.getThreadName().startsWith("liquidsoap "))
                    .toList();
            assertEquals(3, lines.size(), lines.toString());
            assertEquals(Level.WARN, lines.get(0).getLevel());
            assertEquals("transcoder /live-64.mp3: [/live-64.mp3] Connection failed: 401, Unauthorized", lines.get(0).getFormattedMessage());
            assertEquals(Level.INFO, lines.get(1).getLevel());
            assertEquals("transcoder /live-64.mp3: [safe] Switch to silence.", lines.get(1).getFormattedMessage());
            assertEquals(Level.INFO, lines.get(2).getLevel());
            assertEquals("transcoder /live-64.mp3: Error 4: Undefined variable x", lines.get(2).getFormattedMessage());
            lines.forEach(e -> assertEquals(MOUNT, e.getMDCPropertyMap().get("mount")));
        } finally {
            logger.detachAppender(appender);
        }
    }
}
