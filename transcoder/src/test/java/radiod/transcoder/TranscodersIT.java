package radiod.transcoder;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
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
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.Client;
import radiod.cluster.etcd.EtcdClients;
import radiod.cluster.etcd.EtcdOptions;
import radiod.cluster.etcd.Keys;
import radiod.cluster.model.Json;
import radiod.cluster.model.MasterInfo;
import radiod.cluster.model.Mount;
import radiod.cluster.model.TranscoderOwner;
import radiod.cluster.model.Transcoding;
import radiod.testkit.EtcdCluster;
import radiod.testkit.Icecast;
import radiod.transcoder.process.RestartPolicy;
import radiod.transcoder.script.LiquidsoapScript.Endpoint;

/**
 * Elected transcoders against real etcd, Icecast, liquidsoap and ffmpeg. Two plain Icecasts on loopback
 * addresses stand in for a node's own Icecast (where liquidsoap pulls the source mount from; ffmpeg feeds it)
 * and for its source front (where liquidsoap pushes the transcoded mount to, with the mount's credentials, and
 * where the tests listen to it). {@code master} and {@code mounts/} are written by hand; each test has its own
 * key prefix and its own "nodes" (sessions in this JVM, or a node in a child JVM where it must die with SIGKILL),
 * all sharing the two Icecasts.
 */
class TranscodersIT {
    private static final int TTL = 3;
    private static final String TONE_PASSWORD = "tone-secret";
    private static final Mount LIVE = new Mount("/live.mp3", "source", TONE_PASSWORD, null, null, 0, 128, null);
    /** Its password needs every escape liquidsoap strings have. */
    private static final Mount MP3_64 = new Mount("/live-64.mp3", "transcoder", "p\"a\\ss#{x}", null, null, 0, 0,
            new Transcoding("/live.mp3", "mp3", 64, 44100, 2, null));
    private static final Mount OPUS = new Mount("/live.opus", "transcoder", "opus-secret", null, null, 0, 0,
            new Transcoding("/live.mp3", "opus", 48, 48000, 2, null));
    private static final Mount VORBIS = new Mount("/live.ogg", "transcoder", "vorbis-secret", null, null, 0, 0,
            new Transcoding("/live.mp3", "vorbis", 96, 44100, 2, null));
    /** Transcoded from a mount that has no source: its listeners get silence. */
    private static final Mount QUIET_64 = new Mount("/quiet-64.mp3", "transcoder", "quiet-secret", null, null, 0, 0,
            new Transcoding("/quiet.mp3", "mp3", 64, 44100, 2, null));
    private static final List<Mount> ALL = List.of(LIVE, MP3_64, OPUS, VORBIS, QUIET_64);

    @RegisterExtension
    static final EtcdCluster etcd = EtcdCluster.single();

    /** The nodes' own Icecast: carries /live.mp3 (a tone from ffmpeg), and nothing else. */
    private static Icecast local;
    /** The nodes' source front: takes each transcoded mount with its own credentials, and nothing else. */
    private static Icecast front;
    private static Process tone;
    private static Client client;

    @TempDir
    Path root;

    private final List<AutoCloseable> cleanup = new ArrayList<>();

    @BeforeAll
    static void startIcecasts() {
        local = Icecast.start("127.0.0.41", sources(List.of(LIVE)));
        front = Icecast.start("127.0.0.43", sources(ALL.stream().filter(Mount::isTranscoded).toList()));
        tone = Audio.tone(local, LIVE.path(), TONE_PASSWORD);
        client = EtcdClients.connect(EtcdOptions.of(etcd.endpoints()));
        await().atMost(Duration.ofSeconds(10)).until(() -> local.hasSource(LIVE.path()));
    }

    @AfterAll
    static void stopIcecasts() {
        if (tone != null) {
            tone.destroyForcibly();
        }
        if (local != null) {
            local.close();
        }
        if (front != null) {
            front.close();
        }
        if (client != null) {
            client.close();
        }
    }

    @AfterEach
    void closeNodes() throws Exception {
        for (int i = cleanup.size() - 1; i >= 0; i--) {
            cleanup.get(i).close();
        }
        // Nothing a test started survives it, and the source front is free for the next test.
        await().atMost(Duration.ofSeconds(5)).until(() -> liquidsoaps(root, null).isEmpty());
        await().atMost(Duration.ofSeconds(5)).until(() -> front.sources().isEmpty());
    }

    @Test
    void exactlyOneLiquidsoapRunsEachTranscodedMountAndListenersGetTheRequestedFormats() throws Exception {
        Keys keys = new Keys("/t1/");
        putMaster(keys, "master-a");
        for (Mount m : List.of(LIVE, MP3_64, OPUS, VORBIS)) {
            put(keys.mount(m.path()), m);
        }
        List<TestNode> nodes = new ArrayList<>();
        for (String name : List.of("node1", "node2", "node3")) {
            nodes.add(node(keys, name));
        }
        Sampler sampler = sampler(List.of(MP3_64, OPUS, VORBIS));

        for (Mount m : List.of(MP3_64, OPUS, VORBIS)) {
            await().atMost(Duration.ofSeconds(20)).until(() -> liquidsoaps(root, m.path()).size() == 1 && front.hasSource(m.path()));
        }
        for (Mount m : List.of(MP3_64, OPUS, VORBIS)) {
            List<TestNode> owners = nodes.stream().filter(n -> n.transcoders.running().contains(m.path())).toList();
            assertEquals(1, owners.size(), m.path() + " runs on " + owners.stream().map(n -> n.name).toList());
            TestNode owner = owners.get(0);
            assertEquals(Optional.of(owner.name), owner(keys, m.path()));
            assertTrue(liquidsoaps(root, m.path()).get(0).info().commandLine().orElse("").contains(owner.dir.toString()));
            for (TestNode n : nodes) {
                assertEquals(n == owner ? 1.0 : 0.0, n.runningGauge(m.path()), m.path() + " gauge on " + n.name);
            }
        }

        Map<String, String> mp3 = awaitTone(front, MP3_64.path());
        assertEquals("mp3", mp3.get("codec_name"), mp3.toString());
        assertEquals("64000", mp3.get("bit_rate"), mp3.toString());
        assertEquals("44100", mp3.get("sample_rate"), mp3.toString());
        assertEquals("2", mp3.get("channels"), mp3.toString());

        Map<String, String> opus = awaitTone(front, OPUS.path());
        assertEquals("opus", opus.get("codec_name"), opus.toString());
        assertEquals("48000", opus.get("sample_rate"), opus.toString());
        assertEquals("2", opus.get("channels"), opus.toString());

        Map<String, String> vorbis = awaitTone(front, VORBIS.path());
        assertEquals("vorbis", vorbis.get("codec_name"), vorbis.toString());
        assertEquals("96000", vorbis.get("bit_rate"), vorbis.toString());
        assertEquals("44100", vorbis.get("sample_rate"), vorbis.toString());
        assertEquals("2", vorbis.get("channels"), vorbis.toString());

        // New parameters: the transcoder is restarted with them.
        long before = liquidsoaps(root, VORBIS.path()).get(0).pid();
        Mount mono = new Mount(VORBIS.path(), VORBIS.sourceUser(), VORBIS.sourcePassword(), null, null, 0, 0,
                new Transcoding("/live.mp3", "vorbis", 64, 22050, 1, 0.2));
        put(keys.mount(mono.path()), mono);
        await().atMost(Duration.ofSeconds(10)).until(() -> {
            List<ProcessHandle> now = liquidsoaps(root, VORBIS.path());
            return now.size() == 1 && now.get(0).pid() != before;
        });
        await().atMost(Duration.ofSeconds(15)).until(() -> {
            Map<String, String> p = Audio.probe(Audio.capture(root, front.url(VORBIS.path()), 16_000, Duration.ofSeconds(3)));
            return "22050".equals(p.get("sample_rate")) && "1".equals(p.get("channels"));
        });

        // Deleted: its liquidsoap stops everywhere, its election key goes; the others go on.
        delete(keys.mount(MP3_64.path()));
        await().atMost(Duration.ofSeconds(10)).until(() -> liquidsoaps(root, MP3_64.path()).isEmpty()
                && !front.hasSource(MP3_64.path()) && owner(keys, MP3_64.path()).isEmpty());
        assertTrue(nodes.stream().noneMatch(n -> n.transcoders.running().contains(MP3_64.path())));
        assertEquals(1, liquidsoaps(root, OPUS.path()).size());
        assertEquals(1, liquidsoaps(root, VORBIS.path()).size());

        // Shut down cleanly: every liquidsoap stopped, every election released.
        for (TestNode n : nodes) {
            n.close();
        }
        cleanup.clear();
        assertTrue(liquidsoaps(root, null).isEmpty());
        assertEquals(Optional.empty(), owner(keys, OPUS.path()));
        assertEquals(Optional.empty(), owner(keys, VORBIS.path()));
        sampler.assertNeverTwo();
    }

    @Test
    void whenTheNodeRunningATranscoderIsKilledAnotherNodeRunsItWithinTheTtlPlusFiveSeconds() throws Exception {
        Keys keys = new Keys("/t2/");
        putMaster(keys, "master-a");
        put(keys.mount(LIVE.path()), LIVE);
        put(keys.mount(MP3_64.path()), MP3_64);

        Process victim = childNode(keys, "victim");
        await().atMost(Duration.ofSeconds(30)).until(() -> liquidsoaps(root, MP3_64.path()).size() == 1
                && front.hasSource(MP3_64.path()));
        ProcessHandle victimsLiquidsoap = liquidsoaps(root, MP3_64.path()).get(0);
        assertEquals(Optional.of(victim.pid()), victimsLiquidsoap.parent().map(ProcessHandle::pid));
        assertEquals(Optional.of("victim"), owner(keys, MP3_64.path()));

        List<TestNode> others = List.of(node(keys, "node1"), node(keys, "node2"));
        awaitTone(front, MP3_64.path());
        Sampler sampler = sampler(List.of(MP3_64));
        await().during(Duration.ofMillis(500)).atMost(Duration.ofSeconds(2))
                .until(() -> liquidsoaps(root, MP3_64.path()).equals(List.of(victimsLiquidsoap)));

        long killed = System.nanoTime();
        victim.destroyForcibly(); // SIGKILL: no revoke, no resign; its liquidsoap must not linger as an orphan
        await().atMost(Duration.ofSeconds(3)).pollInterval(Duration.ofMillis(20)).until(() -> !running(victimsLiquidsoap));
        long orphanGone = System.nanoTime();
        await().atMost(Duration.ofSeconds(TTL + 5)).pollInterval(Duration.ofMillis(50))
                .until(() -> others.stream().anyMatch(n -> n.transcoders.running().contains(MP3_64.path())));
        long takenOver = System.nanoTime();
        await().atMost(Duration.ofSeconds(TTL + 5)).pollInterval(Duration.ofMillis(50))
                .until(() -> front.hasSource(MP3_64.path())
                        && Files.size(Audio.capture(root, front.url(MP3_64.path()), 4_000, Duration.ofSeconds(2))) >= 4_000);
        long playing = System.nanoTime();
        await().atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(100))
                .until(() -> Audio.maxVolume(Audio.capture(root, front.url(MP3_64.path()), 8_000, Duration.ofSeconds(2))) > -30);
        long tone = System.nanoTime();

        long toPlaying = TimeUnit.NANOSECONDS.toMillis(playing - killed);
        System.out.printf("transcoder failover after kill -9 (TTL %d s): orphan liquidsoap gone after %d ms, another node "
                        + "runs it after %d ms, the mount plays again after %d ms, the tone is back after %d ms%n", TTL,
                TimeUnit.NANOSECONDS.toMillis(orphanGone - killed), TimeUnit.NANOSECONDS.toMillis(takenOver - killed),
                toPlaying, TimeUnit.NANOSECONDS.toMillis(tone - killed));
        assertTrue(toPlaying <= (TTL + 5) * 1000L, "played again after " + toPlaying + " ms");
        assertEquals(1, others.stream().filter(n -> n.transcoders.running().contains(MP3_64.path())).count());
        sampler.assertNeverTwo();
    }

    @Test
    void aTranscoderRunsWithNoMasterInTheViewAndPlaysSilenceWhileItsSourceIsAbsent() throws Exception {
        Keys keys = new Keys("/t3/");
        put(keys.mount(LIVE.path()), LIVE);
        put(keys.mount(MP3_64.path()), MP3_64);
        put(keys.mount(QUIET_64.path()), QUIET_64);
        TestNode node = node(keys, "node1");

        for (Mount m : List.of(MP3_64, QUIET_64)) {
            await().atMost(Duration.ofSeconds(20)).until(() -> liquidsoaps(root, m.path()).size() == 1 && front.hasSource(m.path()));
        }
        assertEquals(Optional.empty(), node.view.current().master(), "there is no master");
        assertEquals(List.of(MP3_64.path(), QUIET_64.path()), node.transcoders.running());
        assertEquals(Optional.of("node1"), owner(keys, MP3_64.path()));
        String script = Files.readString(node.dir.resolve(Transcoders.scriptFileName(MP3_64.path())));
        assertTrue(script.contains("\"" + local.url(LIVE.path()) + "\""), "pulled from the node's own Icecast: " + script);
        assertTrue(script.contains("host=\"" + front.host() + "\", port=" + front.port() + ","), "pushed to its source front: " + script);
        awaitTone(front, MP3_64.path());

        // /quiet.mp3 has no source on the node's Icecast: the transcoded mount stays up, with silence.
        Path silence = Audio.capture(root, front.url(QUIET_64.path()), 16_000, Duration.ofSeconds(3));
        assertEquals("mp3", Audio.probe(silence).get("codec_name"));
        assertTrue(Audio.maxVolume(silence) < -60, "silence expected, got " + Audio.maxVolume(silence) + " dB");
        assertEquals(0.0, node.restarts(MP3_64.path()));
    }

    @Test
    void aMasterChangeDoesNotRestartLiquidsoapNorDoesLosingTheMaster() throws Exception {
        Keys keys = new Keys("/t5/");
        putMaster(keys, "master-a");
        put(keys.mount(LIVE.path()), LIVE);
        put(keys.mount(MP3_64.path()), MP3_64);
        TestNode node = node(keys, "node1");
        await().atMost(Duration.ofSeconds(20)).until(() -> liquidsoaps(root, MP3_64.path()).size() == 1 && front.hasSource(MP3_64.path()));
        awaitTone(front, MP3_64.path());
        ProcessHandle first = liquidsoaps(root, MP3_64.path()).get(0);
        Path file = node.dir.resolve(Transcoders.scriptFileName(MP3_64.path()));
        String script = Files.readString(file);

        // Another master (on another address): once the node's view has it, the same liquidsoap goes on.
        putMaster(keys, "master-b");
        await().atMost(Duration.ofSeconds(10)).until(() -> node.view.current().master().map(MasterInfo::name)
                .equals(Optional.of("master-b")));
        await().during(Duration.ofSeconds(2)).atMost(Duration.ofSeconds(4)).pollInterval(Duration.ofMillis(50))
                .until(() -> liquidsoaps(root, MP3_64.path()).equals(List.of(first)));
        assertEquals(script, Files.readString(file), "the script does not depend on the master");

        // No master at all: still the same liquidsoap.
        delete(keys.master());
        await().atMost(Duration.ofSeconds(10)).until(() -> node.view.current().master().isEmpty());
        await().during(Duration.ofSeconds(2)).atMost(Duration.ofSeconds(4)).pollInterval(Duration.ofMillis(50))
                .until(() -> liquidsoaps(root, MP3_64.path()).equals(List.of(first)));
        assertEquals(List.of(MP3_64.path()), node.transcoders.running());
        assertTrue(front.hasSource(MP3_64.path()));
        assertEquals(0.0, node.restarts(MP3_64.path()));
        assertEquals(Optional.of("node1"), owner(keys, MP3_64.path()));
        awaitTone(front, MP3_64.path());
        assertEquals(List.of(first), liquidsoaps(root, MP3_64.path()));
    }

    @Test
    void aNodeWhoseLiquidsoapKeepsFailingResignsAndAnotherNodeRunsTheTranscoder() throws Exception {
        Keys keys = new Keys("/t4/");
        putMaster(keys, "master-a");
        put(keys.mount(LIVE.path()), LIVE);
        put(keys.mount(MP3_64.path()), MP3_64);
        Path broken = root.resolve("broken-liquidsoap");
        Files.writeString(broken, "#!/bin/sh\necho 'Error 0: broken on purpose'\nexit 1\n");
        Files.setPosixFilePermissions(broken, PosixFilePermissions.fromString("rwx------"));
        RestartPolicy quick = new RestartPolicy(3, Duration.ofSeconds(60), Duration.ofSeconds(1), Duration.ofSeconds(1),
                Duration.ofSeconds(1));

        TestNode bad = TestNode.start(etcd.endpoints(), keys.prefix(), "bad", root, localIcecast(), sourceFront(), broken,
                quick, TTL);
        cleanup.add(bad);
        await().atMost(Duration.ofSeconds(10)).until(() -> owner(keys, MP3_64.path()).equals(Optional.of("bad")));
        TestNode good = node(keys, "good");

        await().atMost(Duration.ofSeconds(15)).until(() -> good.transcoders.running().contains(MP3_64.path())
                && front.hasSource(MP3_64.path()));
        assertEquals(Optional.of("good"), owner(keys, MP3_64.path()));
        assertEquals(2.0, bad.restarts(MP3_64.path()), "three failures: two restarts, then it gave up");
        assertEquals(List.of(), bad.transcoders.running());
    }

    /**
     * A node whose link to the master's hub is down (a path cut between it and the master, while both reach etcd:
     * nothing is elected) gives its transcoders up after {@link Transcoders#noLinkGrace}, not before, and another
     * node runs them; never two at once.
     */
    @Test
    void aNodeWithNoLinkToTheMasterGivesItsTranscoderUpAfterTheGraceAndAnotherNodeRunsIt() throws Exception {
        Keys keys = new Keys("/t5/");
        putMaster(keys, "master-a");
        put(keys.mount(LIVE.path()), LIVE);
        put(keys.mount(MP3_64.path()), MP3_64);
        TestNode cut = node(keys, "cut");
        await().atMost(Duration.ofSeconds(15)).until(() -> cut.transcoders.running().contains(MP3_64.path())
                && front.hasSource(MP3_64.path()));
        TestNode other = node(keys, "other");
        Sampler sampler = sampler(List.of(MP3_64));

        long down = System.nanoTime();
        cut.masterLinkDownSince.set(down);
        long grace = Transcoders.noLinkGrace(Duration.ofSeconds(TTL)).toMillis();
        await().atMost(Duration.ofMillis(grace + 3_000)).pollInterval(Duration.ofMillis(50))
                .until(() -> !cut.transcoders.running().contains(MP3_64.path()));
        long gaveUp = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - down);
        await().atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(50))
                .until(() -> other.transcoders.running().contains(MP3_64.path()) && front.hasSource(MP3_64.path()));
        long movedAfter = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - down);
        System.out.printf("transcoder of a node with no link to the master: given up %d ms after the link went down "
                + "(grace %d ms); the other node's liquidsoap on the source front %d ms after%n", gaveUp, grace, movedAfter);
        assertTrue(gaveUp >= grace, "given up " + gaveUp + " ms after the link went down, before the grace of " + grace + " ms");
        assertTrue(gaveUp <= grace + 2_000, "given up " + gaveUp + " ms after the link went down");
        assertEquals(Optional.of("other"), owner(keys, MP3_64.path()));
        assertEquals(List.of(), cut.transcoders.running());
        sampler.assertNeverTwo();
    }

    // --- helpers

    private TestNode node(Keys keys, String name) {
        TestNode n = TestNode.start(etcd.endpoints(), keys.prefix(), name, root, localIcecast(), sourceFront(), TTL);
        cleanup.add(n);
        return n;
    }

    private Process childNode(Keys keys, String name) throws IOException {
        String cp = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        Process p = new ProcessBuilder(java, "-cp", cp, "-Dlogback.configurationFile=logback-test.xml",
                TranscoderNode.class.getName(), etcd.endpointsCsv(), keys.prefix(), name, root.toString(), Integer.toString(TTL),
                local.host(), Integer.toString(local.port()), front.host(), Integer.toString(front.port()))
                .redirectErrorStream(true)
                .redirectOutput(root.resolve(name + ".log").toFile())
                .start();
        cleanup.add(() -> {
            p.destroyForcibly();
            p.waitFor();
        });
        return p;
    }

    private static Endpoint localIcecast() {
        return new Endpoint(local.host(), local.port());
    }

    private static Endpoint sourceFront() {
        return new Endpoint(front.host(), front.port());
    }

    private static List<Icecast.Source> sources(List<Mount> mounts) {
        return mounts.stream().map(m -> new Icecast.Source(m.path(), m.sourceUser(), m.sourcePassword())).toList();
    }

    /** Live liquidsoap processes started for scripts under {@code root}, for one mount or (null) any. */
    static List<ProcessHandle> liquidsoaps(Path root, String mount) {
        String suffix = mount == null ? ".liq" : "/" + Transcoders.scriptFileName(mount);
        return ProcessHandle.allProcesses()
                .filter(p -> p.info().command().map(c -> c.endsWith("liquidsoap")).orElse(false))
                .filter(p -> p.info().arguments().map(a -> a.length > 0 && a[a.length - 1].startsWith(root.toString())
                        && a[a.length - 1].endsWith(suffix)).orElse(false))
                .filter(TranscodersIT::running)
                .toList();
    }

    /**
     * Whether a process runs: unlike {@link ProcessHandle#isAlive()}, a zombie (exited, not yet reaped by the
     * init that adopted it) does not.
     */
    static boolean running(ProcessHandle p) {
        try {
            String stat = Files.readString(Path.of("/proc/" + p.pid() + "/stat"));
            return !stat.substring(stat.lastIndexOf(')') + 1).trim().startsWith("Z");
        } catch (IOException e) {
            return false;
        }
    }

    /** Waits until a listener of the mount hears the tone (not the silence fallback); returns ffprobe's view. */
    private Map<String, String> awaitTone(Icecast icecast, String mount) {
        Map<String, String> probe = new ConcurrentHashMap<>();
        await().atMost(Duration.ofSeconds(20)).pollInterval(Duration.ofMillis(500)).until(() -> {
            // Past Icecast's burst (64 kB of older audio), so that the newest audio is in it too.
            Path capture = Audio.capture(root, icecast.url(mount), 80_000, Duration.ofSeconds(3));
            if (Audio.maxVolume(capture) < -30) {
                return false;
            }
            probe.putAll(Audio.probe(capture));
            return true;
        });
        return probe;
    }

    /**
     * Names a master. Each has an address of its own, where nothing listens: a transcoder that still pulled from
     * or pushed to the master would get nowhere.
     */
    private static void putMaster(Keys keys, String name) throws Exception {
        String address = name.equals("master-a") ? "127.0.0.51" : "127.0.0.52";
        put(keys.master(), new MasterInfo(name, List.of(address), 8000, 8001, 8080, System.currentTimeMillis()));
    }

    private static void put(ByteSequence key, Object value) throws Exception {
        client.getKVClient().put(key, ByteSequence.from(Json.encode(value))).get(5, TimeUnit.SECONDS);
    }

    private static void delete(ByteSequence key) throws Exception {
        client.getKVClient().delete(key).get(5, TimeUnit.SECONDS);
    }

    private static Optional<String> owner(Keys keys, String mount) throws Exception {
        var kvs = client.getKVClient().get(keys.transcoder(mount)).get(5, TimeUnit.SECONDS).getKvs();
        if (kvs.isEmpty()) {
            return Optional.empty();
        }
        return Optional.of(Json.decodeStrict(kvs.get(0).getValue().getBytes(), TranscoderOwner.class).node());
    }

    private Sampler sampler(List<Mount> mounts) {
        Sampler s = new Sampler(root, mounts);
        cleanup.add(s);
        return s;
    }

    /** Counts each mount's liquidsoap processes every 50 ms, for "never two at once". */
    static final class Sampler implements AutoCloseable {
        private final Map<String, Integer> max = new ConcurrentHashMap<>();
        private final Thread thread;
        private volatile boolean stop;
        private volatile int samples;

        Sampler(Path root, List<Mount> mounts) {
            thread = new Thread(() -> {
                while (!stop) {
                    for (Mount m : mounts) {
                        max.merge(m.path(), liquidsoaps(root, m.path()).size(), Math::max);
                    }
                    samples++;
                    try {
                        Thread.sleep(50);
                    } catch (InterruptedException e) {
                        return;
                    }
                }
            }, "liquidsoap-sampler");
            thread.setDaemon(true);
            thread.start();
        }

        void assertNeverTwo() {
            close();
            assertTrue(samples > 10, "only " + samples + " samples");
            max.forEach((mount, n) -> assertTrue(n <= 1, n + " liquidsoaps ran " + mount + " at once"));
            System.out.printf("process samples: %d, most liquidsoaps at once per mount: %s%n", samples, max);
        }

        @Override
        public void close() {
            stop = true;
            try {
                thread.join(2000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }
}
