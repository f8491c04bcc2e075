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
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import radiod.cluster.model.MasterInfo;
import radiod.cluster.model.Mount;
import radiod.cluster.view.ClusterSnapshot;
import radiod.controller.icecast.IcecastClient.Listener;
import radiod.testkit.Ports;
import radiod.testkit.encoder.RetryingEncoder;
import radiod.testkit.encoder.Tone;

/**
 * Two nodes' Icecasts, each under its own supervisor and configured alike from the same view, fed the way radiod's
 * Feed does it: a PUT with that Icecast's own random global source password (here ffmpeg's, user {@code source}),
 * for any mount, with no reload. What the cluster does with Icecast, minus etcd and radiod's carry. Every test
 * leaves both nodes fed /live.mp3 (by {@link Tone}) and on the plan of {@link #VIEW}, with no listener.
 */
class IcecastSupervisorIT {
    private static final Logger log = LoggerFactory.getLogger(IcecastSupervisorIT.class);
    static final String HOST = "127.0.0.1";
    static final Mount LIVE = new Mount("/live.mp3", "source", "live-Pw-1", null, null, 0, 128, null);
    /** Declared in icecast.xml, for its fallback only. */
    static final Mount SHOW = new Mount("/show.mp3", "dj", "show-Pw-2", null, "/live.mp3", 0, 128, null);
    static final Mount LATE = new Mount("/late.mp3", "source", "late-Pw-3", null, "/live.mp3", 0, 128, null);
    static final ClusterSnapshot VIEW = view("node1", LIVE, SHOW);

    @TempDir
    static Path tmp;
    static final List<AutoCloseable> cleanup = new ArrayList<>();
    static final List<Process> encoders = new ArrayList<>();
    static IcecastSupervisor node1;
    static IcecastSupervisor node2;

    static ClusterSnapshot view(String master, Mount... mounts) {
        Map<String, Mount> byPath = new java.util.HashMap<>();
        for (Mount m : mounts) {
            byPath.put(m.path(), m);
        }
        Optional<MasterInfo> m = master == null ? Optional.empty()
                : Optional.of(new MasterInfo(master, List.of("127.0.0." + (10 + master.charAt(master.length() - 1) - '0')),
                        8100, 8000, 8080, 1));
        return new ClusterSnapshot(1, Map.of(), m, byPath, Map.of(), Map.of());
    }

    static IcecastSupervisor start(String name, IcecastPlan plan) {
        IcecastSettings settings = IcecastSettings.of(tmp.resolve(name), HOST, Ports.free(HOST), HOST);
        IcecastSupervisor s = new IcecastSupervisor(settings);
        cleanup.add(s);
        s.apply(plan);
        s.start();
        return s;
    }

    /** radiod's Feed, as a reconnecting encoder: user {@code source}, the node's own global password. */
    static RetryingEncoder feedForever(IcecastSupervisor node, String mount, int hertz) {
        RetryingEncoder t = RetryingEncoder.of(Tone.mp3(Tone.url("source", node.settings().sourcePassword(), HOST,
                node.settings().port(), mount)).hertz(hertz));
        cleanup.add(t);
        return t;
    }

    /** One ffmpeg run (no reconnect, so a refusal shows as its exit); its output goes to {@code log}. */
    static Process ffmpeg(IcecastSupervisor node, String mount, String user, String password, int hertz, Path out)
            throws IOException {
        Process p = Tone.mp3(Tone.url(user, password, HOST, node.settings().port(), mount)).hertz(hertz).start(out);
        synchronized (encoders) {
            encoders.add(p);
        }
        return p;
    }

    /** A feed with the node's global source password, as radiod's Feed sends it. */
    static Process feed(IcecastSupervisor node, String mount, int hertz) throws IOException {
        return ffmpeg(node, mount, "source", node.settings().sourcePassword(), hertz,
                tmp.resolve("ffmpeg-" + mount.substring(1) + "-" + System.nanoTime() + ".log"));
    }

    static void stop(Process encoder) throws InterruptedException {
        encoder.destroy();
        if (!encoder.waitFor(3, TimeUnit.SECONDS)) {
            encoder.destroyForcibly().waitFor(2, TimeUnit.SECONDS);
        }
    }

    static final Map<IcecastSupervisor, IcecastStatusReader> readers = new ConcurrentHashMap<>();

    /** A fresh status read (the supervisor's own poll runs every 500 ms). */
    static IcecastStats now(IcecastSupervisor s) {
        return readers.computeIfAbsent(s, x -> new IcecastStatusReader(x.settings())).read();
    }

    /** Whether the mount has a source of its own (a declared mount without one is listed, but without stream_start). */
    static boolean live(IcecastSupervisor s, String mount) {
        return now(s).listenersByMount().containsKey(mount);
    }

    /** Listeners Icecast counts on the mount's own source; -1 when it has none. */
    static int listeners(IcecastSupervisor s, String mount) {
        return now(s).listenersByMount().getOrDefault(mount, -1);
    }

    static String streamStart(IcecastSupervisor s, String mount) {
        IcecastSettings x = s.settings();
        return IcecastStatusReader.parseAdminStats(IcecastClient.body(HOST, x.port(), "/admin/stats", "admin",
                x.adminPassword())).get(mount).streamStart();
    }

    static void awaitMoreAudio(Listener l, String what) {
        long at = l.received();
        await(what).atMost(Duration.ofSeconds(3)).until(() -> l.received() >= at + 8192);
        assertTrue(l.connected(), what);
    }

    static boolean applied(CompletableFuture<Boolean> f) throws Exception {
        return f.get(5, TimeUnit.SECONDS);
    }

    static long millisSince(long t0) {
        return TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
    }

    @BeforeAll
    static void twoNodesFedLive() throws IOException {
        // JUnit's temp dir is root-only; Icecast runs as icecast2 and must reach its working dir.
        Files.setPosixFilePermissions(tmp, PosixFilePermissions.fromString("rwxr-xr-x"));
        node1 = start("node1", IcecastPlan.of(VIEW));
        node2 = start("node2", IcecastPlan.of(VIEW));
        await().atMost(Duration.ofSeconds(5)).until(() -> node1.stats().up() && node2.stats().up());
        feedForever(node1, LIVE.path(), 440);
        feedForever(node2, LIVE.path(), 440);
        await().atMost(Duration.ofSeconds(10)).until(() -> live(node1, LIVE.path()) && live(node2, LIVE.path()));
    }

    @AfterAll
    static void stopAll() {
        synchronized (encoders) {
            encoders.forEach(Process::destroyForcibly);
        }
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
        IcecastSettings s = node1.settings();
        String config = Files.readString(s.configFile());

        assertEquals(IcecastConfig.render(s, node1.plan()), config);
        assertEquals(200, IcecastClient.status(HOST, s.port(), "/status-json.xsl", null, null));
        assertEquals(200, IcecastClient.status(HOST, s.port(), "/admin/stats", "admin", s.adminPassword()));
        assertEquals(401, IcecastClient.status(HOST, s.port(), "/admin/stats", "admin", "hackme"));
        assertEquals(401, IcecastClient.status(HOST, s.port(), "/admin/stats", "admin", s.sourcePassword()));
        assertEquals(401, IcecastClient.status(HOST, s.port(), "/admin/stats", "admin", node2.settings().adminPassword()));
        Matcher passwords = Pattern.compile("<([a-z-]*password)>([^<]*)</").matcher(config);
        List<String> found = new ArrayList<>();
        while (passwords.find()) {
            found.add(passwords.group(2));
        }
        assertEquals(List.of(s.sourcePassword(), s.adminPassword()), found, "the node's two random passwords only");
        assertNotEquals(s.sourcePassword(), node2.settings().sourcePassword(), "each node has its own");
        Map<String, SentBytesRate.Counter> counters = IcecastStatusReader.parseAdminStats(
                IcecastClient.body(HOST, s.port(), "/admin/stats", "admin", s.adminPassword()));
        assertTrue(counters.containsKey(LIVE.path()) && !counters.get(LIVE.path()).streamStart().isEmpty(),
                "the bandwidth measurement reads Icecast's real /admin/stats: " + counters);
        try (Listener l = Listener.open(HOST, s.port(), LIVE.path())) {
            await().atMost(Duration.ofSeconds(3)).until(() -> node1.stats().bandwidthBps() >= 128_000);
        }
        assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(s.configFile())));
        assertEquals("icecast2", Files.getOwner(s.configFile()).getName(), "Icecast re-reads it as icecast2 on SIGHUP");
    }

    /**
     * A supervisor nudged as radiod's Feed nudges it when Icecast takes a feed ({@link IcecastSupervisor#pollSoon()})
     * has the new mount in its stats, which the node publishes, within one fast poll (50 ms) of Icecast listing it,
     * not at its next 500 ms poll. Three mounts in turn: unnudged, each would be seen that soon about one time in
     * four, all three one time in sixty.
     */
    @Test
    void aNudgedSupervisorSeesANewMountWithinOneFastPollOfIcecastListingIt() throws Exception {
        for (int i = 0; i < 3; i++) {
            String mount = "/nudged" + i + ".mp3";
            Process feed = feed(node1, mount, 600 + 10 * i);
            try {
                long[] listed = {0};
                long[] nudged = {0};
                await().atMost(Duration.ofSeconds(5)).pollInterval(Duration.ofMillis(5)).until(() -> {
                    if (System.nanoTime() - nudged[0] > TimeUnit.MILLISECONDS.toNanos(500)) {
                        nudged[0] = System.nanoTime(); // the nudge lasts a second: keep it going until the feed is in
                        node1.pollSoon();
                    }
                    return live(node1, mount);
                });
                listed[0] = System.nanoTime();
                await().atMost(Duration.ofSeconds(1)).pollInterval(Duration.ofMillis(2))
                        .until(() -> node1.stats().listenersByMount().containsKey(mount));
                long late = millisSince(listed[0]);
                log.info("measured: the supervisor saw {} {} ms after Icecast listed it", mount, late);
                assertTrue(late <= 150, "seen " + late + " ms after Icecast listed " + mount + " (one fast poll: 50 ms)");
            } finally {
                stop(feed);
            }
        }
    }

    /**
     * How long a mount live here before has been missing (what sends players coming back for it to a node that serves
     * it): 0 for a mount never live here and while it is live, then the time since the supervisor last saw it live.
     */
    @Test
    void aMountThatWasLiveHereIsCountedLostFromWhenItWasLastSeen() throws Exception {
        String mount = "/lost.mp3";
        assertEquals(0, node1.mountLostMillis(mount), "never live here");
        Process feed = feed(node1, mount, 660);
        long stopping;
        try {
            await().atMost(Duration.ofSeconds(3)).pollInterval(Duration.ofMillis(20))
                    .until(() -> node1.stats().listenersByMount().containsKey(mount));
            assertEquals(0, node1.mountLostMillis(mount), "live");
        } finally {
            stopping = System.nanoTime();
            stop(feed);
        }
        await().atMost(Duration.ofSeconds(3)).pollInterval(Duration.ofMillis(20))
                .until(() -> !node1.stats().listenersByMount().containsKey(mount));
        // Last seen live by a poll no earlier than one poll gap before the stop (0.5 s and a read, at most 1.5 s): lost
        // since then, and growing.
        long lost = node1.mountLostMillis(mount);
        long sinceStop = millisSince(stopping);
        assertTrue(lost > 0 && lost <= sinceStop + 2_000, lost + " ms lost, " + sinceStop + " ms since the stop began");
        await().atMost(Duration.ofSeconds(2)).until(() -> node1.mountLostMillis(mount) >= lost + 1_000);
        assertEquals(0, node1.mountLostMillis("/live.mp3"), "another mount, live");
    }

    /**
     * A node keeps when each mount was last live for as long as the config names it, and forgets it at the next plan
     * once the config does not: each mount name ever fed here would otherwise stay for the process's life.
     */
    @Test
    void aMountGoneFromTheConfigAndNotLiveIsForgottenAtTheNextPlan() throws Exception {
        Mount kept = new Mount("/kept.mp3", "source", "kept-Pw-4", null, null, 0, 128, null);
        String gone = "/gone.mp3";
        Process keptFeed = feed(node2, kept.path(), 770);
        Process goneFeed = feed(node2, gone, 880);
        try {
            await().atMost(Duration.ofSeconds(3)).pollInterval(Duration.ofMillis(20)).until(() ->
                    node2.stats().listenersByMount().keySet().containsAll(List.of(kept.path(), gone)));
        } finally {
            stop(keptFeed);
            stop(goneFeed);
        }
        await().atMost(Duration.ofSeconds(3)).pollInterval(Duration.ofMillis(20)).until(() ->
                node2.mountLostMillis(kept.path()) > 0 && node2.mountLostMillis(gone) > 0);
        assertTrue(node2.mountsRemembered().containsAll(List.of(kept.path(), gone, LIVE.path())));

        try {
            applied(node2.apply(IcecastPlan.of(view("node1", LIVE, SHOW, kept))));
            assertEquals(0, node2.mountLostMillis(gone), "forgotten: as if never live here");
            assertTrue(node2.mountLostMillis(kept.path()) > 0, "still in the config: still lost");
            assertFalse(node2.mountsRemembered().contains(gone));
            assertTrue(node2.mountsRemembered().containsAll(List.of(LIVE.path(), kept.path())));
        } finally {
            applied(node2.apply(IcecastPlan.of(VIEW))); // every test leaves both nodes on VIEW's plan
        }
        assertEquals(0, node2.mountLostMillis(kept.path()));
        assertFalse(node2.mountsRemembered().contains(kept.path()));
        assertTrue(node2.mountsRemembered().contains(LIVE.path()), "live");
    }

    @Test
    void aFeedWithTheGlobalPasswordIsTakenAtOnceForAMountNotInTheConfigWithoutAReload() throws Exception {
        String mount = "/new.mp3";
        int port = node1.settings().port();
        long reloads = node1.reloads();
        String config = Files.readString(node1.settings().configFile());
        assertFalse(config.contains(mount));
        assertFalse(live(node1, mount));
        assertEquals(404, IcecastClient.status(HOST, port, mount, null, null));

        long t0 = System.nanoTime();
        Process feed = feed(node1, mount, 550);
        try {
            await().atMost(Duration.ofSeconds(1)).pollInterval(Duration.ofMillis(20)).until(() -> live(node1, mount));
            log.info("measured: a feed for a mount not in the config was live {} ms after ffmpeg started", millisSince(t0));

            assertTrue(feed.isAlive(), "taken, not refused");
            assertTrue(Mp3.hasFrames(IcecastClient.listen(HOST, port, mount, 8192), 3), "and served to listeners");
            assertEquals(reloads, node1.reloads(), "no reload");
            assertEquals(1, node1.starts(), "no restart");
            assertEquals(config, Files.readString(node1.settings().configFile()));
        } finally {
            stop(feed);
        }
        await().atMost(Duration.ofSeconds(2)).until(() -> !live(node1, mount));
    }

    @Test
    void aDeclaredMountTakesTheGlobalPasswordAndItsListenersFallBackWhileItsFeedIsGone() throws Exception {
        int port = node1.settings().port();
        long reloads = node1.reloads();
        assertTrue(Files.readString(node1.settings().configFile()).contains("<mount-name>/show.mp3</mount-name>"));
        await().atMost(Duration.ofSeconds(3)).until(() -> listeners(node1, LIVE.path()) == 0);

        long t0 = System.nanoTime();
        Process show = feed(node1, SHOW.path(), 660);
        Process back = null;
        try (Listener l = awaitLive(node1, SHOW.path(), t0)) {
            await().atMost(Duration.ofSeconds(2)).until(() -> listeners(node1, SHOW.path()) == 1);

            stop(show);
            long gone = System.nanoTime();
            await("the listener moves to the fallback").atMost(Duration.ofSeconds(2)).pollInterval(Duration.ofMillis(20))
                    .until(() -> !live(node1, SHOW.path()) && listeners(node1, LIVE.path()) == 1);
            log.info("measured: listeners moved to the fallback {} ms after the feed left", millisSince(gone));
            awaitMoreAudio(l, "the same connection goes on with the fallback's audio");

            long returned = System.nanoTime();
            back = feed(node1, SHOW.path(), 660);
            await("the listener moves back").atMost(Duration.ofSeconds(2)).pollInterval(Duration.ofMillis(20))
                    .until(() -> listeners(node1, SHOW.path()) == 1 && listeners(node1, LIVE.path()) == 0);
            log.info("measured: listeners moved back {} ms after the feed was started again", millisSince(returned));
            awaitMoreAudio(l, "the same connection goes on with the mount's own audio");
            assertTrue(back.isAlive());
            assertEquals(reloads, node1.reloads(), "no reload on the way");
        } finally {
            stop(show);
            if (back != null) {
                stop(back);
            }
        }
    }

    /** A listener of the mount, opened as soon as the mount is live (within 1 s of {@code t0}). */
    static Listener awaitLive(IcecastSupervisor node, String mount, long t0) {
        await(mount + " live within 1 s").atMost(Duration.ofSeconds(1)).pollInterval(Duration.ofMillis(20))
                .until(() -> live(node, mount));
        log.info("measured: {} live {} ms after ffmpeg started", mount, millisSince(t0));
        return Listener.open(HOST, node.settings().port(), mount);
    }

    /**
     * What Icecast 2.4.4 does with {@code <fallback-override>}: when a mount's source starts, it takes EVERY
     * listener of the fallback mount's source, not only those that fell back from it; a client that asked for
     * /live.mp3 ends up hearing /show.mp3.
     */
    @Test
    void fallbackOverrideAlsoTakesTheListenersThatAskedForTheFallbackItself() throws Exception {
        int port = node2.settings().port();
        await().atMost(Duration.ofSeconds(3)).until(() -> listeners(node2, LIVE.path()) == 0);
        assertFalse(live(node2, SHOW.path()));

        Process show = null;
        try (Listener onLive = Listener.open(HOST, port, LIVE.path())) {
            await().atMost(Duration.ofSeconds(2)).until(() -> listeners(node2, LIVE.path()) == 1);

            long t0 = System.nanoTime();
            show = feed(node2, SHOW.path(), 660);
            await().atMost(Duration.ofSeconds(2)).pollInterval(Duration.ofMillis(20))
                    .until(() -> listeners(node2, SHOW.path()) == 1 && listeners(node2, LIVE.path()) == 0);
            log.info("measured: a listener of /live.mp3 was moved to /show.mp3 {} ms after its feed started",
                    millisSince(t0));
            awaitMoreAudio(onLive, "moved, not dropped");
        } finally {
            if (show != null) {
                stop(show);
            }
        }
    }

    @Test
    void aMasterChangeInTheViewGivesAnEqualPlanAndNoReload() throws Exception {
        for (IcecastSupervisor node : List.of(node1, node2)) {
            long reloads = node.reloads();
            String config = Files.readString(node.settings().configFile());

            assertFalse(applied(node.apply(IcecastPlan.of(view("node2", LIVE, SHOW)))), "node2 master");
            assertFalse(applied(node.apply(IcecastPlan.of(view(null, LIVE, SHOW)))), "no master");
            assertFalse(applied(node.apply(IcecastPlan.of(view("node3", LIVE, SHOW)))), "node3 master");

            assertEquals(reloads, node.reloads());
            assertEquals(config, Files.readString(node.settings().configFile()));
            assertTrue(live(node, LIVE.path()));
            node.apply(IcecastPlan.of(VIEW)).get(5, TimeUnit.SECONDS);
        }
        assertEquals(node1.plan(), node2.plan(), "every node's Icecast is configured alike");
    }

    @Test
    void reapplyingAnEqualPlanDoesNotReload() throws Exception {
        long before = node2.reloads();

        assertFalse(applied(node2.apply(IcecastPlan.of(VIEW))));
        assertEquals(before, node2.reloads());
    }

    @Test
    void aNewFallbackIsLoadedBySighupWithoutRestartingIcecastOrDroppingItsFeedsOrListeners() throws Exception {
        int port = node2.settings().port();
        long pid = node2.pid().orElseThrow();
        long reloads = node2.reloads();
        String liveSince = streamStart(node2, LIVE.path());
        assertEquals(404, IcecastClient.status(HOST, port, LATE.path(), null, null), "no source, no fallback yet");

        try (Listener onLive = Listener.open(HOST, port, LIVE.path())) {
            assertTrue(applied(node2.apply(IcecastPlan.of(view("node1", LIVE, SHOW, LATE)))));
            assertEquals(reloads + 1, node2.reloads());

            // Loaded once /late.mp3 (no source) sends its listeners to its fallback.
            await().atMost(Duration.ofSeconds(3)).pollInterval(Duration.ofMillis(50))
                    .until(() -> IcecastClient.status(HOST, port, LATE.path(), null, null) == 200);
            assertTrue(Mp3.hasFrames(IcecastClient.listen(HOST, port, LATE.path(), 8192), 3));
            awaitMoreAudio(onLive, "a listener stays through the reload");
            assertEquals(liveSince, streamStart(node2, LIVE.path()), "the feed stays through the reload");
            assertEquals(pid, node2.pid().orElseThrow());
            assertEquals(1, node2.starts());
        } finally {
            node2.apply(IcecastPlan.of(VIEW)).get(5, TimeUnit.SECONDS);
        }
    }

    @Test
    void anyOtherPasswordOrUserIsRefusedWith401() throws Exception {
        IcecastSettings s = node1.settings();
        int port = s.port();
        List<String[]> wrong = List.of(
                new String[] {"source", "wrong"},
                new String[] {"source", "hackme"},
                new String[] {"source", ""},
                new String[] {"source", node2.settings().sourcePassword()},
                new String[] {"source", s.adminPassword()},
                new String[] {"admin", s.adminPassword()},
                new String[] {"source", LIVE.sourcePassword()},
                new String[] {SHOW.sourceUser(), SHOW.sourcePassword()},
                new String[] {"relay", s.sourcePassword()},
                new String[] {"radiod", s.sourcePassword()});
        for (String mount : List.of(LIVE.path(), SHOW.path(), "/nobody.mp3")) {
            for (String[] credentials : wrong) {
                assertEquals(401, IcecastClient.sourcePut(HOST, port, mount, credentials[0], credentials[1]),
                        credentials[0] + ":" + credentials[1] + " on " + mount);
            }
        }
        assertEquals(200, IcecastClient.sourcePut(HOST, port, "/nobody.mp3", "source", s.sourcePassword()),
                "while the right ones are taken");

        Path out = tmp.resolve("ffmpeg-refused.log");
        Process refused = ffmpeg(node1, "/refused.mp3", "source", "wrong", 330, out);
        assertTrue(refused.waitFor(5, TimeUnit.SECONDS), "ffmpeg gives up");
        assertNotEquals(0, refused.exitValue());
        assertTrue(Files.readString(out).contains("401"), Files.readString(out));
        assertFalse(live(node1, "/refused.mp3"));
        assertEquals(1, node1.starts());
    }
}
