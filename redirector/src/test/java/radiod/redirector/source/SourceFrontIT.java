package radiod.redirector.source;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.BooleanSupplier;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.vertx.core.Vertx;
import radiod.cluster.model.MasterInfo;
import radiod.cluster.model.Mount;
import radiod.cluster.view.ClusterSnapshot;
import radiod.redirector.carry.Carrier;
import radiod.redirector.carry.Hubs;
import radiod.testkit.Icecast;
import radiod.testkit.listener.StreamListener;
import radiod.testkit.encoder.Tone;
import radiod.testkit.encoder.Ices2;

/**
 * The audio path with real parts: two in-process nodes on loopback (A on 127.0.0.1, B on 127.0.0.2), each with its
 * own real Icecast 2.4 (which knows no mount: radiod's feed uses its global source password), source front, hubs
 * and carrier, following one shared view. Real encoders (ffmpeg PUT, ffmpeg legacy SOURCE, ices2/libshout with Ogg)
 * are heard from both Icecasts, through master changes and the loss of the master, with what listeners get measured
 * for gaps and decoded.
 */
class SourceFrontIT {
    static final Mount PUT = new Mount("/put.mp3", "source", "pw-put", null, null, 0, 128, null);
    static final Mount LEGACY = new Mount("/legacy.mp3", "source", "pw-legacy", null, null, 0, 128, null);
    static final Mount OGG = new Mount("/ices.ogg", "source", "pw-ogg", null, null, 0, 96, null);
    static final Mount FRESH = new Mount("/fresh.mp3", "source", "pw-fresh", null, null, 0, 128, null);
    /** 128 kbit/s. */
    static final int MP3_BYTES_PER_SECOND = 16_000;

    Path dir;
    final AtomicReference<ClusterSnapshot> view = new AtomicReference<>();
    final Map<String, Mount> mounts = new HashMap<>(Map.of(PUT.path(), PUT, LEGACY.path(), LEGACY, OGG.path(), OGG));
    Node a;
    Node b;
    int oggBytesPerSecond;
    final List<Process> processes = new ArrayList<>();
    final List<AutoCloseable> closeables = new ArrayList<>();

    /** One radiod node's audio-path parts and its own Icecast. */
    final class Node implements AutoCloseable {
        final String name;
        final String host;
        final Icecast ice;
        final Vertx vertx = Vertx.vertx();
        final SimpleMeterRegistry registry = new SimpleMeterRegistry();
        final AtomicBoolean fenced = new AtomicBoolean();
        final Hubs hubs;
        final SourceFront front;
        final Carrier carrier;
        boolean down;

        Node(String name, String host) throws Exception {
            this.name = name;
            this.host = host;
            ice = Icecast.start(host, List.of());
            hubs = new Hubs(vertx, () -> view.get().isMaster(name), name, registry);
            front = new SourceFront(vertx, SourceFrontSettings.of(host, 0, host, 8080), view::get, fenced::get, hubs,
                    registry);
            front.start().toCompletionStage().toCompletableFuture().get(5, TimeUnit.SECONDS);
            carrier = new Carrier(vertx, host, ice.port(), ice.sourcePassword(), registry);
        }

        MasterInfo info(long electedAt) {
            return new MasterInfo(name, List.of(host), ice.port(), front.port(), 8080, electedAt);
        }

        void viewChanged(ClusterSnapshot s) {
            if (!down) {
                front.viewChanged(s);
                carrier.viewChanged(s);
            }
        }

        String sourceUrl(Mount m) {
            return "icecast://" + m.sourceUser() + ":" + m.sourcePassword() + "@" + host + ":" + front.port() + m.path();
        }

        double counter(String name, String reason) {
            return registry.get(name).tag("reason", reason).counter().count();
        }

        /** The node dies: its radiod parts stop at once and its Icecast is killed (SIGKILL). */
        void kill() {
            down = true;
            front.close();
            carrier.close();
            vertx.close();
            ProcessHandle.of(ice.pid()).ifPresent(ProcessHandle::destroyForcibly);
        }

        @Override
        public void close() {
            if (!down) {
                kill();
            }
            ice.close();
        }
    }

    @BeforeEach
    void start() throws Exception {
        dir = Files.createTempDirectory("radiod-source-it-");
        a = new Node("node-a", "127.0.0.1");
        b = new Node("node-b", "127.0.0.2");
        setView(a);
    }

    @AfterEach
    void stop() throws Exception {
        for (Process p : processes) {
            HeardAudio.stop(p);
        }
        for (AutoCloseable c : closeables) {
            c.close();
        }
        if (a != null) {
            a.close();
        }
        if (b != null) {
            b.close();
        }
        if (dir != null) {
            try (java.util.stream.Stream<Path> walk = Files.walk(dir)) {
                walk.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
    }

    /** The view names {@code master} (null: none); every live node is told at once, as its reconcile would. */
    void setView(Node master) {
        ClusterSnapshot s = new ClusterSnapshot(System.nanoTime(), Map.of(),
                Optional.ofNullable(master == null ? null : master.info(System.currentTimeMillis())), mounts, Map.of(),
                Map.of());
        view.set(s);
        a.viewChanged(s);
        b.viewChanged(s);
    }

    Process ffmpeg(Node via, Mount m, boolean legacy) throws IOException {
        Tone tone = legacy ? Tone.mp3(via.sourceUrl(m)).legacySource() : Tone.mp3(via.sourceUrl(m));
        Process p = tone.start(log("ffmpeg" + m.path().replace('/', '-') + ".log"));
        processes.add(p);
        return p;
    }

    /** ices2 looping a {@code seconds}-long Ogg Vorbis file; sets {@link #oggBytesPerSecond}. */
    Process ices2(Node via, int seconds) throws Exception {
        Path icesDir = Files.createDirectories(dir.resolve("ices"));
        Path ogg = Ices2.oggFile(icesDir, seconds);
        oggBytesPerSecond = (int) (Files.size(ogg) / seconds);
        Process p = Ices2.play(icesDir, ogg, via.host, via.front.port(), OGG.path(), OGG.sourcePassword());
        processes.add(p);
        return p;
    }

    Path log(String name) {
        return dir.resolve(name);
    }

    static String output(Process p, Path log) {
        try {
            return Files.exists(log) ? Files.readString(log) : "";
        } catch (IOException e) {
            return e.toString();
        }
    }

    /** Both (live) Icecasts have the mount's source, while the encoder stays up. */
    void awaitOnIcecasts(String mount, Process encoder, Path log, Node... nodes) {
        await().atMost(Duration.ofSeconds(20)).pollInterval(Duration.ofMillis(100)).until(() -> {
            if (!encoder.isAlive()) {
                throw new AssertionError("the encoder exited: " + output(encoder, log));
            }
            for (Node n : nodes) {
                if (!n.ice.hasSource(mount)) {
                    return false;
                }
            }
            return true;
        });
    }

    StreamListener listen(Node n, String mount) throws IOException {
        StreamListener l = new StreamListener(n.ice.url(mount));
        closeables.add(l);
        return l;
    }

    /** Waits until the listener has at least {@code bytes} (it gets them at the stream's rate, after a burst). */
    static void awaitHeard(StreamListener l, int bytes) {
        await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(100)).until(() -> {
            if (l.ended()) {
                throw new AssertionError("the stream ended after " + l.size() + " bytes");
            }
            return l.size() >= bytes;
        });
    }

    /**
     * What a listener heard is an unbroken chain of whole units (MP3 frames, Ogg pages) from the first one on, and
     * those units decode: ffprobe finds the codec, and {@code ffmpeg -v error} prints nothing. The bytes before the
     * first unit (Icecast starts an MP3 listener anywhere) and after the last whole one (the capture was cut mid-unit,
     * which ffmpeg would report) are left out.
     */
    void assertDecodable(byte[] heard, String codec) throws Exception {
        HeardAudio.Chain chain = HeardAudio.chain(heard, codec);
        assertTrue(chain.start() >= 0, "no " + codec + " units in " + heard.length + " bytes");
        assertEquals(List.of(), chain.breaks(), "places where what follows a unit is not another one");
        if (!codec.equals("mp3")) {
            assertEquals(0, chain.start(), "Icecast starts an Ogg listener with the stream's header pages");
        }
        assertTrue(chain.end() >= heard.length - 16_384, "whole units up to " + chain.end() + " of " + heard.length);
        byte[] whole = java.util.Arrays.copyOfRange(heard, chain.start(), chain.end());
        String probe = HeardAudio.probe(whole, dir);
        assertTrue(probe.startsWith(codec + ","), "ffprobe: " + probe);
        assertTrue(Integer.parseInt(probe.substring(codec.length() + 1)) >= 10, "decoded frames: " + probe);
        assertEquals("", HeardAudio.decodeErrors(whole, dir), "ffmpeg -v error decoding what a listener heard");
    }

    static Map.Entry<String, BooleanSupplier> hasSource(Node n, String mount) {
        return Map.entry(n.name + mount, () -> n.ice.hasSource(mount));
    }

    static String basic(String user, String password) {
        return "Basic " + Base64.getEncoder().encodeToString((user + ":" + password).getBytes(StandardCharsets.UTF_8));
    }

    // ------------------------------------------------------------------------------------------------------------

    @Test
    void encodersThroughBAreHeardDecodableFromBothIcecasts() throws Exception {
        Process put = ffmpeg(b, PUT, false);
        Process legacy = ffmpeg(b, LEGACY, true);
        Process ices = ices2(b, 60);
        awaitOnIcecasts(PUT.path(), put, log("ffmpeg-put.mp3.log"), a, b);
        awaitOnIcecasts(LEGACY.path(), legacy, log("ffmpeg-legacy.mp3.log"), a, b);
        awaitOnIcecasts(OGG.path(), ices, dir.resolve("ices").resolve("ices.out"), a, b);
        for (Node n : List.of(a, b)) {
            for (Mount m : List.of(PUT, LEGACY)) {
                StreamListener l = listen(n, m.path());
                awaitHeard(l, 40_000);
                assertDecodable(l.bytes(), "mp3");
            }
            StreamListener l = listen(n, OGG.path());
            awaitHeard(l, 40_000);
            assertDecodable(l.bytes(), "vorbis");
        }
        assertTrue(b.counter("radiod.source.auth.failures", "no_credentials") >= 1,
                "libshout's first, credential-less SOURCE was challenged with a 401");
        assertEquals(0, b.counter("radiod.source.auth.failures", "wrong_credentials"));
        assertEquals(3, b.front.activeSources());
        assertEquals(0, a.front.activeSources());
        assertTrue(put.isAlive() && legacy.isAlive() && ices.isAlive());

        // A second encoder for a mount that is streaming, through the other node: the master's hub refuses it.
        try (Socket s = new Socket(a.host, a.front.port())) {
            s.setSoTimeout(5000);
            s.getOutputStream().write(("SOURCE /put.mp3 HTTP/1.0\r\nAuthorization: " + basic("source", "pw-put")
                    + "\r\nContent-Type: audio/mpeg\r\n\r\n").getBytes(StandardCharsets.ISO_8859_1));
            String answer = new String(s.getInputStream().readAllBytes(), StandardCharsets.ISO_8859_1);
            assertTrue(answer.startsWith("HTTP/1.0 403 Forbidden\r\n"), answer);
        }
        assertTrue(put.isAlive());

        // The encoder leaves: the mount goes off both Icecasts (after the carrier's grace for a new session).
        HeardAudio.stop(put);
        await().atMost(Duration.ofSeconds(5)).until(() -> !a.ice.hasSource(PUT.path()) && !b.ice.hasSource(PUT.path()));
        assertEquals(2, b.front.activeSources());
        assertTrue(a.ice.hasSource(LEGACY.path()) && b.ice.hasSource(LEGACY.path()));
    }

    @Test
    void aSourceConnectingRightAfterItsMountAppearsIsAccepted() throws Exception {
        mounts.put(FRESH.path(), FRESH);
        setView(a);
        // At once, on the raw protocol: the answer is the master's, not a 401 or 404.
        try (Socket s = new Socket(b.host, b.front.port())) {
            s.setSoTimeout(5000);
            s.getOutputStream().write(("SOURCE /fresh.mp3 HTTP/1.0\r\nAuthorization: " + basic("source", "pw-fresh")
                    + "\r\nContent-Type: audio/mpeg\r\n\r\n").getBytes(StandardCharsets.ISO_8859_1));
            String ok = "HTTP/1.0 200 OK\r\n\r\n";
            assertEquals(ok, new String(s.getInputStream().readNBytes(ok.length()), StandardCharsets.ISO_8859_1));
        }
        await().atMost(Duration.ofSeconds(5)).until(() -> b.front.activeSources() == 0);
        mounts.remove(FRESH.path());
        setView(a);
        mounts.put(FRESH.path(), FRESH);
        setView(a);
        Process encoder = ffmpeg(b, FRESH, false);
        awaitOnIcecasts(FRESH.path(), encoder, log("ffmpeg-fresh.mp3.log"), a, b);
        assertEquals(0, b.counter("radiod.source.auth.failures", "wrong_credentials"));
        assertEquals(0, b.counter("radiod.source.auth.failures", "unknown_mount"));
        assertEquals(0, b.counter("radiod.source.auth.failures", "no_credentials"));
        assertEquals(0, b.counter("radiod.source.rejected", "no_master"));
    }

    @Test
    void masterChangeWithTheOldMasterUpIsNotHeardByEncodersNorListeners() throws Exception {
        Process viaA = ffmpeg(a, PUT, false);
        Process viaB = ffmpeg(b, LEGACY, true);
        awaitOnIcecasts(PUT.path(), viaA, log("ffmpeg-put.mp3.log"), a, b);
        awaitOnIcecasts(LEGACY.path(), viaB, log("ffmpeg-legacy.mp3.log"), a, b);
        List<StreamListener> listeners = new ArrayList<>();
        for (Node n : List.of(a, b)) {
            for (Mount m : List.of(PUT, LEGACY)) {
                listeners.add(listen(n, m.path()));
            }
        }
        List<Map.Entry<String, BooleanSupplier>> checks = new ArrayList<>();
        for (Node n : List.of(a, b)) {
            checks.add(hasSource(n, PUT.path()));
            checks.add(hasSource(n, LEGACY.path()));
        }
        try (HeardAudio.Sampler sampler = new HeardAudio.Sampler(100, checks)) {
            // Two seconds of audio heard by every listener after its burst, then the change, then five more.
            int[] before = new int[listeners.size()];
            for (int i = 0; i < listeners.size(); i++) {
                awaitHeard(listeners.get(i), 64 * 1024 + 2 * MP3_BYTES_PER_SECOND);
                before[i] = listeners.get(i).size();
            }
            setView(b);
            for (int i = 0; i < listeners.size(); i++) {
                awaitHeard(listeners.get(i), before[i] + 5 * MP3_BYTES_PER_SECOND);
            }
            sampler.close();
            assertEquals(List.of(), sampler.misses(), "a mount missing from an Icecast's /admin/stats");
            assertTrue(sampler.samples() > 30, "samples: " + sampler.samples());
        }
        assertTrue(viaA.isAlive(), "ffmpeg via A streams on: " + output(viaA, log("ffmpeg-put.mp3.log")));
        assertTrue(viaB.isAlive(), "ffmpeg via B streams on: " + output(viaB, log("ffmpeg-legacy.mp3.log")));
        assertEquals(1, a.front.activeSources(), "one encoder connection on A, held across the change");
        assertEquals(1, b.front.activeSources(), "one encoder connection on B, held across the change");
        List<String> gaps = new ArrayList<>();
        for (StreamListener l : listeners) {
            l.close();
            gaps.add(String.valueOf(l.longestGapMillis()));
            assertFalse(l.ended());
            assertTrue(l.longestGapMillis() <= 1000, "a listener's longest gap: " + l.longestGapMillis() + " ms");
            assertDecodable(l.bytes(), "mp3");
        }
        System.out.println("master change A->B, A up: listeners' longest gaps (ms) " + gaps);
    }

    @Test
    void theMasterKilledThenTheViewMovedKeepsTheEncoderAndItsMountOnTheOtherNode() throws Exception {
        Process encoder = ffmpeg(b, PUT, false);
        awaitOnIcecasts(PUT.path(), encoder, log("ffmpeg-put.mp3.log"), a, b);
        StreamListener l = listen(b, PUT.path());
        try (HeardAudio.Sampler sampler = new HeardAudio.Sampler(100, List.of(hasSource(b, PUT.path())))) {
            awaitHeard(l, 64 * 1024 + 2 * MP3_BYTES_PER_SECOND);
            int before = l.size();
            long killed = System.nanoTime();
            a.kill();
            setView(b);
            long moved = System.nanoTime();
            awaitHeard(l, before + 5 * MP3_BYTES_PER_SECOND);
            sampler.close();
            assertEquals(List.of(), sampler.misses(), "the mount missing from B's /admin/stats");
            l.close();
            System.out.println("master A killed (its parts and Icecast stopped in " + (moved - killed) / 1_000_000
                    + " ms), view moved to B: B's listener's longest gap " + l.longestGapMillis() + " ms");
            assertTrue(l.longestGapMillis() < 1000 + (moved - killed) / 1_000_000,
                    "longest gap " + l.longestGapMillis() + " ms");
        }
        assertTrue(encoder.isAlive(), "ffmpeg via B streams on: " + output(encoder, log("ffmpeg-put.mp3.log")));
        assertEquals(1, b.front.activeSources());
        assertFalse(l.ended());
        assertDecodable(l.bytes(), "mp3");
    }

    @Test
    void anOggListenerJoiningAfterAMasterChangeDecodesVorbis() throws Exception {
        Process ices = ices2(a, 60);
        Path icesOut = dir.resolve("ices").resolve("ices.out");
        awaitOnIcecasts(OGG.path(), ices, icesOut, a, b);
        StreamListener early = listen(b, OGG.path());
        awaitHeard(early, 2 * oggBytesPerSecond);
        List<StreamListener> listeners = new ArrayList<>(List.of(early));
        try (HeardAudio.Sampler sampler = new HeardAudio.Sampler(100, List.of(hasSource(a, OGG.path()), hasSource(b, OGG.path())))) {
            int before = early.size();
            setView(b);
            StreamListener joinedB = listen(b, OGG.path());
            StreamListener joinedA = listen(a, OGG.path());
            listeners.add(joinedB);
            listeners.add(joinedA);
            awaitHeard(early, before + 5 * oggBytesPerSecond);
            awaitHeard(joinedB, joinedB.size() + 2 * oggBytesPerSecond);
            awaitHeard(joinedA, joinedA.size() + 2 * oggBytesPerSecond);
            sampler.close();
            assertEquals(List.of(), sampler.misses(), "the mount missing from an Icecast's /admin/stats");
        }
        List<String> gaps = new ArrayList<>();
        for (StreamListener l : listeners) {
            l.close();
            gaps.add(String.valueOf(l.longestGapMillis()));
            assertFalse(l.ended());
            assertTrue(l.longestGapMillis() <= 1000, "a listener's longest gap: " + l.longestGapMillis() + " ms");
            assertDecodable(l.bytes(), "vorbis");
        }
        System.out.println("Ogg, master change A->B: longest gaps (ms) of B's listener from before, and of B's and "
                + "A's listeners joining after: " + gaps);
        assertTrue(ices.isAlive(), output(ices, icesOut));
        assertEquals(1, a.front.activeSources());
    }

    /**
     * A plain ffmpeg never reconnects: one that connects while the cluster has no master (electing one after the
     * last went, or every node just started) is held until a master is elected, then heard on every Icecast.
     */
    @Test
    void aPlainFfmpegConnectingWhileNoMasterIsElectedIsHeardOnceOneIs() throws Exception {
        setView(null);
        Process encoder = ffmpeg(b, PUT, false);
        Path log = log("ffmpeg-put.mp3.log");
        await().atMost(Duration.ofSeconds(10)).until(() -> !processes.isEmpty() && heldUnanswered(b));
        long electedAfterMs = 3000; // a 5 s lease's election takes up to the TTL after the master went
        await().during(Duration.ofMillis(electedAfterMs)).atMost(Duration.ofMillis(electedAfterMs + 2000))
                .until(encoder::isAlive);
        assertFalse(a.ice.hasSource(PUT.path()));
        long elected = System.nanoTime();
        setView(a);
        awaitOnIcecasts(PUT.path(), encoder, log, a, b);
        System.out.println("ffmpeg held " + electedAfterMs + " ms with no master: on both Icecasts "
                + (System.nanoTime() - elected) / 1_000_000 + " ms after the election");
        assertEquals(0, b.counter("radiod.source.rejected", "no_master"));
        assertEquals(1, b.front.activeSources());
        StreamListener l = listen(a, PUT.path());
        awaitHeard(l, 64 * 1024 + MP3_BYTES_PER_SECOND);
        l.close();
        assertDecodable(l.bytes(), "mp3");
        assertTrue(encoder.isAlive(), output(encoder, log));
    }

    /** The node has a source connection it has not answered (nor refused, nor handed on) yet. */
    static boolean heldUnanswered(Node n) {
        return n.front.waitingSources() == 1;
    }

    @Test
    void aFencedNodeClosesItsEncoderAndRefusesANewOneWith503() throws Exception {
        Process encoder = ffmpeg(b, PUT, false);
        awaitOnIcecasts(PUT.path(), encoder, log("ffmpeg-put.mp3.log"), a, b);
        long started = System.nanoTime();
        b.fenced.set(true);
        assertTrue(encoder.waitFor(5, TimeUnit.SECONDS), "ffmpeg's connection was closed, so it stopped");
        long tookMs = (System.nanoTime() - started) / 1_000_000;
        System.out.println("B fenced: its encoder (ffmpeg) exited " + tookMs + " ms later");
        assertTrue(tookMs < 3500, "the encoder went " + tookMs + " ms after B was fenced (grace 2 s)");
        assertEquals(0, b.front.activeSources());
        try (Socket s = new Socket(b.host, b.front.port())) {
            s.setSoTimeout(5000);
            s.getOutputStream().write(("SOURCE /put.mp3 HTTP/1.0\r\nAuthorization: " + basic("source", "pw-put")
                    + "\r\nContent-Type: audio/mpeg\r\n\r\n").getBytes(StandardCharsets.ISO_8859_1));
            String answer = new String(s.getInputStream().readAllBytes(), StandardCharsets.ISO_8859_1);
            assertTrue(answer.startsWith("HTTP/1.0 503 "), answer);
            assertTrue(answer.contains("\r\nRetry-After: "), answer);
        }
        Process again = ffmpeg(b, PUT, false);
        assertTrue(again.waitFor(10, TimeUnit.SECONDS), "a new encoder through B is refused");
        assertTrue(again.exitValue() != 0);
        assertEquals(0, b.front.activeSources());
        assertEquals(2, b.counter("radiod.source.rejected", "fenced"));
    }
}
