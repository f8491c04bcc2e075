package radiod.controller.icecast;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import radiod.cluster.model.Mount;
import radiod.controller.icecast.IcecastPlan.MountPlan;
import radiod.testkit.Ports;

/**
 * A master and a relay Icecast, each under its own supervisor, fed by ffmpeg: what the cluster does with
 * Icecast, minus etcd. Every test leaves the relay pulling /live.mp3 from the master.
 */
class IcecastSupervisorIT {
    private static final Logger log = LoggerFactory.getLogger(IcecastSupervisorIT.class);
    static final String HOST = "127.0.0.1";
    static final Mount LIVE = new Mount("/live.mp3", "source", "live-Pw-1", null, null, 0, 128, null);
    static final Mount SECOND = new Mount("/second.mp3", "dj", "second-Pw-2", null, null, 0, 128, null);
    static final Mount LATE = new Mount("/late.mp3", "source", "late-Pw-3", null, null, 0, 128, null);

    @TempDir
    static Path tmp;
    static final List<AutoCloseable> cleanup = new ArrayList<>();
    static IcecastSupervisor master;
    static IcecastSupervisor relay;

    static IcecastSupervisor start(String name, IcecastPlan plan) {
        IcecastSettings settings = IcecastSettings.of(tmp.resolve(name), HOST, Ports.free(HOST), HOST);
        IcecastSupervisor s = new IcecastSupervisor(settings);
        cleanup.add(s);
        s.apply(plan);
        s.start();
        return s;
    }

    static Tone tone(IcecastSupervisor icecast, Mount m, int hertz) {
        Tone t = Tone.push(HOST, icecast.settings().port(), m.path(), m.sourceUser(), m.sourcePassword(), hertz);
        cleanup.add(t);
        return t;
    }

    static IcecastPlan masterPlan(Mount... mounts) {
        return IcecastPlan.master(List.of(mounts).stream().map(MountPlan::onMaster).toList());
    }

    static IcecastPlan relayPlan(IcecastSupervisor from, Mount... mounts) {
        return IcecastPlan.relay(HOST, from.settings().port(), List.of(mounts).stream().map(MountPlan::onRelay).toList());
    }

    static final Map<IcecastSupervisor, IcecastStatusReader> readers = new ConcurrentHashMap<>();

    /** A fresh status read (the supervisor's own poll runs every 500 ms). */
    static IcecastStats now(IcecastSupervisor s) {
        return readers.computeIfAbsent(s, x -> new IcecastStatusReader(x.settings())).read();
    }

    static boolean live(IcecastSupervisor s, String mount) {
        return now(s).listenersByMount().containsKey(mount);
    }

    static int listeners(IcecastSupervisor s, String mount) {
        return now(s).listenersByMount().getOrDefault(mount, -1);
    }

    /** The times (to the second) at which the relay's Icecast tried the mount and found no source. */
    static List<String> failedRelayAttempts(Path errorLog, String mount) throws IOException {
        return Files.readAllLines(errorLog).stream()
                .filter(l -> l.contains("Error from relay request: " + mount + " "))
                .map(l -> l.substring(1, l.indexOf(']')).strip())
                .toList();
    }

    /**
     * How long after SIGHUP Icecast 2.4.4 serves a changed relay: its slave thread re-reads the config at the top
     * of a 1 s loop and starts relays after the next 1 s sleep, so 1-2 s, plus the connection to the master
     * (measured 1.3-2.3 s).
     */
    static final Duration RELAY_AFTER_RELOAD = Duration.ofSeconds(3);

    static boolean applied(CompletableFuture<Boolean> f) throws Exception {
        return f.get(5, TimeUnit.SECONDS);
    }

    @BeforeAll
    static void masterAndRelay() throws IOException {
        // JUnit's temp dir is root-only; Icecast runs as icecast2 and must reach its working dir.
        Files.setPosixFilePermissions(tmp, PosixFilePermissions.fromString("rwxr-xr-x"));
        master = start("master", masterPlan(LIVE));
        relay = start("relay", relayPlan(master, LIVE));
        await().atMost(Duration.ofSeconds(5)).until(() -> master.stats().up());
        tone(master, LIVE, 440);
        await().atMost(Duration.ofSeconds(10)).until(() -> live(relay, LIVE.path()));
    }

    @AfterAll
    static void stopAll() {
        // Icecast takes a second or more to stop on SIGTERM: stop them side by side.
        cleanup.parallelStream().forEach(c -> {
            try {
                c.close();
            } catch (Exception e) {
                log.warn("cleanup: {}", e.toString());
            }
        });
    }

    @Test
    void icecastRunsOnTheRenderedConfigAndOnlyItsRandomAdminPasswordOpensAdmin() throws IOException {
        IcecastSettings s = master.settings();
        String config = Files.readString(s.configFile());

        assertEquals(IcecastConfig.render(s, master.plan()), config);
        assertEquals(200, IcecastClient.status(HOST, s.port(), "/status-json.xsl", null, null));
        assertEquals(200, IcecastClient.status(HOST, s.port(), "/admin/stats", "admin", s.adminPassword()));
        assertEquals(401, IcecastClient.status(HOST, s.port(), "/admin/stats", "admin", "hackme"));
        assertEquals(401, IcecastClient.status(HOST, s.port(), "/admin/stats", "admin", relay.settings().adminPassword()));
        Matcher passwords = Pattern.compile("<([a-z-]*password)>([^<]*)</").matcher(config);
        List<String> found = new ArrayList<>();
        while (passwords.find()) {
            found.add(passwords.group(2));
        }
        List<String> allowed = new ArrayList<>(List.of(s.adminPassword(), s.sourcePassword()));
        master.plan().mounts().forEach(m -> allowed.add(m.sourcePassword()));
        assertTrue(allowed.containsAll(found), found + " beyond " + allowed);
        Map<String, SentBytesRate.Counter> counters = IcecastStatusReader.parseAdminStats(
                IcecastClient.body(HOST, s.port(), "/admin/stats", "admin", s.adminPassword()));
        assertTrue(counters.containsKey(LIVE.path()) && !counters.get(LIVE.path()).streamStart().isEmpty(),
                "the bandwidth measurement reads Icecast's real /admin/stats: " + counters);
        assertTrue(master.stats().bandwidthBps() >= 128_000, "the relay listens to the master's /live.mp3");
        assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(s.configFile())));
        assertEquals("icecast2", Files.getOwner(s.configFile()).getName(), "Icecast re-reads it as icecast2 on SIGHUP");
    }

    @Test
    void theMasterTakesTheMountsSourceAndRejectsAnyOtherCredentials() {
        int port = master.settings().port();

        await().atMost(Duration.ofSeconds(5)).until(() -> master.stats().listenersByMount().containsKey(LIVE.path()));
        assertEquals(401, IcecastClient.sourcePut(HOST, port, LIVE.path(), "source", "wrong"));
        assertEquals(401, IcecastClient.sourcePut(HOST, port, "/unknown.mp3", "source", "hackme"));
        assertEquals(401, IcecastClient.sourcePut(HOST, port, "/unknown.mp3", "admin", master.settings().adminPassword()));
        assertEquals(401, IcecastClient.sourcePut(HOST, relay.settings().port(), "/elsewhere.mp3", "source",
                LIVE.sourcePassword()), "a relay takes no source");
    }

    @Test
    void aListenerOnTheRelayGetsMp3Frames() {
        byte[] audio = IcecastClient.listen(HOST, relay.settings().port(), LIVE.path(), 16 * 1024);

        assertTrue(Mp3.hasFrames(audio, 5), "5 consecutive MP3 frames in the first 16 KiB");
    }

    @Test
    void aReloadAddsAMountOnMasterAndRelayWithoutRestartingEither() throws Exception {
        long masterPid = master.pid().orElseThrow();
        long relayPid = relay.pid().orElseThrow();

        assertTrue(applied(master.apply(masterPlan(LIVE, SECOND))));
        // The tone reconnects until the master has re-read its config and knows the new mount's credentials.
        try (Tone second = tone(master, SECOND, 660)) {
            await().atMost(Duration.ofSeconds(10)).until(() -> live(master, SECOND.path()));
            long applied = System.nanoTime();
            assertTrue(applied(relay.apply(relayPlan(master, LIVE, SECOND))));
            await().atMost(RELAY_AFTER_RELOAD).pollInterval(Duration.ofMillis(50)).until(() -> live(relay, SECOND.path()));
            log.info("measured: a mount added by SIGHUP relays after {} ms", TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - applied));

            assertTrue(live(relay, LIVE.path()), "the mount already relayed kept going");
            assertTrue(Mp3.hasFrames(IcecastClient.listen(HOST, relay.settings().port(), SECOND.path(), 8192), 3));
            assertEquals(masterPid, master.pid().orElseThrow());
            assertEquals(relayPid, relay.pid().orElseThrow());
            assertEquals(1, master.starts());
            assertEquals(1, relay.starts());
        } finally {
            relay.apply(relayPlan(master, LIVE)).get(5, TimeUnit.SECONDS);
        }
    }

    @Test
    void reapplyingAnEqualPlanDoesNotReload() throws Exception {
        long before = relay.reloads();

        assertFalse(applied(relay.apply(relayPlan(master, LIVE))));
        assertEquals(before, relay.reloads());
    }

    @Test
    void theRelayFollowsANewMasterAfterAReload() throws Exception {
        IcecastSupervisor newMaster = start("new-master", masterPlan(LIVE));
        long relayPid = relay.pid().orElseThrow();
        try (Tone t = tone(newMaster, LIVE, 880)) {
            await().atMost(Duration.ofSeconds(10)).until(() -> live(newMaster, LIVE.path()));
            assertEquals(0, listeners(newMaster, LIVE.path()));
            long applied = System.nanoTime();

            assertTrue(applied(relay.apply(relayPlan(newMaster, LIVE))));

            await().atMost(RELAY_AFTER_RELOAD).pollInterval(Duration.ofMillis(50))
                    .until(() -> listeners(newMaster, LIVE.path()) == 1);
            log.info("measured: relay moved to the new master {} ms after the reload",
                    TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - applied));
            await().atMost(Duration.ofSeconds(2)).until(() -> listeners(master, LIVE.path()) == 0);
            await().atMost(Duration.ofSeconds(2)).until(() -> live(relay, LIVE.path()));
            assertTrue(Mp3.hasFrames(IcecastClient.listen(HOST, relay.settings().port(), LIVE.path(), 8192), 3));
            assertEquals(relayPid, relay.pid().orElseThrow());
        } finally {
            relay.apply(relayPlan(master, LIVE)).get(5, TimeUnit.SECONDS);
            await().atMost(Duration.ofSeconds(5)).until(() -> listeners(master, LIVE.path()) == 1);
            newMaster.close();
        }
    }

    @Test
    void aRelayPicksUpASourceThatArrivesAfterItWithinThreeSeconds() throws Exception {
        master.apply(masterPlan(LIVE, SECOND, LATE)).get(5, TimeUnit.SECONDS);
        relay.apply(relayPlan(master, LIVE, LATE)).get(5, TimeUnit.SECONDS);
        Path relayErrors = relay.settings().logDir().resolve("error.log");
        await().atMost(Duration.ofSeconds(8)).until(() -> failedRelayAttempts(relayErrors, LATE.path()).size() >= 2);
        log.info("measured: failed relay attempts at {}", failedRelayAttempts(relayErrors, LATE.path()));
        try (Tone late = tone(master, LATE, 550)) {
            await().atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(50)).until(() -> live(master, LATE.path()));
            long onMaster = System.nanoTime();

            // A failed relay is retried every 2 s (master-update-interval 1), plus the connection: at most ~2.3 s.
            await().atMost(Duration.ofSeconds(3)).pollInterval(Duration.ofMillis(50)).until(() -> live(relay, LATE.path()));

            log.info("measured: relay retry picked up a new source {} ms after it went live on the master",
                    TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - onMaster));
        } finally {
            relay.apply(relayPlan(master, LIVE)).get(5, TimeUnit.SECONDS);
        }
    }
}
